"""Opening a library database and the desk's basic write operations on master data.

:func:`open_library` is what every command calls first: it opens the database,
applies pending migrations and makes sure a new library has its secret, settings
and loan rules. The helpers below it add classes, patrons, titles and copies and
issue cards; the demo, ``kiosk init`` and the tests use them, and the importers of
the desk tools build on them.
"""

from __future__ import annotations

from datetime import date, datetime
from typing import Any

import peewee as pw

from kiosk.data import cards, journal, migrations, settings
from kiosk.data.db import open_database
from kiosk.data.journal import HybridClock
from kiosk.data.models import Card, LocalState, Patron
from kiosk.data.security import hash_pin


def open_library(url: str, *, create: bool = False, timeout: float = 5.0) -> pw.Database:
    """Open (or, with ``create``, make) the library database at ``url``, migrated.

    ``timeout`` is how long an SQLite write waits for another writer's lock.

    Raises:
        kiosk.data.db.DatabaseMissing: no SQLite file there and ``create`` is false.
    """
    db = open_database(url, create=create, timeout=timeout)
    with db.connection_context():
        migrations.migrate(db)
        # A desk's settings and rules are master facts, and a kiosk that joined one
        # takes them from it: only a library of its own gets the defaults here
        # (a rule the desk deleted must not come back at the kiosk's next start).
        role = LocalState.get_or_none(LocalState.key == "role")
        if role is None:
            with db.atomic():
                settings.seed_defaults()
    return db


def card_code(number: str, serial: int) -> str:
    """The QR payload of patron ``number``'s card ``serial`` in this library."""
    return cards.encode(
        settings.get("card_prefix"), number, serial, settings.get("card_secret")
    )


def current_card(number: str) -> str | None:
    """The payload of the patron's current (newest unrevoked) card, if any."""
    card = (
        Card.select(Card.serial)
        .join(Patron)
        .where((Patron.number == number) & Card.revoked_at.is_null())
        .order_by(Card.serial.desc())
        .first()
    )
    return card_code(number, card.serial) if card else None


def issue_card(
    number: str,
    *,
    kiosk: str = "desk",
    when: datetime | None = None,
    expires_on: date | None = None,
    clock: HybridClock | None = None,
) -> str:
    """Issue patron ``number`` a new card (revoking the old one); return its payload.

    Recorded as a ``card_issued`` fact. Call inside a transaction.
    """
    when = when or journal.utcnow()
    patron = Patron.get(Patron.number == number)
    serial = (
        Card.select(pw.fn.MAX(Card.serial)).where(Card.patron == patron).scalar() or 0
    ) + 1
    clock = clock or HybridClock(kiosk, journal.last_hlc())
    data: dict[str, Any] = {"serial": serial}
    if expires_on:
        data["expires_on"] = expires_on.isoformat()
    journal.record(journal.new_fact(clock, kiosk, "card_issued", when, patron=number, **data))
    return card_code(number, serial)


def set_pin(number: str, pin: str) -> None:
    """Give librarian ``number`` a PIN (stored as a slow hash)."""
    Patron.update(pin_hash=hash_pin(pin)).where(Patron.number == number).execute()
