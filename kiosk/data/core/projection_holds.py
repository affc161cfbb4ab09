"""The projection of reservations: holds placed, class sets, holds cancelled or expired.

A hold names its title through a copy of it (the fact's ``copy``): the journal finds a
title's facts by its copies' barcodes, and the sync's per-title rebase
(``kiosk.data.sync.rebase_title``) replays a title's loans, holds and copy statuses from
exactly those facts. Each function is written so that applying its fact again changes
nothing, and a fact that names a hold that has meanwhile ended (or, for an expiry, a
hold that is no longer as the kiosk that expired it saw it) changes nothing: every
database that applies the same facts in the same order ends with the same holds.

Each kind's function is named in its row of the registry of fact kinds
(:mod:`kiosk.data.core.kinds`). The rules the facts follow (who may reserve, how many,
how long a copy waits) are the holds service's (:mod:`kiosk.data.lending.holds`), and
docs/holds.md tells them.
"""

from __future__ import annotations

import uuid
from datetime import date
from typing import Any

from kiosk.data.core.facts import Fact
from kiosk.data.core.models import OPEN_HOLDS, Copy, Hold
from kiosk.data.core.projection import Known, copy_of, fill, patron_of


def set_hold_id(set_uuid: str, index: int) -> str:
    """The id of the ``index``-th hold of the class set placed by fact ``set_uuid`` (the
    first is the fact's own UUID; the others are derived from it, the same everywhere)."""
    if index == 0:
        return set_uuid
    return str(uuid.uuid5(uuid.NAMESPACE_URL, f"kiosk:class-set:{set_uuid}:{index}"))


def _day(value: Any) -> date | None:
    try:
        return date.fromisoformat(str(value)) if value else None
    except ValueError:
        return None


def _place(fact: Fact, known: Known, ids: list[str], class_set: str | None) -> None:
    copy, patron = copy_of(fact, known), patron_of(fact, known)
    if copy is None or patron is None:
        return
    by = fact.data.get("by")
    rows = [
        {
            "id": hold_id, "title": copy.title_id, "patron": patron.id,
            "placed_at": fact.wall_time, "needed_on": _day(fact.data.get("needed_on")),
            "class_set": class_set, "placed_by": str(by) if by else None,
        }
        for hold_id in ids
    ]
    Hold.insert_many(rows).on_conflict_ignore().execute()
    # a copy on the hold shelf that waits for nobody is this hold's at once
    fill(copy.title_id, fact.wall_time)


def hold(fact: Fact, known: Known) -> None:
    """A patron reserves a title (named by one of its copies): a hold waits for a copy."""
    _place(fact, known, [fact.uuid], None)


def class_set(fact: Fact, known: Known) -> None:
    """The librarian reserves ``count`` copies of a title for a teacher, for a day: one
    hold per copy, in one class set (named by the fact's UUID)."""
    try:
        count = max(1, min(int(fact.data.get("count", 1)), 500))
    except (TypeError, ValueError):
        count = 1
    _place(fact, known, [set_hold_id(fact.uuid, i) for i in range(count)], fact.uuid)


def _named(fact: Fact) -> list[Hold]:
    """The open holds a cancel or expiry names: ``holds`` (ids), or a ``class_set``."""
    ids = [str(i) for i in fact.data.get("holds", []) if isinstance(i, str)]
    condition = Hold.id.in_(ids) if ids else None
    if fact.data.get("class_set"):
        by_set = Hold.class_set == str(fact.data["class_set"])
        condition = by_set if condition is None else (condition | by_set)
    if condition is None:
        return []
    return list(Hold.select().where(condition & Hold.status.in_(OPEN_HOLDS)).order_by(Hold.id))


def _end(holds: list[Hold], status: str, fact: Fact) -> None:
    """End ``holds``; the copies they had on the hold shelf go to the next in line."""
    if not holds:
        return
    Hold.update(status=status, ended_at=fact.wall_time).where(
        Hold.id.in_([h.id for h in holds])
    ).execute()
    for title_id in sorted({h.title_id for h in holds if h.status == "ready"}):
        fill(title_id, fact.wall_time)


def hold_cancelled(fact: Fact, known: Known) -> None:
    """The patron (or the librarian) cancels holds: waiting or ready, they end."""
    _end(_named(fact), "cancelled", fact)


def hold_expired(fact: Fact, known: Known) -> None:
    """Holds whose time ran out end; the copy one had on the hold shelf goes to the next
    in line (or waits there to be put back on the shelf).

    ``was`` says what the kiosk saw: ``ready`` (with the fact's ``copy`` on the hold
    shelf, not picked up in time) or ``waiting`` (a hold for a day that has passed).
    A hold that is no longer so here (picked up meanwhile, or its copy lent elsewhere so
    it waits again) is left as it is: its patron did not miss anything.
    """
    was = fact.data.get("was")
    holds = [h for h in _named(fact) if h.status == was]
    if was == "ready":
        copy = Copy.select(Copy.id).where(Copy.barcode == fact.copy).first() if fact.copy else None
        holds = [h for h in holds if copy is not None and h.copy_id == copy.id]
    _end(holds, "expired", fact)
