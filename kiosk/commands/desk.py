"""The desk's and the sync's commands: ``kiosk desk``, ``desk init``, ``join``, ``sync``.

:func:`add_commands` adds them to the ``kiosk`` parser (:mod:`kiosk.cli`). Their
messages are in the configured language (:func:`kiosk.locale.t`, ``sync.*.toml``), and
every conversation with a desk is bounded by the ``[sync]`` timeouts
(:mod:`kiosk.data.core.network`): a stalled network ends a sync with "the desk cannot be
reached", never a hang.
"""

from __future__ import annotations

import argparse
import getpass
import logging
import os
import sys
from typing import Any

from kiosk.config import Config
from kiosk.locale import t

log = logging.getLogger("kiosk")


def _say_error(text: str) -> None:
    print(f"kiosk: {text}", file=sys.stderr)


def _desk_url(args: argparse.Namespace) -> str | None:
    url = args.url or os.environ.get("KIOSK_DESK_URL")
    if not url:
        _say_error(t("sync.cli.give_url"))
    return url


def _ask_pin(args: argparse.Namespace) -> str | None:
    pin = args.pin or getpass.getpass(t("cli.pin_prompt"))
    if not (pin.isdigit() and 4 <= len(pin) <= 12):
        _say_error(t("cli.pin_bad"))
        return None
    return pin


def cmd_desk_init(args: argparse.Namespace, config: Config) -> int:
    """``kiosk desk init URL``: create the desk's database, with a librarian who can sign in."""
    from kiosk.data import sync
    from kiosk.data.core import library, masterdata
    from kiosk.data.core.db import database, redact
    from kiosk.data.core.kinds import Kind
    from kiosk.data.core.security import hash_pin

    url = _desk_url(args)
    if not url:
        return 2
    library.refuse_existing(url)  # before the PIN is asked: a desk is never made twice
    pin = _ask_pin(args)
    if pin is None:
        return 2
    desk = sync.init_desk(url)
    with database.using(desk), desk.connection_context(), desk.atomic():
        masterdata.save(Kind.SETTING_SAVED, key="library_name", value=args.library_name)
        masterdata.save(
            Kind.PATRON_SAVED, patron=args.librarian_number, name=args.librarian_name,
            kind="librarian", pin_hash=hash_pin(pin),
        )
        code = library.issue_card(args.librarian_number)
    desk.close()
    print(t("cli.desk_ready", url=redact(url)))
    print(t("cli.librarian_card", code=code))
    print(t("cli.desk_join_hint"))
    return 0


def cmd_desk(args: argparse.Namespace, config: Config) -> int:
    """``kiosk desk [--db URL]``: the librarian's screens on the desk's database."""
    from kiosk.data.core.db import DatabaseMissing
    from kiosk.data.sync import SyncError
    url = args.db or os.environ.get("KIOSK_DESK_URL") or config.database_url
    try:
        return run_desk(config, url)
    except SyncError as refused:
        _say_error(t(refused.key, **refused.params))
        return 1
    except DatabaseMissing as missing:
        _say_error(t("cli.no_desk_database", path=missing.path))
        return 2


def run_desk(config: Config, url: str) -> int:
    """Open the desk's database at ``url`` (brought up to this version's schema) and run
    the desk app until it is closed.

    Raises:
        kiosk.data.sync.SyncError: ``sync.not_desk`` (a kiosk's database, or none).
        kiosk.data.core.db.DatabaseMissing: an SQLite file that does not exist.
    """
    from kiosk.data.core.store import Store
    from kiosk.data.lending.circulation import Circulation
    from kiosk.data.sync import open_desk
    from kiosk.screens.desk import DESK_KIOSK_ID, DeskApp

    db = open_desk(url, migrate=True)
    circulation = Circulation(Store(db, DESK_KIOSK_ID))
    DeskApp(circulation, config).run()
    return 0


def cmd_join(args: argparse.Namespace, config: Config) -> int:
    """``kiosk join URL``: register this kiosk at the desk and take the desk's library.

    A failure says its cause in one line: the desk's computer not found, the connection
    refused, a wrong password, no such database, not a desk, no answer in time.
    """
    from kiosk.data import sync
    from kiosk.data.core.db import redact
    from kiosk.data.core.library import open_library

    url = _desk_url(args)
    if not url:
        return 2
    name = args.name or config.kiosk_id
    timeouts = config.desk_timeouts
    db = open_library(config.database_url, create=True)
    try:
        ident = sync.join(db, url, name, timeouts=timeouts)
    except Exception as error:  # every cause is said in words below; none is a crash
        log.warning("join failed: %s: %s", type(error).__name__, error)
        _say_error(t("sync.cli.cannot_join", cause=describe(url, error, config)))
        return 1
    try:
        desk = sync.open_desk(url, timeouts=timeouts)
        try:
            report = sync.sync_once(db, desk, ident, deadline=timeouts.deadline)
        finally:
            _close_quietly(desk)
    except Exception as error:
        log.warning("first sync after joining failed: %s: %s", type(error).__name__, error)
        _say_error(t("sync.cli.joined_not_synced", name=name, url=redact(url),
                     cause=describe(url, error, config)))
        return 1
    print(t("sync.cli.joined", name=name, url=redact(url), count=report.pulled))
    return 0


def describe(url: str, error: BaseException, config: Config) -> str:
    """Why the desk at ``url`` cannot be used, in one line of the configured language.

    Raises:
        BaseException: ``error`` itself if it is not about reaching the desk (a bug is
            not to be dressed up as a network problem).
    """
    import peewee

    from kiosk.data import sync
    from kiosk.data.core import network
    from kiosk.data.core.db import DatabaseMissing, NotALibrary, mask, redact

    if isinstance(error, sync.SyncError):
        return t(error.key, **error.params)
    if isinstance(error, NotALibrary):
        return t(f"storage.not_library.{error.reason}", where=error.where)
    if isinstance(error, DatabaseMissing):
        return t("sync.cause.no_file", path=error.path)
    if isinstance(error, ValueError) and "unsupported database URL" in str(error):
        return t("sync.cause.bad_url", url=redact(url))
    if not isinstance(error, peewee.PeeweeException):
        raise error
    found, details = network.cause(url, error, connect_seconds=config.sync_connect_timeout)
    if "detail" in details:
        details["detail"] = mask(details["detail"])
    return t(f"sync.cause.{found}", **details)


def cmd_sync(args: argparse.Namespace, config: Config) -> int:
    """``kiosk sync``: sync with the desk now (the running kiosk also does it by itself)."""
    import peewee

    from kiosk.data import sync
    from kiosk.data.core.db import DatabaseMissing, redact
    from kiosk.data.core.library import open_library

    db = open_library(config.database_url)
    ident = sync.identity(db)
    if ident is None:
        _say_error(t("sync.cli.not_joined"))
        return 2
    timeouts = config.desk_timeouts
    try:
        desk = sync.open_desk(ident.desk_url, timeouts=timeouts)
        try:
            report = sync.sync_once(db, desk, ident, deadline=timeouts.deadline)
        finally:
            _close_quietly(desk)
    except sync.SyncError as refused:
        _say_error(t(refused.key, **refused.params))
        return 1
    except (peewee.PeeweeException, DatabaseMissing) as error:
        log.warning("sync failed: %s: %s", type(error).__name__, error)
        _say_error(t("sync.cli.unreachable", reason=describe(ident.desk_url, error, config),
                     count=_waiting(db)))
        return 1
    print(t("sync.cli.done", url=redact(ident.desk_url), pushed=report.pushed,
            pulled=report.pulled, waiting=report.waiting, seconds=f"{report.seconds:.2f}"))
    return 0


def _close_quietly(db: Any) -> None:
    try:
        db.close()
    except Exception:  # a broken connection: nothing more to close
        log.debug("closing the desk connection failed", exc_info=True)


def _waiting(db: Any) -> int:
    from kiosk.data import sync
    from kiosk.data.core.db import database

    with database.using(db), db.connection_context():
        return sync.pending_count()


def add_commands(sub: Any) -> None:
    """Add ``desk`` (with ``desk init``), ``join`` and ``sync`` to the ``kiosk`` parser."""
    desk = sub.add_parser(
        "desk", help="the librarian's desk: its screens (card + PIN), or create its database"
    )
    desk.add_argument("--db", metavar="URL", help="the desk's database (default: "
                      "$KIOSK_DESK_URL, else the configured database)")
    desk.set_defaults(func=cmd_desk)
    desk_sub = desk.add_subparsers(dest="desk_command", metavar="COMMAND")
    desk_init = desk_sub.add_parser(
        "init", help="create the desk's database (an SQLite file or a PostgreSQL URL)"
    )
    desk_init.add_argument("url", nargs="?", metavar="URL",
                           help="sqlite:///path or postgresql://user@host/db "
                           "(default: $KIOSK_DESK_URL)")
    desk_init.add_argument("--library-name", default="School Library")
    desk_init.add_argument("--librarian-number", default="L0001")
    desk_init.add_argument("--librarian-name", default="Librarian")
    desk_init.add_argument("--pin", help="the librarian's PIN (asked when not given)")
    desk_init.set_defaults(func=cmd_desk_init)

    join = sub.add_parser("join", help="register this kiosk at the desk and take its library")
    join.add_argument("url", nargs="?", metavar="URL",
                      help="the desk's database URL (default: $KIOSK_DESK_URL)")
    join.add_argument("--name", help="this kiosk's name at the desk (default: [kiosk] id)")
    join.set_defaults(func=cmd_join)

    sync = sub.add_parser("sync", help="sync with the desk now")
    sync.set_defaults(func=cmd_sync)
