"""The desk's side of joining: opening a desk, making one, and a kiosk joining it."""

from __future__ import annotations

import logging
import secrets

import peewee as pw

from kiosk.data.core import (
    cards,
    library,
    masterdata,
    migrations,
    passfile,
    settings,
)
from kiosk.data.core.db import database, open_database, redact
from kiosk.data.core.facts import to_db_time, utcnow
from kiosk.data.core.kinds import Kind
from kiosk.data.core.models import (
    Journal,
    KioskRegistration,
    LoanRule,
    Patron,
    Setting,
    Sip2Terminal,
)
from kiosk.data.core.network import DeskTimeouts
from kiosk.data.sync.local import Identity, SyncError, keep_token, local_get, local_put, token_hash

log = logging.getLogger(__name__)

# -- the desk -------------------------------------------------------------------------


def open_desk(
    url: str, *, create: bool = False, migrate: bool = False,
    timeouts: DeskTimeouts | None = None,
) -> pw.Database:
    """Open the desk's database beside the kiosk's (the models stay bound to the kiosk's).

    A kiosk never changes the desk's schema: a desk that needs a migration is refused,
    unless ``migrate`` (the desk's own app) brings it up to this version's schema.
    ``timeouts`` bound every wait on a PostgreSQL desk (a kiosk's sync gives them).

    Raises:
        SyncError: ``sync.not_desk`` (a database that is not a desk).
        kiosk.data.core.db.DatabaseMissing: an SQLite desk file that does not exist.
    """
    desk = open_database(url, create=create, bind=False, desk_timeouts=timeouts)
    if not create:
        with database.using(desk), desk.connection_context():
            if (not migrate and migrations.pending(desk)) or local_get("role") != "desk":
                raise SyncError("sync.not_desk", url=redact(url))
            if migrate:
                migrations.migrate(desk)
    return desk


def init_desk(url: str) -> pw.Database:
    """Create the desk's database at ``url``: a new SQLite file, or an empty PostgreSQL
    database.

    A new desk gets its card secret, settings and loan rules as master facts, so that
    every kiosk receives them in its first pull. A database that is a library already
    (a desk, a kiosk's, a library of its own) is refused and left as it is: a second
    init would give the library a new card secret, or revoke the librarian's card,
    rename the library and reset the PIN on every kiosk.

    Raises:
        kiosk.data.core.library.AlreadyALibrary: the database is a library already.
        kiosk.data.core.db.NotALibrary: an existing file or database that is not empty and
            not a library (another program's, damaged).
    """
    desk = open_database(url, create=True, bind=False)
    try:
        with database.using(desk), desk.connection_context():
            library.check_library(desk, url, create=True, new=True)
            migrations.migrate(desk)
            with desk.atomic():
                local_put("role", "desk")
                masterdata.save_many(
                    Kind.SETTING_SAVED,
                    [
                        {"key": "card_secret", "value": cards.new_secret()},
                        *({"key": k, "value": v} for k, v in settings.DEFAULTS.items()),
                    ],
                )
                masterdata.save_many(
                    Kind.RULE_SAVED,
                    [
                        {"patron_kind": p, "item_kind": i, "loan_days": d, "max_items": n,
                         "max_renewals": r}
                        for p, i, d, n, r in settings.DEFAULT_RULES
                    ],
                )
    except BaseException:
        desk.close()
        raise
    return desk


def join(
    local: pw.Database, url: str, kiosk_id: str, *, name: str = "",
    timeouts: DeskTimeouts | None = None,
) -> Identity:
    """Register this kiosk at the desk at ``url`` as ``kiosk_id``.

    The kiosk's database must be new (no patrons, no facts): from now on its master
    data is the desk's. Nothing about the desk is stored but its URL (without its
    password, which goes to a password file: :mod:`kiosk.data.core.passfile`), the kiosk's
    id and a secret token; the desk keeps only the token's hash.

    Raises:
        SyncError: ``sync.not_fresh``, ``sync.name_taken``, ``sync.not_desk``.
    """
    desk = open_desk(url, timeouts=timeouts)
    token = secrets.token_urlsafe(24)
    keep_token(token, url)
    with database.session(local):
        if local_get("role") == "desk":
            raise SyncError("sync.is_desk")
        if local_get("kiosk_id") is not None:
            raise SyncError("sync.already_joined", kiosk=local_get("kiosk_id"))
        if Journal.select().exists() or Patron.select().exists():
            raise SyncError("sync.not_fresh")
    try:
        with database.using(desk), desk.connection_context(), desk.atomic():
            # a SIP2 terminal's facts carry its name as their kiosk: one name, one machine
            if KioskRegistration.get_or_none(KioskRegistration.kiosk == kiosk_id) or (
                Sip2Terminal.get_or_none(Sip2Terminal.name == kiosk_id)
            ):
                raise SyncError("sync.name_taken", kiosk=kiosk_id)
            KioskRegistration.create(
                kiosk=kiosk_id, name=name or kiosk_id, token_hash=token_hash(token),
                registered_at=to_db_time(utcnow()),
            )
    finally:
        desk.close()
    with database.session(local), local.atomic():
        # The desk's settings and rules replace the ones this new database started with.
        Setting.delete().execute()
        LoanRule.delete().execute()
        stored = passfile.keep_out(local, url)
        for key, value in (
            ("role", "kiosk"), ("kiosk_id", kiosk_id), ("token", token), ("desk_url", stored),
            ("cursor", "0"), ("placed_upto", "0"),
        ):
            local_put(key, value)
    log.info("joined the desk at %s as %s", redact(url), kiosk_id)
    return Identity(kiosk_id, token, passfile.naming(stored, passfile.beside(local)))


def check_registration(ident: Identity) -> KioskRegistration:
    row = KioskRegistration.get_or_none(KioskRegistration.kiosk == ident.kiosk)
    if row is None or not secrets.compare_digest(row.token_hash, token_hash(ident.token)):
        raise SyncError("sync.not_registered", kiosk=ident.kiosk)
    return row
