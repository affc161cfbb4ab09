"""The ``kiosk sip2`` commands: serve the desk to SIP2 terminals, and say which may sign in.

``kiosk sip2 serve`` runs until stopped (ctrl+c, or SIGTERM from systemd), logging to
the log file; ``kiosk sip2 terminal add|list|remove`` manage the terminals. The
database is ``--db``, else ``$KIOSK_DESK_URL``, else the configured one (as for
``kiosk desk``). Messages are in the configured language (:func:`kiosk.locale.t`).
"""

from __future__ import annotations

import argparse
import asyncio
import logging
import os
import secrets
import signal
import ssl
import sys
from pathlib import Path
from typing import Any

from kiosk.config import Config, command_language
from kiosk.locale import LANGUAGES, set_language, t

log = logging.getLogger(__name__)


def _url(args: argparse.Namespace, config: Config) -> str:
    return str(args.db or os.environ.get("KIOSK_DESK_URL") or config.database_url)


def _speak(config: Config) -> None:
    set_language(command_language(config))


def _open(args: argparse.Namespace, config: Config) -> Any:
    """The library (:class:`~kiosk.sip2.adapter.Library`), or ``None`` after saying why not."""
    from kiosk.sip2.adapter import Library, TerminalError

    try:
        return Library.open(_url(args, config), allow_plain_cards=config.allow_plain_cards)
    except TerminalError as refused:
        print(f"kiosk: {t(refused.key, **refused.params)}", file=sys.stderr)
    return None


def cmd_serve(args: argparse.Namespace, config: Config) -> int:
    """``kiosk sip2 serve``: answer SIP2 terminals until stopped."""
    from kiosk.sip2.adapter import redact
    from kiosk.sip2.server import Limits, Sip2Server, tls_context

    _speak(config)
    if bool(args.tls_cert) != bool(args.tls_key):
        print(f"kiosk: {t('sip2.cli.tls_both')}", file=sys.stderr)
        return 2
    tls = None
    if args.tls_cert:
        try:
            tls = tls_context(Path(args.tls_cert), Path(args.tls_key))
        except (OSError, ssl.SSLError) as error:
            print(f"kiosk: {t('sip2.cli.tls_problem', reason=error)}", file=sys.stderr)
            return 2
    library = _open(args, config)
    if library is None:
        return 2
    limits = Limits(workers=args.workers, idle_timeout=args.idle_timeout)
    server = Sip2Server(library, host=args.host, port=args.port, language=config.language,
                        tls=tls, limits=limits)

    async def run() -> int:
        try:
            port = await server.start()
        except OSError as error:
            print(f"kiosk: {t('sip2.cli.port_busy', host=args.host, port=args.port, reason=error)}",
                  file=sys.stderr)
            return 2
        print(t("sip2.cli.serving", host=args.host, port=port, tls=" (TLS)" if tls else "",
                url=redact(_url(args, config))), flush=True)
        loop = asyncio.get_running_loop()
        stopping = asyncio.Event()
        for sig in (signal.SIGTERM, signal.SIGINT):
            loop.add_signal_handler(sig, stopping.set)
        serving = asyncio.create_task(server.serve_forever())
        await stopping.wait()
        log.info("sip2 server stopping")
        serving.cancel()
        await asyncio.gather(serving, return_exceptions=True)
        await server.stop()
        return 0

    status = asyncio.run(run())
    library.close()
    log.info("sip2 server stopped")
    return status


def cmd_terminal_add(args: argparse.Namespace, config: Config) -> int:
    """``kiosk sip2 terminal add NAME``: let a terminal sign in (a password is made when
    none is given, and shown once)."""
    from kiosk.sip2.adapter import TerminalError, add_terminal

    _speak(config)
    library = _open(args, config)
    if library is None:
        return 2
    password = args.password or secrets.token_urlsafe(12)
    try:
        add_terminal(library.db, args.name, password, location=args.location,
                     encoding=args.encoding, language=args.language or "")
    except TerminalError as refused:
        print(f"kiosk: {t(refused.key, **refused.params)}", file=sys.stderr)
        return 1
    finally:
        library.close()
    if args.password:
        print(t("sip2.cli.added_own", name=args.name))
    else:
        print(t("sip2.cli.added", name=args.name, password=password))
    return 0


def cmd_terminal_list(args: argparse.Namespace, config: Config) -> int:
    """``kiosk sip2 terminal list``: every terminal, where it stands, when it last signed in."""
    from kiosk.sip2.adapter import terminals

    _speak(config)
    library = _open(args, config)
    if library is None:
        return 2
    try:
        rows = terminals(library.db)
    finally:
        library.close()
    if not rows:
        print(t("sip2.cli.none"))
        return 0
    print(t("sip2.cli.heading"))
    for row in rows:
        last = row.last_login_at.strftime("%Y-%m-%d %H:%M") if row.last_login_at else t(
            "sip2.cli.never"
        )
        print(" · ".join((row.name, row.location or "-", row.encoding, row.language or "-", last)))
    return 0


def cmd_terminal_remove(args: argparse.Namespace, config: Config) -> int:
    """``kiosk sip2 terminal remove NAME``: the terminal can no longer sign in."""
    from kiosk.sip2.adapter import TerminalError, remove_terminal

    _speak(config)
    library = _open(args, config)
    if library is None:
        return 2
    try:
        remove_terminal(library.db, args.name)
    except TerminalError as refused:
        print(f"kiosk: {t(refused.key, **refused.params)}", file=sys.stderr)
        return 1
    finally:
        library.close()
    print(t("sip2.cli.removed", name=args.name))
    return 0


def add_commands(sub: Any) -> None:
    """Add ``sip2 serve`` and ``sip2 terminal add|list|remove`` to the ``kiosk`` parser."""
    from kiosk.sip2.server import DEFAULT_PORT

    command = sub.add_parser("sip2", help="the desk as a SIP2 server for self-service machines")
    commands = command.add_subparsers(dest="sip2_command", metavar="COMMAND", required=True)

    def database(parser: argparse.ArgumentParser) -> None:
        parser.add_argument("--db", metavar="URL", help="the desk's database (default: "
                            "$KIOSK_DESK_URL, else the configured database)")

    serve = commands.add_parser("serve", help="answer SIP2 terminals until stopped")
    database(serve)
    serve.add_argument("--host", default="0.0.0.0", help="address to listen on (default: all)")
    serve.add_argument("--port", type=int, default=DEFAULT_PORT,
                       help=f"TCP port (default: {DEFAULT_PORT})")
    serve.add_argument("--tls-cert", metavar="PEM", help="TLS certificate chain (with --tls-key)")
    serve.add_argument("--tls-key", metavar="PEM", help="TLS private key")
    serve.add_argument("--workers", type=int, default=2,
                       help="database connections working at once (default: 2)")
    serve.add_argument("--idle-timeout", type=float, default=600.0, metavar="SECONDS",
                       help="close a terminal's connection after this long without a "
                       "message (default: 600)")
    serve.set_defaults(func=cmd_serve)

    terminal = commands.add_parser("terminal", help="the terminals allowed to sign in")
    what = terminal.add_subparsers(dest="terminal_command", metavar="WHAT", required=True)
    add = what.add_parser("add", help="allow a terminal to sign in")
    add.add_argument("name", help="its login name (SIP2 CN), also the name its loans carry")
    add.add_argument("--password", help="its password (SIP2 CO; made and shown when not given)")
    add.add_argument("--location", default="", metavar="CODE", help="where it stands")
    add.add_argument("--encoding", default="utf-8", choices=["utf-8", "gb18030"],
                     help="how its text travels (gb18030 for older units; default: utf-8)")
    add.add_argument("--language", choices=list(LANGUAGES),
                     help="its screen messages' language (default: the library's)")
    database(add)
    add.set_defaults(func=cmd_terminal_add)
    listing = what.add_parser("list", help="every terminal")
    database(listing)
    listing.set_defaults(func=cmd_terminal_list)
    remove = what.add_parser("remove", help="stop a terminal from signing in")
    remove.add_argument("name")
    database(remove)
    remove.set_defaults(func=cmd_terminal_remove)
