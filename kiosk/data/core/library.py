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

from kiosk.data.core import cards, journal, migrations, settings
from kiosk.data.core.db import NotALibrary, database, open_database, redact, sqlite_path
from kiosk.data.core.facts import HybridClock, new_fact, utcnow
from kiosk.data.core.kinds import Kind
from kiosk.data.core.models import Card, LocalState, Patron, Setting
from kiosk.data.core.security import hash_pin


class AlreadyALibrary(Exception):
    """``kiosk init`` or ``kiosk desk init`` on a database that is a library already:
    nothing is changed (a second init would give the library a new card secret, or
    revoke the librarian's card and reset the PIN on every kiosk)."""

    def __init__(self, where: str, role: str | None, name: str, librarian: str = "") -> None:
        super().__init__(f"{where} is already a library database")
        self.where = where
        self.role = role
        """``desk``, ``kiosk`` or ``None`` (a library of its own)."""
        self.name = name
        self.librarian = librarian
        """The number of a librarian of this library (for the message), if there is one."""


def open_library(
    url: str, *, create: bool = False, new: bool = False, timeout: float = 5.0
) -> pw.Database:
    """Open (or, with ``create``, make) the library database at ``url``, migrated.

    Only ``create`` makes a library: a new file, or an empty PostgreSQL database. An
    existing file that is not a library (empty, damaged, another program's) is
    refused, whatever the command, and so is, without ``create``, an empty server
    database. ``new`` (``kiosk init``, ``kiosk desk init``) also refuses a database
    that is a library already. ``timeout`` is how long an SQLite write waits for
    another writer's lock.

    Raises:
        kiosk.data.core.db.DatabaseMissing: no SQLite file there and ``create`` is false.
        kiosk.data.core.db.NotALibrary: the database exists and is not a library.
        AlreadyALibrary: ``new`` and the database is a library.
    """
    db = open_database(url, create=create or new, timeout=timeout)
    try:
        with db.connection_context():
            check_library(db, url, create=create or new, new=new)
            migrations.migrate(db)
            # A desk's settings and rules are master facts, and a kiosk that joined one
            # takes them from it: only a library of its own gets the defaults here
            # (a rule the desk deleted must not come back at the kiosk's next start).
            role = LocalState.get_or_none(LocalState.key == "role")
            if role is None:
                with db.atomic():
                    settings.seed_defaults()
    except BaseException:
        db.close()
        raise
    return db


def check_library(db: pw.Database, url: str, *, create: bool, new: bool = False) -> None:
    """Refuse ``db`` unless it is a library, or an empty database this command may make
    one of (a file made just now, or, with ``create``, an empty server database).

    Raises:
        kiosk.data.core.db.NotALibrary: another program's tables, or nothing where a library
            was expected.
        AlreadyALibrary: ``new`` and ``db`` is a library already.
    """
    where = _where(db, url)
    kind = migrations.kind_of(db)
    if kind == "other":
        raise NotALibrary(where, "other_program")
    if kind == "empty":
        if getattr(db, "created", False) or (create and not isinstance(db, pw.SqliteDatabase)):
            return
        raise NotALibrary(where, "no_library" if not isinstance(db, pw.SqliteDatabase)
                          else "other_program")
    if new:
        with database.using(db):
            role = LocalState.get_or_none(LocalState.key == "role") \
                if LocalState.table_exists() else None
            name = Setting.get_or_none(Setting.key == "library_name")
            librarian = (
                Patron.select(Patron.number).where(Patron.kind == "librarian")
                .order_by(Patron.number).first()
            )
        raise AlreadyALibrary(
            where, role.value if role else None, name.value if name else "",
            librarian.number if librarian else "",
        )


def refuse_existing(url: str) -> None:
    """Refuse, before anything is asked or made, to make a library where there is a
    database already (``kiosk init``, ``kiosk desk init``). Nothing is created.

    Raises:
        kiosk.data.core.db.NotALibrary: a file or database there that is not a library.
        AlreadyALibrary: a library there.
    """
    path = sqlite_path(url)
    if path is not None and not path.exists():
        return
    db = open_database(url, bind=False)
    try:
        with database.using(db), db.connection_context():
            check_library(db, url, create=True, new=True)
    finally:
        db.close()


def _where(db: pw.Database, url: str) -> str:
    """The database as a message names it: its file, or its URL without the password."""
    path = getattr(db, "path", None)
    return str(path) if path is not None else redact(url)


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
    when = when or utcnow()
    patron = Patron.get(Patron.number == number)
    serial = (
        Card.select(pw.fn.MAX(Card.serial)).where(Card.patron == patron).scalar() or 0
    ) + 1
    clock = clock or HybridClock(kiosk, journal.last_hlc())
    data: dict[str, Any] = {"serial": serial}
    if expires_on:
        data["expires_on"] = expires_on.isoformat()
    journal.record(new_fact(clock, kiosk, Kind.CARD_ISSUED, when, patron=number, **data))
    return card_code(number, serial)


def set_pin(number: str, pin: str) -> None:
    """Give librarian ``number`` a PIN (stored as a slow hash)."""
    Patron.update(pin_hash=hash_pin(pin)).where(Patron.number == number).execute()
