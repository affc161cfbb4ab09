"""Repair, loss and write-off; class book corners.

``copy_event`` keeps each step of a copy's life at the librarian's hands (the repair
log and the write-off list); ``class_corner`` a set of books lent to a class's reading
corner, and ``loan.corner`` the corner a loan belongs to. A frozen copy of the tables
as they were when this migration was written (do not edit).
"""

from __future__ import annotations

import peewee as pw
from playhouse.migrate import SchemaMigrator, migrate


def up(db: pw.Database) -> None:
    """Create ``class_corner`` and ``copy_event``; add ``loan.corner`` with its index."""

    class BaseModel(pw.Model):
        class Meta:
            database = db
            legacy_table_names = False

    class SchoolClass(BaseModel):
        pass

    class Patron(BaseModel):
        pass

    class Copy(BaseModel):
        pass

    class ClassCorner(BaseModel):
        id = pw.CharField(primary_key=True, max_length=36)
        school_class = pw.ForeignKeyField(SchoolClass, backref="corners")
        teacher = pw.ForeignKeyField(Patron, backref="corners")
        opened_at = pw.DateTimeField(index=True)
        due_on = pw.DateField()
        closed_at = pw.DateTimeField(null=True)
        closed_by = pw.CharField(default="")
        missing = pw.IntegerField(default=0)
        kiosk = pw.CharField(default="")

    class CopyEvent(BaseModel):
        fact = pw.CharField(primary_key=True, max_length=36)
        copy = pw.ForeignKeyField(Copy, backref="events")
        action = pw.CharField()
        status = pw.CharField()
        reason = pw.CharField(default="")
        settlement = pw.CharField(default="")
        patron = pw.ForeignKeyField(Patron, null=True, backref="copy_events")
        by = pw.CharField(default="")
        at = pw.DateTimeField(index=True)
        kiosk = pw.CharField(default="")

    db.create_tables([ClassCorner, CopyEvent])
    migrator = SchemaMigrator.from_database(db)
    migrate(
        migrator.add_column("loan", "corner", pw.CharField(null=True, max_length=36)),
        migrator.add_index("loan", ("corner",), False),
    )
