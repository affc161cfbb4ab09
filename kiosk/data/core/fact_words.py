"""What each kind of fact says in the librarian's day log: a sentence and a short label.

Each function here takes a fact's kind, its data, its copy's title and its patron's
name, and returns the sentence the librarian reads; the registry of fact kinds
(:mod:`kiosk.data.core.kinds`) names one for every kind shown in the day log, with the
label (``lib.log.kind.*``) it is filed under. Every sentence is a message of the
locale catalogues, in the librarian's language.
"""

from __future__ import annotations

from collections.abc import Callable
from typing import Any

from kiosk.data.core.models import COPY_STATUSES
from kiosk.data.core.text import printable
from kiosk.locale import t

STOCK_ACTIONS = ("repair", "repaired", "lost", "found", "withdrawn")
"""The librarian's actions on a copy (``copy_status`` facts' ``action``)."""
WITHDRAW_REASONS = ("worn_out", "outdated", "lost")
"""Why a copy is written off (剔旧)."""
SETTLEMENTS = ("replaced", "paid", "forgiven")
"""What was agreed with the reader who lost a book."""

Words = Callable[[str, dict[str, Any], str, str], str]
"""A kind's sentence: ``words(kind, data, title, patron_name)``."""

SYNC_CASE_KINDS = frozenset({
    "lent_twice", "lent_unavailable", "inactive_patron", "revoked_card", "stale_return",
    "returned_twice", "returned_other_loan", "lost_copy_returned", "renew_ended",
    "refused_fact", "lent_held", "lent_written_off",
})
"""The sync's kinds of case (docs/sync.md) that have words of their own."""


def sync_case_text(kind: str) -> str:
    """A sync conflict's kind in words (see docs/sync.md for the rules)."""
    if kind in SYNC_CASE_KINDS:
        return t(f"lib.case.{kind}")
    return t("lib.case.other", kind=kind)


def _book(data: dict[str, Any], title: str) -> str:
    return title or str(data.get("code", ""))


def by_hand(data: dict[str, Any]) -> str:
    """The words "(by hand, librarian L0001)" when a librarian did it at the desk."""
    by = data.get("by")
    return " " + t("lib.log.what.by_librarian", by=printable(str(by), 20)) if by else ""


def _params(data: dict[str, Any], title: str, patron_name: str) -> dict[str, Any]:
    given = data.get("params")
    params = dict(given) if isinstance(given, dict) else {}
    params.setdefault("title", title or data.get("code", ""))
    params.setdefault("name", patron_name)
    # a message's other fields, blank when the refusal did not record them
    for key in ("limit", "count", "minutes", "code", "date", "reason", "class", "shelf"):
        params.setdefault(key, "")
    return params


def refusal(kind: str, data: dict[str, Any], title: str, patron_name: str) -> str:
    """"Refused: <the reason the visitor was told>"."""
    reason = str(data.get("reason", ""))
    return t("lib.log.refused", reason=t(reason, **_params(data, title, patron_name)))


def with_due(kind: str, data: dict[str, Any], title: str, patron_name: str) -> str:
    """A loan or renewal: the book and its due date (and who renewed it by hand)."""
    text = t(f"lib.log.what.{kind}", title=_book(data, title), due=data.get("due_on", ""))
    if data.get("teacher"):
        # a child who forgot the card, in a class visit: the teacher lent it for them
        text += " " + t("visit.log.for_child", teacher=printable(str(data["teacher"]), 20))
    return text + by_hand(data)


def checkin(kind: str, data: dict[str, Any], title: str, patron_name: str) -> str:
    """A return: the book, damaged or not, by a helper or by hand."""
    text = t("lib.log.what.checkin", title=_book(data, title))
    if data.get("damaged"):
        text += " " + t("lib.log.what.damaged")
    if data.get("shift") is not None:
        text += " " + t("lib.log.what.by_helper")
    return text + by_hand(data)


def card(kind: str, data: dict[str, Any], title: str, patron_name: str) -> str:
    """A card issued or revoked: its serial."""
    return t(f"lib.log.what.{kind}", serial=data.get("serial", ""))


def copy_status(kind: str, data: dict[str, Any], title: str, patron_name: str) -> str:
    """The librarian's decision about a copy: to repair, repaired, lost (by whom, and
    what was agreed), found, withdrawn (why)."""
    action = data.get("action")
    if action not in STOCK_ACTIONS:
        status = str(data.get("status", ""))
        words = t(f"lib.copy_status.{status}") if status in COPY_STATUSES else status
        return t("lib.log.what.copy_status", title=_book(data, title), status=words)
    text = t(f"stock.log.{action}", title=_book(data, title))
    reason = data.get("reason")
    if action == "withdrawn" and reason in WITHDRAW_REASONS:
        text += " " + t("stock.log.because", reason=t(f"stock.reason.{reason}"))
    if action == "lost" and patron_name:
        text += " " + t("stock.log.lost_by", name=patron_name)
    if action == "lost" and data.get("settlement") in SETTLEMENTS:
        text += " " + t(f"stock.settlement_said.{data['settlement']}")
    return text + by_hand(data)


def corner_lent(kind: str, data: dict[str, Any], title: str, patron_name: str) -> str:
    """A book lent to a class's reading corner: the book, the class, the due date."""
    return t(
        "corner.log.lent", title=_book(data, title), cls=printable(str(data.get("class", "")), 40),
        due=data.get("due_on", ""),
    ) + by_hand(data)


def corner_returned(kind: str, data: dict[str, Any], title: str, patron_name: str) -> str:
    """A class's reading corner brought back: how many books, how many missing."""
    missing = data.get("missing")
    count = len(missing) if isinstance(missing, list) else 0
    text = t("corner.log.returned", cls=printable(str(data.get("class", "")), 40),
             count=data.get("returned", 0))
    if count:
        text += " " + t("corner.log.missing", count=count)
    return text + by_hand(data)


def plain(kind: str, data: dict[str, Any], title: str, patron_name: str) -> str:
    """The kind's message (``lib.log.what.<kind>``) with the fact's own data, its book
    and its patron's name (blank where the fact has none)."""
    extra = {k: v for k, v in data.items() if isinstance(v, (str, int))}
    extra.setdefault("title", _book(data, title))
    extra.setdefault("name", patron_name)
    for key in ("class", "headcount", "books", "helper", "teacher", "by", "shelf"):
        extra.setdefault(key, "")
    return t(f"lib.log.what.{kind}", **extra)


def visit_attendee(kind: str, data: dict[str, Any], title: str, patron_name: str) -> str:
    """A child counted in the roll call (by the teacher, when the card was forgotten)."""
    text = plain(kind, data, title, patron_name)
    if data.get("no_card"):
        text += " " + t("visit.log.no_card", teacher=printable(str(data.get("by", "")), 20))
    return text


def visit_ended(kind: str, data: dict[str, Any], title: str, patron_name: str) -> str:
    """How a visit ended, or what the teacher added after it had ended (the period's
    end came first: the teacher's card then adds the note and the count)."""
    if data.get("added"):
        text = t("lib.log.what.visit_added")
    elif data.get("ended_by") in ("period", "new_visit"):
        text = t(f"lib.log.what.visit_ended_{data['ended_by']}")
    else:
        text = t("lib.log.what.visit_ended")
    if isinstance(data.get("headcount"), int) and data["headcount"] > 0:
        text += " " + t("lib.log.what.visit_headcount", headcount=data["headcount"])
    if data.get("note"):
        text += " " + t("lib.log.what.visit_note", note=str(data["note"]))
    return text


def shelf_check(kind: str, data: dict[str, Any], title: str, patron_name: str) -> str:
    """A step of a helper's shelf check: the shelf, and the book scanned."""
    return t("lib.log.what.shelf_check", title=_book(data, title), shelf=data.get("shelf", ""))


def hold(kind: str, data: dict[str, Any], title: str, patron_name: str) -> str:
    """A reservation placed, or a class set: the book, how many, for which day, and the
    librarian who placed it for the patron."""
    key = "class_set" if kind == "class_set" else "hold"
    text = t(f"lib.log.what.{key}", title=_book(data, title), count=data.get("count", 1))
    if data.get("needed_on"):
        text += " " + t("lib.log.what.hold_for_day", date=printable(str(data["needed_on"]), 12))
    return text + by_hand(data)


def hold_ended(kind: str, data: dict[str, Any], title: str, patron_name: str) -> str:
    """A reservation cancelled (by whom), or expired (not picked up in time, or its day
    passed)."""
    if kind == "hold_expired":
        key = "hold_expired_ready" if data.get("was") == "ready" else "hold_expired_waiting"
    else:
        key = "hold_cancelled_set" if data.get("class_set") else "hold_cancelled"
    return t(f"lib.log.what.{key}", title=_book(data, title)) + by_hand(data)
