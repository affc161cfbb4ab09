"""The ``kiosk`` command: run the kiosk, try the demo, set up a new library.

Messages here go to the terminal only before or after the full-screen app runs;
while it runs, everything goes to the log file.
"""

from __future__ import annotations

import argparse
import getpass
import logging
import os
import sys
from pathlib import Path

from kiosk import __version__
from kiosk.config import Config, ConfigError, default_config_path, load_config, write_config

log = logging.getLogger("kiosk")


def _setup_logging(config: Config) -> None:
    from kiosk import logs

    logs.configure(config.log_path)


def _run_app(config: Config, db_url: str, sim_codes: list[str] | None = None) -> int:
    """Open the library at ``db_url`` and run the kiosk until the librarian leaves.

    ``sim_codes`` are what the simulated camera shows, when the camera is ``sim``.
    """
    from kiosk.app import KioskApp
    from kiosk.data import sync
    from kiosk.data.circulation import Circulation
    from kiosk.data.library import open_library
    from kiosk.devices.setup import camera_builder
    from kiosk.sync_link import SyncWorker
    from kiosk.terminal import c_stderr_to

    db = open_library(db_url)
    ident = sync.identity(db)  # a kiosk that joined a desk is known there by its own id
    kiosk_id = ident.kiosk if ident else config.kiosk_id
    circulation = Circulation(db, kiosk_id, allow_plain_cards=config.allow_plain_cards)
    worker = SyncWorker(circulation, ident, interval=config.sync_interval) if ident else None
    if config.kiosk_mode:
        # Textual turns the terminal's signal keys off unless this is set.
        os.environ.pop("TEXTUAL_ALLOW_SIGNALS", None)
    log.info("kiosk %s starting on %s", kiosk_id, _redact(db_url))
    with c_stderr_to(config.log_path):
        camera = camera_builder(config.camera, sim_codes=sim_codes)
        KioskApp(circulation, config, camera=camera, sync=worker).run()
    log.info("kiosk stopped")
    return 0


def _redact(url: str) -> str:
    from kiosk.data.db import redact

    return redact(url)


def cmd_run(args: argparse.Namespace, config: Config) -> int:
    """``kiosk run``: the kiosk on the configured database."""
    from kiosk.data.db import DatabaseMissing

    if args.no_lock:
        config = config.with_overrides(kiosk_mode=False)
    if args.camera:
        config = config.with_overrides(camera=args.camera)
    try:
        return _run_app(config, config.database_url)
    except DatabaseMissing as missing:
        where = config.source or default_config_path()
        print(
            f"kiosk: there is no library database at {missing.path}\n"
            "\n"
            "To try the kiosk with a demo library:   kiosk demo\n"
            "To set up this library's database:      kiosk init --library-name "
            "\"Your School Library\"\n"
            f"To use a database elsewhere, set [database] url in {where}\n"
            "  (or point KIOSK_CONFIG / --config at another settings file).",
            file=sys.stderr,
        )
        return 2


def cmd_init(args: argparse.Namespace, config: Config) -> int:
    """``kiosk init``: create an empty library database and a librarian who can sign in."""
    from kiosk.data import settings
    from kiosk.data.db import sqlite_path
    from kiosk.data.library import issue_card, open_library, set_pin
    from kiosk.data.models import Patron

    if args.db:
        config = config.with_overrides(database=args.db)
    url = config.database_url
    path = sqlite_path(url)
    if path is not None and path.exists():
        print(f"kiosk: a database already exists at {path}; nothing changed.", file=sys.stderr)
        return 1
    pin = args.pin or getpass.getpass("Choose the librarian's PIN (4 to 12 digits): ")
    if not (pin.isdigit() and 4 <= len(pin) <= 12):
        print("kiosk: the PIN must be 4 to 12 digits.", file=sys.stderr)
        return 2
    db = open_library(url, create=True)
    with db.connection_context(), db.atomic():
        settings.put("library_name", args.library_name)
        Patron.create(number=args.librarian_number, name=args.librarian_name, kind="librarian")
        set_pin(args.librarian_number, pin)
        code = issue_card(args.librarian_number)
    config_path = Path(args.config) if args.config else default_config_path()
    if not config_path.exists():
        write_config(config_path, config)
        print(f"Settings written to {config_path}")
    print(f"Library database created at {_redact(url)}")
    print(f"The librarian's card code is: {code}")
    print("Start the kiosk with:  kiosk run")
    return 0


def _desk_url(args: argparse.Namespace) -> str | None:
    url = args.url or os.environ.get("KIOSK_DESK_URL")
    if not url:
        print("kiosk: give the desk's database URL (or set KIOSK_DESK_URL, which keeps a "
              "password out of the shell's history).", file=sys.stderr)
    return url


def cmd_desk_init(args: argparse.Namespace, config: Config) -> int:
    """``kiosk desk init URL``: create the desk's database, with a librarian who can sign in."""
    from kiosk.data import library, masterdata, sync
    from kiosk.data.db import database
    from kiosk.data.security import hash_pin

    url = _desk_url(args)
    if not url:
        return 2
    pin = args.pin or getpass.getpass("Choose the librarian's PIN (4 to 12 digits): ")
    if not (pin.isdigit() and 4 <= len(pin) <= 12):
        print("kiosk: the PIN must be 4 to 12 digits.", file=sys.stderr)
        return 2
    try:
        desk = sync.init_desk(url)
    except sync.SyncError as refused:
        print(f"kiosk: {_sync_problem(refused.key)}", file=sys.stderr)
        return 1
    with database.using(desk), desk.connection_context(), desk.atomic():
        masterdata.save("setting_saved", key="library_name", value=args.library_name)
        masterdata.save(
            "patron_saved", patron=args.librarian_number, name=args.librarian_name,
            kind="librarian", pin_hash=hash_pin(pin),
        )
        code = library.issue_card(args.librarian_number)
    desk.close()
    print(f"Desk database ready at {_redact(url)}")
    print(f"The librarian's card code is: {code}")
    print("On each kiosk:  kiosk join URL --name NAME")
    return 0


def cmd_desk(args: argparse.Namespace, config: Config) -> int:
    """``kiosk desk [--db URL]``: the librarian's screens on the desk's database."""
    from kiosk.data.db import DatabaseMissing
    from kiosk.data.sync import SyncError
    from kiosk.desk_app import run_desk

    url = args.db or os.environ.get("KIOSK_DESK_URL") or config.database_url
    try:
        return run_desk(config, url)
    except SyncError as refused:
        print(f"kiosk: {_sync_problem(refused.key)}", file=sys.stderr)
        return 1
    except DatabaseMissing as missing:
        print(f"kiosk: there is no desk database at {missing.path} "
              "(create one with: kiosk desk init URL)", file=sys.stderr)
        return 2


SYNC_PROBLEMS = {
    "sync.not_desk": "that database is not a library desk (create one with: kiosk desk init URL)",
    "sync.is_kiosk": "that database is a kiosk's, not a desk's",
    "sync.is_desk": "this kiosk's database is a desk's; give the kiosk a database of its own",
    "sync.not_fresh": "this kiosk's database already has its own library; join with a new "
    "one (kiosk --config FILE join ..., with another [database] url)",
    "sync.already_joined": "this kiosk has joined a desk already (kiosk sync syncs it)",
    "sync.name_taken": "another kiosk has that name at the desk; choose another with --name",
    "sync.not_registered": "the desk does not know this kiosk (any more); join again",
}


def _sync_problem(key: str) -> str:
    return SYNC_PROBLEMS.get(key, key)


def cmd_join(args: argparse.Namespace, config: Config) -> int:
    """``kiosk join URL``: register this kiosk at the desk and take the desk's library."""
    from kiosk.data import sync
    from kiosk.data.library import open_library

    url = _desk_url(args)
    if not url:
        return 2
    name = args.name or config.kiosk_id
    db = open_library(config.database_url, create=True)
    try:
        ident = sync.join(db, url, name)
        desk = sync.open_desk(url)
        report = sync.sync_once(db, desk, ident)
        desk.close()
    except sync.SyncError as refused:
        print(f"kiosk: {_sync_problem(refused.key)}", file=sys.stderr)
        return 1
    print(f"This kiosk is {name} at the desk {_redact(url)}; "
          f"{report.pulled} records received. Start it with:  kiosk run")
    return 0


def cmd_sync(args: argparse.Namespace, config: Config) -> int:
    """``kiosk sync``: sync with the desk now (the running kiosk also does it by itself)."""
    import peewee

    from kiosk.data import sync
    from kiosk.data.db import DatabaseMissing, mask
    from kiosk.data.library import open_library

    db = open_library(config.database_url)
    ident = sync.identity(db)
    if ident is None:
        print("kiosk: this kiosk has not joined a desk (kiosk join URL --name NAME).",
              file=sys.stderr)
        return 2
    try:
        desk = sync.open_desk(ident.desk_url)
        report = sync.sync_once(db, desk, ident)
        desk.close()
    except sync.SyncError as refused:
        print(f"kiosk: {_sync_problem(refused.key)}", file=sys.stderr)
        return 1
    except (peewee.PeeweeException, DatabaseMissing) as error:
        log.warning("sync failed: %s", error)
        print(f"kiosk: the desk cannot be reached: {mask(str(error)).strip()}\n"
              f"Nothing is lost: {_waiting(db)} records wait here for the next sync.",
              file=sys.stderr)
        return 1
    print(f"Synced with {_redact(ident.desk_url)}: {report.pushed} sent, {report.pulled} "
          f"received, {report.waiting} waiting, in {report.seconds:.2f} s")
    return 0


def _waiting(db: object) -> int:
    from kiosk.data import sync
    from kiosk.data.db import database

    with database.using(db), db.connection_context():  # type: ignore[attr-defined]
        return sync.pending_count()


DEMO_HELP_TEMPLATE = """\
The demo library: a primary school with classes, teachers, helpers, a librarian and a
couple of thousand books, some on loan, some overdue. It is built once (in {path})
and the kiosk starts on it.

The librarian's demo card is in the exported codes (role "librarian"); its PIN is {pin}.
Scan or type that card's code, then the PIN, to reach the librarian screen and leave
kiosk mode.
"""


def cmd_demo(args: argparse.Namespace, config: Config) -> int:
    """``kiosk demo``: build the demo library once, then run the kiosk on it."""
    from kiosk.data.demo import build_demo, demo_path, export_codes, sim_script

    path = Path(args.db) if args.db else demo_path()
    if args.rebuild and path.exists():
        path.unlink()
    url = "sqlite:///" + str(path.resolve())
    db = build_demo(url)
    if args.export_codes:
        with db.connection_context():
            count = export_codes(db, Path(args.export_codes))
        print(f"Wrote {count} codes to {args.export_codes}")
        return 0
    config = config.with_overrides(kiosk_id="demo-kiosk")
    if args.no_lock:
        config = config.with_overrides(kiosk_mode=False)
    if args.language:
        config = config.with_overrides(language=args.language)
    if args.camera:
        config = config.with_overrides(camera=args.camera)
    with db.connection_context():
        codes = sim_script(db)
    db.close()
    return _run_app(config, url, sim_codes=codes)


def cmd_decode_bench(args: argparse.Namespace, config: Config) -> int:
    """``kiosk decode-bench DIR``: the decoder's read rate and speed on a folder of photos."""
    from kiosk.devices.decode_bench import run
    from kiosk.terminal import c_stderr_to

    folder = Path(args.folder)
    if not folder.is_dir():
        print(f"kiosk: {folder} is not a folder", file=sys.stderr)
        return 2
    with c_stderr_to(config.log_path) as terminal:  # libzbar's warnings go to the log
        sys.stdout.flush()
        run(folder, out=sys.stdout)
        terminal.flush()
    return 0


def build_parser() -> argparse.ArgumentParser:
    """The command line's parser."""
    from kiosk.data.demo import DEMO_PIN, demo_path

    parser = argparse.ArgumentParser(
        prog="kiosk", description="Library Kiosk: self-service borrowing for school libraries."
    )
    parser.add_argument("--version", action="version", version=f"%(prog)s {__version__}")
    parser.add_argument("--config", help="settings file (default: $KIOSK_CONFIG or the "
                        f"platform's config dir: {default_config_path()})")
    sub = parser.add_subparsers(dest="command", metavar="COMMAND")

    run = sub.add_parser("run", help="start the kiosk on the configured database")
    run.add_argument("--no-lock", action="store_true", help="allow ctrl+q to quit (testing)")
    run.add_argument("--camera", metavar="DEVICE",
                     help='webcam index or path, "sim" or "off" (default: from the settings)')
    run.set_defaults(func=cmd_run)

    init = sub.add_parser("init", help="create a new, empty library database")
    init.add_argument("--db", help="database file or URL (default: from the settings)")
    init.add_argument("--library-name", default="School Library")
    init.add_argument("--librarian-number", default="L0001")
    init.add_argument("--librarian-name", default="Librarian")
    init.add_argument("--pin", help="the librarian's PIN (asked when not given)")
    init.set_defaults(func=cmd_init)

    demo = sub.add_parser(
        "demo",
        help="build a demo library (once) and start the kiosk on it",
        description=DEMO_HELP_TEMPLATE.format(path=demo_path(), pin=DEMO_PIN),
        formatter_class=argparse.RawDescriptionHelpFormatter,
    )
    demo.add_argument("--export-codes", metavar="FILE",
                      help="write the demo's card codes and copy barcodes to a CSV file "
                      "(role,name,code) and exit")
    demo.add_argument("--db", help="where to keep the demo database")
    demo.add_argument("--rebuild", action="store_true", help="build the demo library afresh")
    demo.add_argument("--no-lock", action="store_true", help="allow ctrl+q to quit")
    demo.add_argument("--language", choices=["zh_CN", "en"], help="the starting language")
    demo.add_argument("--camera", metavar="DEVICE",
                      help='webcam index or path, "off", or "sim": a simulated camera that '
                      "shows demo cards and books, so the demo can be watched scanning")
    demo.set_defaults(func=cmd_demo)

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

    bench = sub.add_parser(
        "decode-bench",
        help="read every photo under DIR (image + .txt with the expected text) and print "
        "the decoder's read rate, false reads and milliseconds per image",
    )
    bench.add_argument("folder", metavar="DIR")
    bench.set_defaults(func=cmd_decode_bench)

    from kiosk.print_cli import add_commands as add_print_commands  # cards, labels, report

    add_print_commands(sub)

    from kiosk.import_cli import add_commands as add_import_commands  # import patrons|catalogue

    add_import_commands(sub)

    from kiosk.sip2.cli import add_commands as add_sip2_commands  # sip2 serve|terminal

    add_sip2_commands(sub)
    return parser


def main(argv: list[str] | None = None) -> int:
    """Parse the command line and run the command; return the exit status."""
    parser = build_parser()
    args = parser.parse_args(argv)
    if not getattr(args, "func", None):
        parser.print_help()
        return 0
    try:
        config = load_config(args.config, missing_ok=args.command == "init")
    except ConfigError as error:
        print(f"kiosk: {error}", file=sys.stderr)
        return 2
    _setup_logging(config)
    try:
        return int(args.func(args, config))
    except Exception:
        log.exception("kiosk %s failed", args.command)
        print(f"kiosk: {args.command} failed; details are in {config.log_path}", file=sys.stderr)
        return 1
