"""The renewal window: from when a loan may be renewed at the kiosk (docs/lending.md).

A school expects a renewal in the last days of a loan, for a loan period from that
day; a renewal minutes after borrowing would otherwise double the loan. Like Koha's
"no renewal before", the window is a number of days before the due date: the library
setting ``renew_window_days``, else :data:`RENEW_WINDOW_DAYS`.
"""

from __future__ import annotations

from datetime import date, timedelta

RENEW_WINDOW_DAYS = 7
"""Days before the due date from which a loan can be renewed, unless the library says."""

SETTING = "renew_window_days"
"""The library setting (desk master data) that overrides :data:`RENEW_WINDOW_DAYS`."""


def renewal_opens(due_on: date, setting: str | None) -> date:
    """The first day a loan due on ``due_on`` can be renewed (a setting that is no
    number counts as the default)."""
    try:
        days = max(0, int(setting)) if setting is not None else RENEW_WINDOW_DAYS
    except ValueError:
        days = RENEW_WINDOW_DAYS
    return due_on - timedelta(days=days)
