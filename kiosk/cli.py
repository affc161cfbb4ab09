"""The ``kiosk`` command: run the kiosk, try the demo, set up a new library.

Messages here go to the terminal only before or after the full-screen app runs;
while it runs, everything goes to the log file.
"""

from __future__ import annotations

import argparse
import logging
import os
import sys
from pathlib import Path
from typing import TYPE_CHECKING

from kiosk import __version__
from kiosk.config import Config, ConfigError, default_config_path, load_config
from kiosk.locale import t

if TYPE_CHECKING:
    from kiosk.data.core.library import AlreadyALibrary

log = logging.getLogger("kiosk")


def _setup_logging(config: Config) -> None:
    from kiosk.system import logs

    logs.configure(config.log_path)


def _use_language(config: Config) -> None:
    """Speak one language in every command's messages: the configured one, else the
    system's (:func:`kiosk.config.command_language`)."""
    from kiosk.config import command_language
    from kiosk.locale import set_language

    set_language(command_language(config))


def _run_app(config: Config, db_url: str, sim_codes: list[str] | None = None) -> int:
    """Open the library at ``db_url`` and run the kiosk until the librarian leaves.

    ``sim_codes`` are what the simulated camera shows, when the camera is ``sim``.
    """
    from kiosk.app import KioskApp
    from kiosk.data import sync
    from kiosk.data.core.library import open_library
    from kiosk.data.core.store import Store
    from kiosk.data.lending.circulation import Circulation
    from kiosk.data.sync.worker import SyncWorker
    from kiosk.devices.setup import camera_builder
    from kiosk.system.terminal import c_stderr_to

    db = open_library(db_url)
    ident = sync.identity(db)  # a kiosk that joined a desk is known there by its own id
    kiosk_id = ident.kiosk if ident else config.kiosk_id
    circulation = Circulation(Store(db, kiosk_id), allow_plain_cards=config.allow_plain_cards)
    worker = (
        SyncWorker(circulation.store.db, ident, interval=config.sync_interval,
                   settings_changed=circulation.reload,
                   timeouts=config.desk_timeouts)
        if ident else None
    )
    if config.kiosk_mode:
        # Textual turns the terminal's signal keys off unless this is set.
        os.environ.pop("TEXTUAL_ALLOW_SIGNALS", None)
    log.info("kiosk %s starting on %s", kiosk_id, _redact(db_url))
    warn_exposed()  # before the app takes the screen (and visible again when it leaves)
    with c_stderr_to(config.log_path):
        camera = camera_builder(config.camera, sim_codes=sim_codes)
        KioskApp(circulation, config, camera=camera, sync=worker).run()
    log.info("kiosk stopped")
    return 0


def _redact(url: str) -> str:
    from kiosk.data.core.db import redact

    return redact(url)


def cmd_run(args: argparse.Namespace, config: Config) -> int:
    """``kiosk run``: the kiosk on the configured database."""
    from kiosk.data.core.db import DatabaseMissing

    if args.no_lock:
        config = config.with_overrides(kiosk_mode=False)
    if args.camera:
        config = config.with_overrides(camera=args.camera)
    try:
        return _run_app(config, config.database_url)
    except DatabaseMissing as missing:
        where = config.source or default_config_path()
        print(f"kiosk: {t('cli.no_database', path=missing.path, config=where)}",
              file=sys.stderr)
        return 2


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
    from kiosk.config import demo_path
    from kiosk.data.demo import build_demo, export_codes, sim_script

    path = Path(args.db) if args.db else demo_path()
    if args.rebuild and path.exists():
        path.unlink()
    url = "sqlite:///" + str(path.resolve())
    db = build_demo(url)
    if args.export_codes:
        with db.connection_context():
            count = export_codes(db, Path(args.export_codes))
        print(t("cli.codes_written", count=count, path=args.export_codes))
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
    """``kiosk decode-bench DIR``: the decoder's read rate and speed on a folder of photos.

    ``--generated SPLIT``: on generated photos instead (``--count`` of them).
    """
    from kiosk.devices.decode_bench import generated_samples, run, run_samples
    from kiosk.system.terminal import c_stderr_to

    if args.generated is None and args.folder is None:
        print(f"kiosk: {t('cli.bench_needs')}", file=sys.stderr)
        return 2
    folder = Path(args.folder) if args.folder is not None else None
    if folder is not None and not folder.is_dir():
        print(f"kiosk: {t('cli.not_a_folder', path=folder)}", file=sys.stderr)
        return 2
    with c_stderr_to(config.log_path) as terminal:  # libzbar's warnings go to the log
        sys.stdout.flush()
        if folder is not None:
            run(folder, out=sys.stdout, verbose=args.verbose)
        else:
            samples = generated_samples(args.generated, args.count)
            run_samples(samples, out=sys.stdout, verbose=args.verbose)
        terminal.flush()
    return 0


def build_parser() -> argparse.ArgumentParser:
    """The command line's parser."""
    from kiosk.config import demo_path
    from kiosk.data.demo import DEMO_PIN

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
                     help='webcam index or path, a stream URL (a phone: http://...:8080/video), '
                     '"sim" or "off" (default: from the settings)')
    run.set_defaults(func=cmd_run)

    from kiosk.commands import init_library  # init

    init_library.add_arguments(sub.add_parser("init", help="create a new, empty library database"))

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

    from kiosk.commands.desk import add_commands as add_desk_commands  # desk, join, sync

    add_desk_commands(sub)

    bench = sub.add_parser(
        "decode-bench",
        help="read every photo under DIR (image + .txt with the expected text) and print "
        "the decoder's read rate, false reads and milliseconds per image",
    )
    bench.add_argument("folder", metavar="DIR", nargs="?")
    bench.add_argument("--generated", choices=("tune", "held-out"), metavar="SPLIT",
                       help="hard photos made on the fly instead: the tune or the held-out split")
    bench.add_argument("--count", type=int, default=400,
                       help="how many generated photos (default 400)")
    bench.add_argument("--verbose", "-v", action="store_true",
                       help="list every miss and false read under its row")
    bench.set_defaults(func=cmd_decode_bench)

    from kiosk.commands.printing import add_commands as add_print_commands  # cards, labels, report

    add_print_commands(sub)

    from kiosk.commands.imports import (
        add_commands as add_import_commands,  # import patrons|catalogue
    )

    add_import_commands(sub)

    from kiosk.commands.sip2 import add_commands as add_sip2_commands  # sip2 serve|terminal

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
        for line in error.in_every_language():  # the broken file cannot say which
            print(f"kiosk: {line}", file=sys.stderr)
        return 2
    _setup_logging(config)
    _use_language(config)
    from kiosk.data.core.db import DatabaseMissing, NotALibrary
    from kiosk.data.core.library import AlreadyALibrary

    try:
        return int(args.func(args, config))
    except DatabaseMissing as missing:
        log.warning("kiosk %s refused: %s", args.command, missing)
        where = config.source or default_config_path()
        print(f"kiosk: {t('cli.no_database', path=missing.path, config=where)}",
              file=sys.stderr)
        return 2
    except NotALibrary as refused:
        log.warning("kiosk %s refused: %s", args.command, refused)
        print(f"kiosk: {t(f'storage.not_library.{refused.reason}', where=refused.where)}",
              file=sys.stderr)
        return 2
    except AlreadyALibrary as refused:
        log.warning("kiosk %s refused: %s", args.command, refused)
        print(f"kiosk: {already_a_library(refused)}", file=sys.stderr)
        return 1
    except Exception:
        log.exception("kiosk %s failed", args.command)
        print(f"kiosk: {t('cli.failed', command=args.command, log=config.log_path)}",
              file=sys.stderr)
        return 1
    finally:
        warn_exposed()


def already_a_library(refused: AlreadyALibrary) -> str:
    """What to do instead of making a library where there is one, in words."""
    if refused.role == "desk":
        return t("storage.already_desk", where=refused.where, name=refused.name,
                 librarian=refused.librarian or "L0001")
    if refused.role == "kiosk":
        return t("storage.already_kiosk", where=refused.where)
    return t("storage.already_library", where=refused.where, name=refused.name)


def warn_exposed() -> None:
    """Warn (on the terminal, outside the full-screen app) about every library database
    opened so far that other users of this computer can read."""
    from kiosk.data.core.db import take_exposed

    for path, files in take_exposed().items():
        names = " ".join(str(file) for file in files)
        print(f"kiosk: {t('storage.exposed', path=path, files=names)}", file=sys.stderr)
