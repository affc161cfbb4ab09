"""Migrations: what they build must be exactly what the current models describe.

The schema made by ``migrate()`` on an empty database is compared, table by table,
with the schema ``create_tables`` makes from :data:`kiosk.data.core.models.MODELS`, on
SQLite and on PostgreSQL: a change to a model without a migration fails here.
"""

from __future__ import annotations

import os
import re
import shutil
import subprocess
import sys
import types
from pathlib import Path
from typing import Any

import peewee as pw
import pytest

from kiosk.data.core import migrations, settings
from kiosk.data.core.db import open_database
from kiosk.data.core.library import open_library
from kiosk.data.core.migrations import SchemaMigration
from kiosk.data.core.models import IS_CASE_REVIEWED, MODELS, Journal, Patron


def _where(sql: str | None) -> str:
    """The condition of a partial index, without quoting or spacing differences (nor
    the casts PostgreSQL writes into it: ``(kind)::text = 'x'::text``)."""
    if not sql or " where " not in sql.lower():
        return ""
    condition = re.split(r"\swhere\s", sql, maxsplit=1, flags=re.IGNORECASE)[1]
    condition = re.sub(r"::[a-z ]+", "", condition, flags=re.IGNORECASE)
    return re.sub(r"[\s\"'`()]", "", condition).lower()


def describe(db: pw.Database) -> dict[str, Any]:
    """Tables, columns, indexes and foreign keys of ``db`` (without the migrations table)."""
    schema: dict[str, Any] = {}
    for table in sorted(db.get_tables()):
        if table == SchemaMigration._meta.table_name:
            continue
        schema[table] = {
            "columns": sorted(
                (c.name, c.data_type.lower(), bool(c.null), bool(c.primary_key))
                for c in db.get_columns(table)
            ),
            "indexes": sorted(
                (i.name, tuple(i.columns), bool(i.unique), _where(i.sql))
                for i in db.get_indexes(table)
            ),
            "foreign_keys": sorted(
                (fk.column, fk.dest_table, fk.dest_column) for fk in db.get_foreign_keys(table)
            ),
        }
    return schema


def shape(schema: dict[str, Any]) -> dict[str, Any]:
    """The schema without column types, to compare two kinds of database."""
    return {
        table: {
            "columns": sorted((name, null, pk) for name, _, null, pk in parts["columns"]),
            "indexes": sorted(
                (columns, unique, where)
                for name, columns, unique, where in parts["indexes"]
                if not name.endswith("_pkey") and not name.startswith("sqlite_autoindex")
            ),
            "foreign_keys": parts["foreign_keys"],
        }
        for table, parts in schema.items()
    }


def model_schema(url: str) -> dict[str, Any]:
    """The schema the current models make on the empty database at ``url``."""
    db = open_database(url, create=True)
    with db.connection_context():
        db.create_tables(MODELS)
        return describe(db)


def migrated_schema(url: str) -> dict[str, Any]:
    """The schema ``open_library`` (every migration) makes on the empty database at ``url``."""
    db = open_library(url, create=True)
    with db.connection_context():
        return describe(db)


def sqlite_url(tmp_path: Path, name: str) -> str:
    return f"sqlite:///{tmp_path / name}"


# -- the migrated schema is the models' schema ----------------------------------------


def test_sqlite_migrations_build_the_models_schema(tmp_path):
    expected = model_schema(sqlite_url(tmp_path, "models.sqlite"))
    actual = migrated_schema(sqlite_url(tmp_path, "migrated.sqlite"))
    assert set(actual) == {model._meta.table_name for model in MODELS}
    assert actual == expected
    loan_indexes = {name: where for name, _, _, where in actual["loan"]["indexes"]}
    assert loan_indexes["loan_one_open_per_copy"] == "returned_atisnull"
    # the day log's reviewed cases are read through their partial index (migration 0004)
    db = open_library(sqlite_url(tmp_path, "migrated.sqlite"))
    with db.connection_context(), Journal.bind_ctx(db):
        sql, params = Journal.select(Journal.data).where(IS_CASE_REVIEWED).sql()
        plan = db.execute_sql("EXPLAIN QUERY PLAN " + sql, params).fetchall()
    assert "journal_case_reviewed" in str(plan)


def test_postgresql_migrations_build_the_models_schema(make_pg_url, tmp_path):
    expected = model_schema(make_pg_url())
    actual = migrated_schema(make_pg_url())
    assert set(actual) == {model._meta.table_name for model in MODELS}
    assert actual == expected
    # Both backends hold the same tables, columns, keys and indexes.
    assert shape(actual) == shape(migrated_schema(sqlite_url(tmp_path, "lib.sqlite")))


def test_a_model_change_without_a_migration_is_noticed(tmp_path):
    """The comparison above can fail: a new field on a model makes the schemas differ."""
    migrated = migrated_schema(sqlite_url(tmp_path, "migrated.sqlite"))
    field = pw.CharField(null=True)
    Patron._meta.add_field("nickname", field)
    try:
        changed = model_schema(sqlite_url(tmp_path, "changed.sqlite"))
    finally:
        Patron._meta.remove_field("nickname")
    assert changed != migrated
    assert ("nickname", "varchar(255)", True, False) in changed["patron"]["columns"]


def test_an_index_changed_by_hand_is_noticed(tmp_path):
    db = open_library(sqlite_url(tmp_path, "lib.sqlite"), create=True)
    with db.connection_context():
        before = describe(db)
        db.execute_sql("DROP INDEX loan_one_open_per_copy")
        db.execute_sql('CREATE UNIQUE INDEX loan_one_open_per_copy ON loan ("copy_id")')
        assert describe(db) != before  # the partial condition is part of the comparison


# -- applying migrations --------------------------------------------------------------


def test_migrate_twice_is_a_no_op(tmp_path):
    url = sqlite_url(tmp_path, "lib.sqlite")
    db = open_library(url, create=True)
    with db.connection_context():
        assert migrations.pending(db) == []
        first = describe(db)
        secret = settings.get("card_secret")
        Patron.create(number="1", name="Kept")
        assert migrations.migrate(db) == []
        assert describe(db) == first
        with SchemaMigration.bind_ctx(db):
            assert SchemaMigration.select().count() == len(migrations.available())
    db = open_library(url)  # start-up again
    with db.connection_context():
        assert settings.get("card_secret") == secret  # existing cards stay valid
        assert Patron.get(Patron.number == "1").name == "Kept"


def test_migrate_reports_what_it_applied(tmp_path):
    db = open_database(sqlite_url(tmp_path, "lib.sqlite"), create=True)
    with db.connection_context():
        names = [name for _, name, _ in migrations.available()]
        assert names[0] == "m0001_initial"
        assert migrations.pending(db) == names
        assert migrations.migrate(db) == names
        assert migrations.applied_versions(db) == {v for v, _, _ in migrations.available()}


@pytest.mark.parametrize("backend", ["sqlite", "postgresql"])
def test_database_from_a_newer_kiosk_is_refused(tmp_path, request, backend):
    url = (
        sqlite_url(tmp_path, "lib.sqlite") if backend == "sqlite"
        else request.getfixturevalue("pg_url")
    )
    db = open_library(url, create=True)
    newest = max(migrations.applied_versions(db))
    with db.connection_context(), SchemaMigration.bind_ctx(db):
        SchemaMigration.create(version=newest + 1, name="m9999_future", applied_at="2030-01-01")
    with pytest.raises(RuntimeError, match="newer"):
        open_library(url)
    with db.connection_context(), pytest.raises(RuntimeError, match="newer"):
        migrations.migrate(db)


def test_a_failing_migration_leaves_nothing_behind(tmp_path, monkeypatch):
    url = sqlite_url(tmp_path, "lib.sqlite")
    db = open_library(url, create=True)
    shipped = migrations.available()

    def up(database: pw.Database) -> None:
        database.execute_sql("CREATE TABLE half_done (id INTEGER PRIMARY KEY)")
        database.execute_sql("ALTER TABLE patron ADD COLUMN nickname VARCHAR(255)")
        raise RuntimeError("disk on fire")

    broken = types.ModuleType("m9000_broken")
    broken.up = up  # type: ignore[attr-defined]
    monkeypatch.setattr(migrations, "available", lambda: [*shipped, (9000, "m9000_broken", broken)])
    with db.connection_context():
        before = describe(db)
        with pytest.raises(RuntimeError, match="disk on fire"):
            migrations.migrate(db)
        assert describe(db) == before
        assert 9000 not in migrations.applied_versions(db)
        assert migrations.pending(db) == ["m9000_broken"]


# -- the pg_url fixture's contract ----------------------------------------------------


@pytest.mark.parametrize(("ci", "outcome"), [("", "1 skipped"), ("true", "1 failed")])
def test_pg_url_skips_without_a_server_but_fails_in_ci(tmp_path, ci, outcome):
    """Without a server the PostgreSQL tests skip, except in CI, where they must run."""
    probe = tmp_path / "test_probe.py"
    probe.write_text("def test_needs_postgresql(pg_url):\n    assert pg_url\n")
    shutil.copy(Path(__file__).with_name("conftest.py"), tmp_path / "conftest.py")
    env = {
        **os.environ,
        "KIOSK_TEST_PG_URL": "postgresql://postgres@127.0.0.1:1/nothing",
        "CI": ci,
    }
    result = subprocess.run(
        [sys.executable, "-m", "pytest", "-q", "-p", "no:cacheprovider", "-p", "no:xdist",
         "-o", "addopts=", "--rootdir", str(tmp_path), str(probe)],
        check=False, capture_output=True, text=True, env=env, cwd=tmp_path, timeout=60,
    )
    assert outcome in result.stdout, result.stdout + result.stderr
    if ci:
        assert "PostgreSQL is required in CI" in result.stdout
