"""Which library cards to print, and issuing them: the data side of ``kiosk cards``.

A patron without a card gets their first one; a reissued card (``reissue``) gets a
new serial, which revokes every older card of the patron (a ``card_issued`` fact,
see :func:`kiosk.data.core.library.issue_card`). Everything happens in one transaction
that also runs the caller's ``render`` step: when the PDF cannot be written, no
card is issued, so a retry never burns a second serial.

The service takes and returns plain values (:class:`CardRow`), so the printer
(:mod:`kiosk.data.desk.pdf`) and the librarian's screens never see the database.
"""

from __future__ import annotations

from collections.abc import Callable, Sequence
from dataclasses import dataclass, field
from datetime import date, datetime
from typing import Any

from kiosk.data.core import cards, journal, models, settings
from kiosk.data.core.db import database
from kiosk.data.core.errors import KioskError
from kiosk.data.core.facts import HybridClock, utcnow
from kiosk.data.core.library import issue_card
from kiosk.data.core.masterdata import chunks
from kiosk.data.core.text import printable

# peewee's models are dynamic: their columns are typed Any in this module
Card: Any = models.Card
Patron: Any = models.Patron
SchoolClass: Any = models.SchoolClass


class CardPrintError(KioskError):
    """Nothing can be printed; ``key`` (with ``params``) names the reason for :func:`t`."""


@dataclass(frozen=True)
class CardRow:
    """One card to print: its QR payload and what is written on it."""

    payload: str
    name: str
    number: str
    serial: int
    school_class: str = ""
    library_name: str = ""
    expires_on: date | None = None
    kind: str = "student"
    """The patron's kind (student, teacher, helper, librarian): what the card calls them."""


@dataclass
class CardBatch:
    """The cards of one print run and what was done to make them.

    ``issued`` got their first card, ``reissued`` a new serial (their old card is dead);
    ``unknown`` numbers are no patron here; ``inactive`` patrons (left the school) were
    named but not printed; ``unprintable`` patrons have a number no card code can hold
    (only letters, digits and ``-``, at most 20).
    """

    cards: list[CardRow] = field(default_factory=list)
    issued: list[str] = field(default_factory=list)
    reissued: list[str] = field(default_factory=list)
    unknown: list[str] = field(default_factory=list)
    inactive: list[str] = field(default_factory=list)
    unprintable: list[str] = field(default_factory=list)


def read_numbers(text: str) -> list[str]:
    """Patron numbers from a file's text: one per line (or separated by commas, spaces
    or tabs); blank lines and ``#`` comments are skipped, a header ``number``/``学号`` too."""
    numbers: list[str] = []
    for line in text.lstrip("\ufeff").splitlines():
        line = line.split("#", 1)[0]
        for word in line.replace(",", " ").replace("\t", " ").split():
            if word.lower() not in ("number", "patron", "学号"):
                numbers.append(word.strip())
    return numbers


def _unique(values: Sequence[str]) -> list[str]:
    return list(dict.fromkeys(v.strip() for v in values if v.strip()))


def print_cards(
    *,
    school_class: str | None = None,
    numbers: Sequence[str] = (),
    reissue: Sequence[str] = (),
    render: Callable[[list[CardRow]], object] | None = None,
    kiosk: str = "desk",
    when: datetime | None = None,
    expires_on: date | None = None,
) -> CardBatch:
    """Issue what is missing and list the cards of a class, of patrons, or reissued ones.

    ``school_class`` prints every active patron of that class (by number);
    ``numbers`` adds patrons by number; ``reissue`` gives those patrons a new serial.
    Patrons without a current card get their first one; new cards are valid until
    ``expires_on`` (None: no end). ``render`` is called with the cards inside the
    transaction: if it raises, nothing is issued.

    Raises:
        CardPrintError: ``print.error.no_class`` (the class does not exist),
            ``print.error.nothing`` (no patron to print).
    """
    db: Any = database.obj
    with db.atomic():
        batch = _select(
            school_class, _unique(numbers), _unique(reissue), kiosk, when or utcnow(),
            expires_on,
        )
        if not batch.cards and not batch.reissued and not batch.issued:
            raise CardPrintError(
                "print.error.nothing",
                # numbers as read from a file: shown harmless on the terminal
                unknown=", ".join(
                    printable(n, 40) for n in [*batch.unknown, *batch.unprintable][:10]
                ) or "-",
            )
        if render is not None:
            render(batch.cards)
    return batch


def _select(
    school_class: str | None, numbers: list[str], reissue: list[str], kiosk: str, when: datetime,
    expires_on: date | None,
) -> CardBatch:
    """Pick the patrons, issue their missing and reissued cards, build the rows."""
    batch = CardBatch()
    chosen: dict[str, Patron] = {}
    if school_class is not None:
        klass = SchoolClass.get_or_none(SchoolClass.name == school_class.strip())
        if klass is None:
            raise CardPrintError("print.error.no_class", name=school_class)
        for patron in (
            Patron.select().where((Patron.school_class == klass) & Patron.active)
            .order_by(Patron.number)
        ):
            chosen[patron.number] = patron
    wanted = _unique([*numbers, *reissue])
    found = {
        p.number: p
        for part in chunks(wanted)
        for p in Patron.select().where(Patron.number.in_(part))
    }
    for number in wanted:
        patron = found.get(number)
        if patron is None:
            batch.unknown.append(number)
        elif not patron.active:
            batch.inactive.append(number)
        else:
            chosen.setdefault(number, patron)
    if not chosen:
        return batch
    ids = [p.id for p in chosen.values()]
    current: dict[int, tuple[int, date | None]] = {}
    for part in chunks(ids):
        for patron_id, serial, expires in (
            Card.select(Card.patron, Card.serial, Card.expires_on)
            .where(Card.patron.in_(part) & Card.revoked_at.is_null())
            .order_by(Card.serial)
            .tuples()
        ):
            current[patron_id] = (serial, expires)
    clock = HybridClock(kiosk, journal.last_hlc())
    prefix, secret = settings.get("card_prefix"), settings.get("card_secret")
    library_name = settings.get("library_name")
    class_names = dict(SchoolClass.select(SchoolClass.id, SchoolClass.name).tuples())
    reissue_set = {n for n in reissue if n in chosen}
    for number, patron in chosen.items():
        try:
            cards.encode(prefix, number, 1, secret)
        except ValueError:  # a number a card cannot hold (spaces, Chinese, too long)
            batch.unprintable.append(number)
            continue
        serial, expires = current.get(patron.id, (None, None))
        if serial is None or number in reissue_set:
            payload = issue_card(
                number, kiosk=kiosk, when=when, clock=clock, expires_on=expires_on
            )
            serial, expires = cards.verify(payload, prefix, secret).serial, expires_on
            (batch.reissued if number in reissue_set else batch.issued).append(number)
        else:
            payload = cards.encode(prefix, number, serial, secret)
        batch.cards.append(
            CardRow(
                payload=payload,
                name=patron.name,
                number=number,
                serial=serial,
                school_class=class_names.get(patron.school_class_id, ""),
                library_name=library_name,
                expires_on=expires,
                kind=patron.kind,
            )
        )
    return batch

