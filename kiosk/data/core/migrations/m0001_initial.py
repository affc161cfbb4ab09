"""The first schema: a frozen copy of the models of version 0.1 (do not edit)."""

from __future__ import annotations

import peewee as pw

PATRON_KINDS = ("student", "teacher", "helper", "librarian")
ITEM_KINDS = ("book", "picture_book", "periodical", "reference")
COPY_STATUSES = ("available", "on_loan", "hold_shelf", "repair", "lost", "withdrawn")
HOLD_STATUSES = ("waiting", "ready", "fulfilled", "cancelled")


def up(db: pw.Database) -> None:
    """Create every table of the first schema."""

    class BaseModel(pw.Model):

        class Meta:
            database = db
            legacy_table_names = False


    class SchoolClass(BaseModel):

        name = pw.CharField(unique=True)
        grade = pw.IntegerField(null=True)
        active = pw.BooleanField(default=True)


    class Patron(BaseModel):

        number = pw.CharField(unique=True)
        name = pw.CharField()
        kind = pw.CharField(default="student", choices=[(k, k) for k in PATRON_KINDS])
        school_class = pw.ForeignKeyField(SchoolClass, null=True, backref="patrons")
        active = pw.BooleanField(default=True)
        blocked_reason = pw.CharField(null=True)
        pin_hash = pw.CharField(null=True)


    class ClassTeacher(BaseModel):

        teacher = pw.ForeignKeyField(Patron, backref="teaching", on_delete="CASCADE")
        school_class = pw.ForeignKeyField(SchoolClass, backref="teachers", on_delete="CASCADE")

        class Meta:
            indexes = ((("teacher", "school_class"), True),)


    class Card(BaseModel):

        patron = pw.ForeignKeyField(Patron, backref="cards", on_delete="CASCADE")
        serial = pw.IntegerField()
        issued_at = pw.DateTimeField()
        revoked_at = pw.DateTimeField(null=True)
        expires_on = pw.DateField(null=True)

        class Meta:
            indexes = ((("patron", "serial"), True),)


    class Title(BaseModel):

        isbn = pw.CharField(null=True, index=True)
        title = pw.CharField()
        author = pw.CharField(default="")
        publisher = pw.CharField(default="")
        year = pw.IntegerField(null=True)
        classification = pw.CharField(default="")
        kind = pw.CharField(default="book", choices=[(k, k) for k in ITEM_KINDS])
        issue_date = pw.DateField(null=True)


    class Copy(BaseModel):

        barcode = pw.CharField(unique=True)
        title = pw.ForeignKeyField(Title, backref="copies")
        shelf = pw.CharField(default="")
        status = pw.CharField(default="available", choices=[(s, s) for s in COPY_STATUSES])
        reference_only = pw.BooleanField(default=False)


    class Loan(BaseModel):

        id = pw.CharField(primary_key=True, max_length=36)
        copy = pw.ForeignKeyField(Copy, backref="loans")
        patron = pw.ForeignKeyField(Patron, backref="loans")
        out_at = pw.DateTimeField()
        due_on = pw.DateField()
        returned_at = pw.DateTimeField(null=True)
        renewals = pw.IntegerField(default=0)
        kiosk = pw.CharField(default="")

        class Meta:
            indexes = ((("patron", "returned_at"), False),)


    class Hold(BaseModel):

        id = pw.CharField(primary_key=True, max_length=36)
        title = pw.ForeignKeyField(Title, backref="holds")
        patron = pw.ForeignKeyField(Patron, backref="holds")
        copy = pw.ForeignKeyField(Copy, null=True, backref="holds")
        placed_at = pw.DateTimeField()
        status = pw.CharField(default="waiting", choices=[(s, s) for s in HOLD_STATUSES])
        ready_at = pw.DateTimeField(null=True)

        class Meta:
            indexes = ((("title", "status"), False),)


    class LoanRule(BaseModel):

        patron_kind = pw.CharField()
        item_kind = pw.CharField(default="*")
        loan_days = pw.IntegerField()
        max_items = pw.IntegerField()
        max_renewals = pw.IntegerField(default=1)

        class Meta:
            indexes = ((("patron_kind", "item_kind"), True),)


    class ClosedDay(BaseModel):

        day = pw.DateField(unique=True)
        reason = pw.CharField(default="")


    class Setting(BaseModel):

        key = pw.CharField(primary_key=True)
        value = pw.TextField()


    class Journal(BaseModel):

        seq = pw.AutoField()
        uuid = pw.CharField(unique=True, max_length=36)
        kind = pw.CharField(index=True)
        kiosk = pw.CharField()
        wall_time = pw.DateTimeField(index=True)
        hlc = pw.CharField(index=True)
        patron = pw.CharField(null=True, index=True)
        copy = pw.CharField(null=True, index=True)
        data = pw.TextField(default="{}")
        pushed_at = pw.DateTimeField(null=True)

    Loan.add_index(
        Loan.index(Loan.copy, unique=True, name="loan_one_open_per_copy").where(
            Loan.returned_at.is_null()
        )
    )
    db.create_tables(
        [SchoolClass, Patron, ClassTeacher, Card, Title, Copy, Loan, Hold, LoanRule,
         ClosedDay, Setting, Journal]
    )
