"""The desk's password, kept out of the kiosk's database, in a libpq password file.

A kiosk that joins a PostgreSQL desk with a password in the URL keeps the URL without
it, and the password in a password file beside its database (``kiosk.sqlite.pgpass``,
``0600``), in libpq's own format (``host:port:database:user:password``); the URL it
connects with names that file (``?passfile=...``), and libpq reads the password there.

Why not in the database, even a ``0600`` one: a kiosk's database is copied (backups,
a support request, a replay), and the desk's password opens the whole school's library
at the server, where the kiosk's own token only lets this kiosk push its facts. In the
password file it is where an administrator expects it, changed without touching the
database, and libpq itself refuses a password file others can read.

A kiosk that joined before this keeps working: :func:`move_out` takes the password out
of its database at the next start (overwriting the old bytes: ``secure_delete`` and a
checkpoint) and writes the password file.
"""

from __future__ import annotations

import logging
import os
from pathlib import Path
from urllib.parse import parse_qsl, quote, unquote, urlencode, urlparse, urlunparse

import peewee as pw

from kiosk.data.core import files

log = logging.getLogger(__name__)


def beside(local: pw.Database) -> Path | None:
    """Where the password file of the kiosk database ``local`` goes (``None``: not a
    file database, so the password stays in the URL as before)."""
    path = getattr(local, "path", None)
    return Path(str(path) + ".pgpass") if path is not None else None


def split(url: str) -> tuple[str, str | None]:
    """``url`` without its password, and the password (``None`` if it has none)."""
    parts = urlparse(url)
    if not parts.scheme.startswith("postgres") or parts.password is None:
        return url, None
    host = parts.netloc.rpartition("@")[2]
    user = parts.netloc.rpartition("@")[0].partition(":")[0]
    return urlunparse(parts._replace(netloc=f"{user}@{host}")), unquote(parts.password)


def line(url: str, password: str) -> str:
    """The password file's line for the desk at ``url`` (libpq's format and escapes)."""
    parts = urlparse(url)
    fields = [
        parts.hostname or "localhost",
        str(parts.port or 5432),
        unquote(parts.path.lstrip("/")) or "*",
        unquote(parts.username or "") or "*",
        password,
    ]
    return ":".join(field.replace("\\", "\\\\").replace(":", "\\:") for field in fields)


def write(passfile: Path, url: str, password: str) -> None:
    """Write the desk's password to ``passfile`` (``0600``, replacing an older one)."""
    partial = passfile.with_name(passfile.name + ".new")
    partial.unlink(missing_ok=True)
    files.create_private(partial)
    partial.write_text(line(url, password) + "\n", encoding="utf-8")
    os.replace(partial, passfile)


def naming(url: str, passfile: Path | None) -> str:
    """``url`` as the kiosk connects with it: naming its password file, if it has one
    and the URL no password of its own."""
    if passfile is None or not passfile.exists() or split(url)[1] is not None:
        return url
    parts = urlparse(url)
    query = [(k, v) for k, v in parse_qsl(parts.query) if k != "passfile"]
    query.append(("passfile", str(passfile)))
    return urlunparse(parts._replace(query=urlencode(query, quote_via=quote)))


def keep_out(local: pw.Database, url: str) -> str:
    """The desk URL to store in the kiosk database ``local``: without its password,
    which goes to the password file beside the database."""
    stored, password = split(url)
    passfile = beside(local)
    if password is None or passfile is None:
        return url
    write(passfile, stored, password)
    return stored


def move_out(local: pw.Database, stored: str) -> str:
    """Take a password out of the desk URL an older kiosk stored in its database.

    Returns the URL now stored (unchanged if it held no password). The models must be
    bound to ``local`` with a connection open.
    """
    from kiosk.data.core.models import LocalState

    without, password = split(stored)
    passfile = beside(local)
    if password is None or passfile is None:
        return stored
    write(passfile, without, password)
    local.execute_sql("PRAGMA secure_delete = ON")  # overwrite the old value's bytes
    try:
        with local.atomic():
            LocalState.update(value=without).where(LocalState.key == "desk_url").execute()
        local.execute_sql("PRAGMA wal_checkpoint(TRUNCATE)")  # and its copy in the log
    finally:
        local.execute_sql("PRAGMA secure_delete = OFF")
    log.info("moved the desk's password out of the kiosk database into %s", passfile)
    return without
