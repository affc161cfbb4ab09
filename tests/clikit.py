"""Running ``kiosk`` commands inside a test, on a test's own library."""

from __future__ import annotations

import peewee as pw

from kiosk.cli import main
from kiosk.data.core.db import database
from kiosk.data.core.models import Journal


def command(db: pw.Database, *args: str) -> int:
    """``kiosk ARGS`` in this process; the command binds the models to the database it
    opens (as it does in its own process), so they are bound back to ``db`` after."""
    try:
        return main(list(args))
    finally:
        database.initialize(db)


def journal_rows(db: pw.Database) -> int:
    """How many facts ``db`` holds (an import that changes nothing adds none)."""
    with database.session(db):
        return int(Journal.select().count())
