"""What a kiosk keeps about its sync in its own database: the cursor, its identity at
the desk, and the error a sync stops with."""

from __future__ import annotations

import hashlib
import logging
from dataclasses import dataclass
from typing import Any
from urllib.parse import urlparse

import peewee as pw

from kiosk.data.core import (
    passfile,
)
from kiosk.data.core.db import database, keep_secret, redact
from kiosk.data.core.models import (
    LocalState,
)
from kiosk.data.core.prepared import Prepared

log = logging.getLogger(__name__)

class SyncError(Exception):
    """The sync cannot go on; ``key`` is the translation key of the reason."""

    def __init__(self, key: str, **params: Any) -> None:
        super().__init__(key)
        self.key = key
        self.params = params


# -- the database's own state ---------------------------------------------------------


_LOCAL_GET = Prepared(
    lambda key: LocalState.select(LocalState.value).where(LocalState.key == key).limit(1).tuples()
)
_LOCAL_PUT = Prepared(
    lambda key, value: LocalState.insert(key=key, value=value).on_conflict(
        conflict_target=[LocalState.key], preserve=[LocalState.value]
    )
)


def local_get(key: str, default: str | None = None) -> str | None:
    """A value of this database's own state (see :class:`LocalState`)."""
    row = _LOCAL_GET.first(key)
    return row[0] if row else default


def local_put(key: str, value: str) -> None:
    """Store a value of this database's own state."""
    _LOCAL_PUT.execute(key, value)


def token_hash(token: str) -> str:
    return hashlib.sha256(token.encode()).hexdigest()


@dataclass(frozen=True)
class Identity:
    """Who this kiosk is at its desk: its id, its secret token and the desk's URL."""

    kiosk: str
    token: str
    desk_url: str

    def __repr__(self) -> str:  # never the token or the password, even in a traceback
        return f"Identity(kiosk={self.kiosk!r}, desk_url={redact(self.desk_url)!r})"


def identity(local: pw.Database) -> Identity | None:
    """This kiosk's registration, or ``None`` if it has not joined a desk.

    The desk's URL is the one to connect with: it names the password file beside the
    kiosk's database, where the desk's password is kept (:mod:`kiosk.data.core.passfile`).
    """
    with database.session(local):
        values = dict(
            LocalState.select(LocalState.key, LocalState.value)
            .where(LocalState.key.in_(["kiosk_id", "token", "desk_url"]))
            .tuples()
        )
        if len(values) < 3:
            return None
        keep_token(values["token"], values["desk_url"])
        stored = passfile.move_out(local, values["desk_url"])  # (a kiosk joined before)
    url = passfile.naming(stored, passfile.beside(local))
    return Identity(values["kiosk_id"], values["token"], url)


def keep_token(token: str, url: str) -> None:
    keep_secret(token)
    password = urlparse(url).password
    if password:
        keep_secret(password)
