"""Numbered schema migrations, applied in order at start-up and recorded in a table.

Each migration is a module ``mNNNN_name.py`` with a function ``up(db)``. Migration
0001 creates the first schema from a frozen copy of the models as they were then, so
that later changes to :mod:`kiosk.data.core.models` never change what it creates; every
later change to the models comes with a migration of its own (checked by a test
that compares the migrated schema with the models).
"""

from __future__ import annotations

import importlib
import logging
import pkgutil
from datetime import UTC, datetime
from types import ModuleType

import peewee as pw

log = logging.getLogger(__name__)


class SchemaMigration(pw.Model):
    """One applied migration."""

    version = pw.IntegerField(primary_key=True)
    name = pw.CharField()
    applied_at = pw.DateTimeField()

    class Meta:
        table_name = "schema_migrations"


def available() -> list[tuple[int, str, ModuleType]]:
    """Every migration shipped with this version, in order."""
    found = []
    for info in pkgutil.iter_modules(__path__):
        if info.name.startswith("m") and info.name[1:5].isdigit():
            module = importlib.import_module(f"{__name__}.{info.name}")
            found.append((int(info.name[1:5]), info.name, module))
    return sorted(found, key=lambda item: item[0])


def applied_versions(db: pw.Database) -> set[int]:
    """The versions already applied to ``db``."""
    with SchemaMigration.bind_ctx(db):
        if not SchemaMigration.table_exists():
            return set()
        return {row.version for row in SchemaMigration.select(SchemaMigration.version)}


def pending(db: pw.Database) -> list[str]:
    """Names of the migrations not yet applied to ``db``."""
    done = applied_versions(db)
    return [name for version, name, _ in available() if version not in done]


def migrate(db: pw.Database) -> list[str]:
    """Apply every pending migration, each in its own transaction; return their names.

    Raises:
        RuntimeError: the database was migrated by a newer version of the kiosk.
    """
    ran: list[str] = []
    with SchemaMigration.bind_ctx(db):
        db.create_tables([SchemaMigration], safe=True)
        done = applied_versions(db)
        known = {version for version, _, _ in available()}
        if done - known:
            raise RuntimeError(
                f"the database has schema version {max(done)}, newer than this kiosk "
                f"knows ({max(known)}); update the kiosk software"
            )
        for version, name, module in available():
            if version in done:
                continue
            with db.atomic():
                module.up(db)
                SchemaMigration.create(
                    version=version, name=name, applied_at=datetime.now(UTC)
                )
            log.info("applied migration %s", name)
            ran.append(name)
    return ran


def kind_of(db: pw.Database) -> str:
    """What ``db`` holds: ``library`` (it has this program's migrations table), ``empty``
    (no tables at all) or ``other`` (another program's tables)."""
    with SchemaMigration.bind_ctx(db):
        if SchemaMigration.table_exists():
            return "library"
    return "other" if db.get_tables() else "empty"
