"""Opening the database the models are bound to.

The models are bound to one ``DatabaseProxy`` that is initialised at start-up, so
the kiosk, the desk, the tests and the benchmarks each choose their database at run
time: an SQLite file (WAL, foreign keys on) or a PostgreSQL server.
"""

from __future__ import annotations

import logging
from pathlib import Path
from urllib.parse import unquote, urlparse

import peewee

log = logging.getLogger(__name__)

database = peewee.DatabaseProxy()
"""The database every model is bound to; see :func:`open_database`."""

SQLITE_PRAGMAS = {
    "journal_mode": "wal",
    "foreign_keys": 1,
    "synchronous": "normal",
    "cache_size": -16 * 1024,
    "busy_timeout": 5000,
}
"""Pragmas applied on every SQLite connection.

``synchronous=normal`` in WAL mode keeps every committed transaction across a crash
of the program (only a power cut can lose the last ones), at a fraction of the cost
of ``full``.
"""


class DatabaseMissing(Exception):
    """The SQLite database file does not exist (and we were told not to create it)."""

    def __init__(self, path: Path) -> None:
        super().__init__(f"no database at {path}")
        self.path = path


def sqlite_path(url: str) -> Path | None:
    """The file path of an ``sqlite:///`` URL, or ``None`` for another database."""
    if url.startswith("sqlite:///"):
        return Path(unquote(url[len("sqlite:///") :]))
    return None


def open_database(url: str, *, create: bool = False) -> peewee.Database:
    """Open the database at ``url``, bind the models to it and return it.

    Args:
        url: ``sqlite:///path/to/file.sqlite`` or ``postgresql://user@host:port/db``.
        create: create a missing SQLite file (and its folder) instead of refusing.

    Raises:
        DatabaseMissing: the SQLite file does not exist and ``create`` is false.
        ValueError: the URL names a database kind the kiosk does not support.
    """
    path = sqlite_path(url)
    db: peewee.Database
    if path is not None:
        if not path.exists():
            if not create:
                raise DatabaseMissing(path)
            path.parent.mkdir(parents=True, exist_ok=True)
        # IMMEDIATE: a transaction takes the write lock when it begins, so a read that
        # decides a write (is this copy free?) cannot be overtaken by another writer.
        db = peewee.SqliteDatabase(
            str(path), pragmas=SQLITE_PRAGMAS, timeout=5, lock_type="IMMEDIATE"
        )
    elif url.startswith(("postgresql://", "postgres://")):
        parts = urlparse(url)
        db = peewee.PostgresqlDatabase(
            unquote(parts.path.lstrip("/")),
            user=unquote(parts.username) if parts.username else None,
            password=unquote(parts.password) if parts.password else None,
            host=parts.hostname,
            port=parts.port,
        )
    else:
        raise ValueError(f"unsupported database URL: {redact(url)}")
    database.initialize(db)
    return db


def redact(url: str) -> str:
    """The URL with its password hidden, for messages and the log."""
    parts = urlparse(url)
    if parts.password:
        netloc = parts.netloc.replace(":" + parts.password + "@", ":***@")
        return parts._replace(netloc=netloc).geturl()
    return url
