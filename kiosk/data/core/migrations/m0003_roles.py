"""Roles: class visits with their roll call, helper shifts and shelf checks.

A frozen copy of the six tables as they were when this migration was written (do
not edit; a later change to them needs a migration of its own).
"""

from __future__ import annotations

import peewee as pw


def up(db: pw.Database) -> None:
    """Create ``class_visit``, ``visit_attendee``, ``helper_shift``, ``helper_return``,
    ``shelf_check`` and ``shelf_check_item``."""

    class BaseModel(pw.Model):
        class Meta:
            database = db
            legacy_table_names = False

    # The tables referred to, as far as a foreign key needs them (already created).
    class SchoolClass(BaseModel):
        pass

    class Patron(BaseModel):
        pass

    class Copy(BaseModel):
        pass

    class ClassVisit(BaseModel):
        id = pw.CharField(primary_key=True, max_length=36)
        school_class = pw.ForeignKeyField(SchoolClass, backref="visits")
        teacher = pw.ForeignKeyField(Patron, backref="class_visits")
        started_at = pw.DateTimeField(index=True)
        ended_at = pw.DateTimeField(null=True)
        headcount = pw.IntegerField(default=0)
        note = pw.TextField(default="")
        ended_by = pw.CharField(default="")
        kiosk = pw.CharField(default="")

    class VisitAttendee(BaseModel):
        visit = pw.ForeignKeyField(ClassVisit, backref="attendees", on_delete="CASCADE")
        patron = pw.ForeignKeyField(Patron, backref="visits_attended")
        scanned_at = pw.DateTimeField()
        other_class = pw.BooleanField(default=False)

        class Meta:
            indexes = ((("visit", "patron"), True),)

    class HelperShift(BaseModel):
        id = pw.CharField(primary_key=True, max_length=36)
        helper = pw.ForeignKeyField(Patron, backref="shifts")
        started_at = pw.DateTimeField(index=True)
        ended_at = pw.DateTimeField(null=True)
        books = pw.IntegerField(default=0)
        kiosk = pw.CharField(default="")

    class HelperReturn(BaseModel):
        fact = pw.CharField(primary_key=True, max_length=36)
        shift = pw.ForeignKeyField(HelperShift, backref="returns", on_delete="CASCADE")
        copy = pw.ForeignKeyField(Copy, backref="helper_returns")
        returned_at = pw.DateTimeField()

    class ShelfCheck(BaseModel):
        id = pw.CharField(primary_key=True, max_length=36)
        shelf = pw.CharField(index=True)
        helper = pw.ForeignKeyField(Patron, null=True, backref="shelf_checks")
        started_at = pw.DateTimeField()
        ended_at = pw.DateTimeField(null=True)
        kiosk = pw.CharField(default="")

    class ShelfCheckItem(BaseModel):
        check = pw.ForeignKeyField(ShelfCheck, backref="items", on_delete="CASCADE")
        copy = pw.ForeignKeyField(Copy, backref="shelf_checks")
        scanned_at = pw.DateTimeField()

        class Meta:
            indexes = ((("check", "copy"), True),)

    db.create_tables(
        [ClassVisit, VisitAttendee, HelperShift, HelperReturn, ShelfCheck, ShelfCheckItem]
    )
