"""SIP2 terminals: the self-service machines (self-check units, gates, book drops) the
desk answers as a SIP2 server (``kiosk sip2``, docs/sip2.md).

A frozen copy of the table as it was when this migration was written (do not edit; a
later change to it needs a migration of its own).
"""

from __future__ import annotations

import peewee as pw


def up(db: pw.Database) -> None:
    """Create ``sip2_terminal``."""

    class Sip2Terminal(pw.Model):
        name = pw.CharField(primary_key=True)
        password_hash = pw.CharField()
        location = pw.CharField(default="")
        encoding = pw.CharField(default="utf-8")
        language = pw.CharField(default="")
        created_at = pw.DateTimeField()
        last_login_at = pw.DateTimeField(null=True)

        class Meta:
            database = db
            legacy_table_names = False

    db.create_tables([Sip2Terminal])
