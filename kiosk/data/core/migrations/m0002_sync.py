"""Sync with the desk: title keys, the journal's desk order and the sync's own tables."""

from __future__ import annotations

import peewee as pw
from playhouse.migrate import PostgresqlMigrator, SqliteMigrator, migrate


def up(db: pw.Database) -> None:
    """Add ``title.key``, ``journal.desk_seq``, the unpushed index and three tables."""
    migrator = (
        PostgresqlMigrator(db) if isinstance(db, pw.PostgresqlDatabase) else SqliteMigrator(db)
    )
    migrate(
        migrator.add_column("title", "key", pw.CharField(null=True)),
        migrator.add_column("journal", "desk_seq", pw.BigIntegerField(null=True)),
    )
    # Titles made before keys existed are named by their row id.
    db.execute_sql("UPDATE title SET key = 'T' || id WHERE key IS NULL")
    migrate(migrator.add_index("title", ("key",), unique=True))
    db.execute_sql(
        'CREATE INDEX "journal_unpushed" ON "journal" ("seq") WHERE ("pushed_at" IS NULL)'
    )

    class BaseModel(pw.Model):
        class Meta:
            database = db
            legacy_table_names = False

    class LocalState(BaseModel):
        key = pw.CharField(primary_key=True)
        value = pw.TextField()

    class KioskRegistration(BaseModel):
        kiosk = pw.CharField(primary_key=True)
        name = pw.CharField(default="")
        token_hash = pw.CharField()
        registered_at = pw.DateTimeField()
        last_seen_at = pw.DateTimeField(null=True)
        cursor = pw.BigIntegerField(default=0)
        facts_pushed = pw.BigIntegerField(default=0)

    class SyncCase(BaseModel):
        kind = pw.CharField(index=True)
        fact = pw.CharField(max_length=36)
        other = pw.CharField(null=True, max_length=36)
        kiosk = pw.CharField()
        patron = pw.CharField(null=True)
        copy = pw.CharField(null=True)
        created_at = pw.DateTimeField()
        data = pw.TextField(default="{}")
        resolved_by = pw.CharField(null=True)
        resolved_at = pw.DateTimeField(null=True)

        class Meta:
            indexes = ((("fact", "kind"), True),)

    db.create_tables([LocalState, KioskRegistration, SyncCase])
