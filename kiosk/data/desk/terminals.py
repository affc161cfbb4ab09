"""The SIP2 terminals a desk answers (``kiosk sip2``): who may sign in, and how they speak.

A terminal is a self-service machine (self-check unit, gate, book drop) that speaks
SIP2 to the desk (``kiosk/sip2``). Its name is its login and the kiosk id of every fact
it makes, so no terminal and no kiosk share a name; only its password's scrypt hash is
kept. Terminals belong to the desk alone: they never travel to the kiosks.
"""

from __future__ import annotations

import re
from dataclasses import dataclass
from datetime import datetime
from typing import Any

import peewee as pw

from kiosk.data.core.db import database
from kiosk.data.core.facts import to_db_time, utcnow
from kiosk.data.core.models import KioskRegistration, Sip2Terminal
from kiosk.data.core.security import check_pin, hash_pin
from kiosk.data.core.text import printable

ENCODINGS = ("utf-8", "gb18030")
"""How a terminal's text may travel."""

UNKNOWN = "sip2"
"""The kiosk id of a refused sign-in naming no terminal (never a terminal's name)."""

_NAME = re.compile(r"[A-Za-z0-9][A-Za-z0-9._-]{0,39}")
_DUMMY_HASH = hash_pin("no terminal has this password")


class TerminalError(Exception):
    """A terminal cannot be added or removed; ``key`` says why (``sip2.cli.*``)."""

    def __init__(self, key: str, **params: Any) -> None:
        super().__init__(key)
        self.key = key
        self.params = params


@dataclass(frozen=True)
class Terminal:
    """A SIP2 terminal as the desk knows it."""

    name: str
    location: str
    encoding: str
    language: str
    created_at: datetime | None = None
    last_login_at: datetime | None = None


def _terminal(row: Sip2Terminal) -> Terminal:
    return Terminal(row.name, row.location, row.encoding, row.language, row.created_at,
                    row.last_login_at)


def check_password(name: str, password: str) -> Terminal | None:
    """The terminal ``name`` if ``password`` is its password, else ``None`` (a read: call
    it outside any write transaction, as the check is slow on purpose).

    The password is checked (slowly, in constant time) even for a name no terminal has,
    so the time taken does not tell which names exist.
    """
    row = Sip2Terminal.get_or_none(Sip2Terminal.name == name) if _NAME.fullmatch(name) else None
    if not check_pin(password, row.password_hash if row else _DUMMY_HASH) or row is None:
        return None
    return _terminal(row)


def signed_in(name: str, when: datetime) -> None:
    """Record that terminal ``name`` signed in at ``when`` (inside a transaction)."""
    Sip2Terminal.update(last_login_at=to_db_time(when)).where(
        Sip2Terminal.name == name
    ).execute()


def exists(name: str) -> bool:
    """Whether a terminal is called ``name`` (inside a connection to the desk)."""
    return Sip2Terminal.get_or_none(Sip2Terminal.name == name) is not None


def add_terminal(
    db: pw.Database, name: str, password: str, *, location: str = "", encoding: str = "utf-8",
    language: str = "",
) -> Terminal:
    """Allow the SIP2 terminal ``name`` with ``password`` (only its hash is kept).

    Raises:
        TerminalError: ``sip2.cli.bad_name``, ``sip2.cli.name_taken`` (a terminal or a
            kiosk has it), ``sip2.cli.bad_encoding``, ``sip2.cli.bad_password``.
    """
    if not _NAME.fullmatch(name) or name in ("desk", UNKNOWN):
        raise TerminalError("sip2.cli.bad_name", name=printable(name, 40))
    if encoding.lower() not in ENCODINGS:
        raise TerminalError("sip2.cli.bad_encoding", encoding=printable(encoding, 20))
    if not password or "|" in password or not password.isprintable() or len(password) > 64:
        raise TerminalError("sip2.cli.bad_password")
    with database.session(db), db.atomic():
        if exists(name) or KioskRegistration.get_or_none(KioskRegistration.kiosk == name):
            raise TerminalError("sip2.cli.name_taken", name=name)
        row = Sip2Terminal.create(
            name=name, password_hash=hash_pin(password), location=printable(location, 40),
            encoding=encoding.lower(), language=language,
            created_at=to_db_time(utcnow()),
        )
    return _terminal(row)


def terminals(db: pw.Database) -> list[Terminal]:
    """Every SIP2 terminal of the desk, by name."""
    with database.session(db):
        return [_terminal(row) for row in Sip2Terminal.select().order_by(Sip2Terminal.name)]


def remove_terminal(db: pw.Database, name: str) -> None:
    """Stop answering terminal ``name`` (its facts stay).

    Raises:
        TerminalError: ``sip2.cli.unknown``.
    """
    with database.session(db), db.atomic():
        if not Sip2Terminal.delete().where(Sip2Terminal.name == name).execute():
            raise TerminalError("sip2.cli.unknown", name=printable(name, 40))
