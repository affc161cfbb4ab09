"""``kiosk init``: make a new library database and its first librarian, by asking.

At a terminal it asks what it was not told: the library's name, the librarian's name
and the PIN (twice, hidden, again after a PIN that is not 4 to 12 digits or does not
match), each in the configured language, so a Chinese kiosk never gets a librarian
called "Librarian". Without a terminal (a script), it takes the options and the
defaults of that language. It ends by saying how to print the librarian's card.
"""

from __future__ import annotations

import argparse
import getpass
import shlex
import sys
from collections.abc import Callable
from pathlib import Path

from kiosk.config import Config, default_config_path, write_config
from kiosk.locale import language, t

PIN_TRIES = 5
"""How many times the PIN is asked before ``kiosk init`` gives up (nothing is made)."""


class Cancelled(Exception):
    """The person at the terminal gave up (ctrl+c, ctrl+d, or too many bad PINs)."""


def valid_pin(pin: str) -> bool:
    """Whether ``pin`` is 4 to 12 digits."""
    return pin.isdigit() and 4 <= len(pin) <= 12


def ask_text(question: str, default: str, ask: Callable[[str], str] = input) -> str:
    """Ask ``question``; an empty answer takes ``default`` (shown in brackets)."""
    answer = ask(f"{question} [{default}]: ").strip()
    return answer or default


def ask_pin(secret: Callable[[str], str] = getpass.getpass) -> str:
    """Ask the PIN twice, hidden, until it is valid and the same both times."""
    for _ in range(PIN_TRIES):
        pin = secret(t("init.ask_pin") + " ").strip()
        if not valid_pin(pin):
            print(t("init.bad_pin"), file=sys.stderr)
            continue
        if secret(t("init.ask_pin_again") + " ").strip() != pin:
            print(t("init.pin_mismatch"), file=sys.stderr)
            continue
        return pin
    raise Cancelled(t("init.too_many_tries"))


def card_command(args: argparse.Namespace, number: str) -> str:
    """The command that prints the librarian's card, with the options ``init`` was given."""
    words = ["kiosk"]
    if args.config:
        words += ["--config", args.config]
    words += ["cards", "--patron", number, "-o", "librarian-card.pdf"]
    if args.db:
        words += ["--db", args.db]
    return shlex.join(words)


def cmd_init(args: argparse.Namespace, config: Config) -> int:
    """``kiosk init``: create an empty library database and a librarian who can sign in."""
    from kiosk.data.core import settings
    from kiosk.data.core.db import redact
    from kiosk.data.core.library import issue_card, open_library, refuse_existing, set_pin
    from kiosk.data.core.models import Patron

    if args.db:
        config = config.with_overrides(database=args.db)
    url = config.database_url
    refuse_existing(url)  # before anything is asked: a library is never made twice
    at_terminal = sys.stdin.isatty()
    try:
        library_name = args.library_name or (
            ask_text(t("init.ask_library"), t("init.default_library")) if at_terminal
            else t("init.default_library")
        )
        librarian = args.librarian_name or (
            ask_text(t("init.ask_librarian"), t("init.default_librarian")) if at_terminal
            else t("init.default_librarian")
        )
        if args.pin is not None:
            pin = args.pin
            if not valid_pin(pin):
                print(f"kiosk: {t('cli.pin_bad')}", file=sys.stderr)  # (as desk init says it)
                return 2
        else:
            pin = ask_pin()
    except (Cancelled, EOFError, KeyboardInterrupt) as stop:
        print(f"\nkiosk: {stop or t('init.cancelled')}", file=sys.stderr)
        return 2
    db = open_library(url, new=True)
    with db.connection_context(), db.atomic():
        settings.put("library_name", library_name)
        Patron.create(number=args.librarian_number, name=librarian, kind="librarian")
        set_pin(args.librarian_number, pin)
        code = issue_card(args.librarian_number)
    config_path = Path(args.config) if args.config else default_config_path()
    if not config_path.exists():
        # the kiosk's screens start in the language this command spoke
        write_config(config_path, config.with_overrides(language=language()))
        print(t("init.settings_written", path=config_path))
    print(t("init.created", where=redact(url), library=library_name))
    print(t("init.card_code", name=librarian, number=args.librarian_number, code=code))
    print(t("init.print_card", command=card_command(args, args.librarian_number)))
    print(t("init.start"))
    return 0


def add_arguments(init: argparse.ArgumentParser) -> None:
    """The options of ``kiosk init``."""
    init.add_argument("--db", help="database file or URL (default: from the settings)")
    init.add_argument("--library-name", help="the library's name (asked when not given)")
    init.add_argument("--librarian-number", default="L0001")
    init.add_argument("--librarian-name", help="the librarian's name (asked when not given)")
    init.add_argument("--pin", help="the librarian's PIN, 4 to 12 digits (asked when not given)")
    init.set_defaults(func=cmd_init)
