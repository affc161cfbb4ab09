"""Library-wide settings kept in the database (owned by the desk, synced to kiosks)."""

from __future__ import annotations

from kiosk.data.core import cards
from kiosk.data.core.models import LoanRule, Setting
from kiosk.data.core.prepared import Prepared

DEFAULTS = {
    "library_name": "School Library",
    "card_prefix": "LK",
    "returns_only": "0",
    "closed_weekdays": "5,6",
}
"""Settings every new library starts with (weekdays: Monday is 0)."""

DEFAULT_RULES = [
    # patron kind, item kind, loan days, max items, max renewals
    ("student", "*", 14, 2, 1),
    ("student", "periodical", 7, 1, 0),
    ("helper", "*", 14, 3, 1),
    ("teacher", "*", 30, 10, 2),
    ("librarian", "*", 30, 20, 2),
]
"""The loan rules of a new library: students 2 books for 14 days, teachers 10 for 30."""


_VALUE = Prepared(lambda key: Setting.select(Setting.value).where(Setting.key == key).limit(1).tuples())


def get(key: str) -> str:
    """A setting's value, or its default."""
    row = _VALUE.first(key)
    return row[0] if row else DEFAULTS.get(key, "")


def put(key: str, value: str) -> None:
    """Store a setting."""
    # ON CONFLICT ... DO UPDATE works on SQLite and PostgreSQL (REPLACE is SQLite only).
    Setting.insert(key=key, value=value).on_conflict(
        conflict_target=[Setting.key], update={Setting.value: value}
    ).execute()


def seed_defaults() -> None:
    """Give a new library its secret, settings and loan rules (keeps existing ones)."""
    if Setting.get_or_none(Setting.key == "card_secret") is None:
        put("card_secret", cards.new_secret())
    for key, value in DEFAULTS.items():
        Setting.insert(key=key, value=value).on_conflict_ignore().execute()
    for patron_kind, item_kind, days, items, renewals in DEFAULT_RULES:
        LoanRule.insert(
            patron_kind=patron_kind,
            item_kind=item_kind,
            loan_days=days,
            max_items=items,
            max_renewals=renewals,
        ).on_conflict_ignore().execute()
