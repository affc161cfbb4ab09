"""Reservations placed, cancelled and expired (issue 15, point 2): what a hold needs to
know beyond its title, patron and copy.

``hold.needed_on`` (the day a teacher needs a class set for), ``hold.class_set`` (the
class set a hold belongs to, indexed: a class set is cancelled as one), ``hold.placed_by``
(the librarian who placed it for the patron) and ``hold.ended_at`` (when it was
fulfilled, cancelled or expired). Holds made before keep nulls: a hold for no date, in
no class set, placed by the patron, ended at an unknown time.
"""

from __future__ import annotations

import peewee as pw
from playhouse.migrate import PostgresqlMigrator, SqliteMigrator, migrate


def up(db: pw.Database) -> None:
    """Add the four columns and the class set's index."""
    migrator = (
        PostgresqlMigrator(db) if isinstance(db, pw.PostgresqlDatabase) else SqliteMigrator(db)
    )
    migrate(
        migrator.add_column("hold", "needed_on", pw.DateField(null=True)),
        migrator.add_column("hold", "class_set", pw.CharField(null=True, max_length=36)),
        migrator.add_column("hold", "placed_by", pw.CharField(null=True)),
        migrator.add_column("hold", "ended_at", pw.DateTimeField(null=True)),
        migrator.add_index("hold", ("class_set",), unique=False),
    )
