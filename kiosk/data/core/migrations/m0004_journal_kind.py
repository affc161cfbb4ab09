"""The journal's index on ``kind`` becomes a partial index of reviewed cases.

Every fact a kiosk pulls from the desk is one journal row, and each of the journal's
indexes costs about 3% of a kiosk's catch-up (``bench/sync_instructions.py``). The only
reader of the ``kind`` index was the day log's list of reviewed cases (``case_reviewed``
facts, a handful a day); its other queries by kind also bound the wall time, which has
an index of its own. A partial index holds just those rows and costs the other facts
nothing.
"""

from __future__ import annotations

import peewee as pw


def up(db: pw.Database) -> None:
    """Drop ``journal_kind``; index the ``case_reviewed`` rows by ``seq``."""
    db.execute_sql('DROP INDEX IF EXISTS "journal_kind"')
    db.execute_sql(
        'CREATE INDEX "journal_case_reviewed" ON "journal" ("seq")'
        " WHERE (\"kind\" = 'case_reviewed')"
    )
