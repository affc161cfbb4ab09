"""A title as readers, labels and the librarian name it: a magazine's issue with its date.

A periodical's issues are titles of their own (``Title.issue_date``); a catalogue
imported from a table names each issue only by the magazine's title ("我们爱科学"), so
every issue would look the same on the kiosk's screen and on its label. The issue's
date goes after the title, in the current language, unless the title already names
its year (the demo's "我们爱科学 2025年第3期").
"""

from __future__ import annotations

from datetime import date

from kiosk.locale import t


def issue_title(title: str, issue_date: date | None, *, limit: int | None = None) -> str:
    """``title`` with its issue (``我们爱科学（2025年3月）``, ``Highlights (Mar 2025)``).

    ``limit`` shortens the title itself (with "…") so that the whole fits in that
    many characters and the issue is never the part cut off (a label's line).
    """
    if issue_date is None or str(issue_date.year) in title:
        return _shorten(title, limit)
    months = t("date.months").split(",")
    words = {"year": issue_date.year, "month": months[issue_date.month - 1],
             "day": issue_date.day}
    key = "title.issue_month" if issue_date.day == 1 else "title.issue_day"
    whole = t(key, title="", **words)
    room = None if limit is None else max(limit - len(whole), 1)
    return t(key, title=_shorten(title, room), **words)


def _shorten(text: str, limit: int | None) -> str:
    if limit is None or len(text) <= limit:
        return text
    return text[: max(limit - 1, 0)] + "…"
