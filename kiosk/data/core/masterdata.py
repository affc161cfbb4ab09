"""Master data as facts: how the desk's classes, patrons, catalogue, rules, calendar
and settings travel to the kiosks.

The desk writes every change of master data as a fact (``patron_saved``,
``copy_saved``, ...) through :func:`save` or :func:`save_many`, so a kiosk's one
pull cursor covers master data and circulation alike, in the order the desk made
them (a copy is always saved before the first loan of it arrives). A master fact
holds the whole row, so applying it is an upsert by the row's natural key and
applying it twice changes nothing. Kiosks apply master facts without keeping them
in their own journal; they never make them.
"""

from __future__ import annotations

import logging
from collections.abc import Callable, Iterable, Iterator, Sequence
from datetime import date, datetime
from typing import Any

import peewee as pw

from kiosk.data.core import journal
from kiosk.data.core.db import database
from kiosk.data.core.facts import Fact, HybridClock, new_fact, to_db_time, utcnow
from kiosk.data.core.findkeys import title_keys
from kiosk.data.core.journal import lock_journal
from kiosk.data.core.kinds import Kind
from kiosk.data.core.models import (
    ClassTeacher,
    ClosedDay,
    Copy,
    LoanRule,
    Patron,
    SchoolClass,
    Setting,
    Title,
    index_titles,
    new_id,
)

log = logging.getLogger(__name__)

CHUNK = 400
"""Rows per INSERT statement (well under SQLite's limit of variables)."""


def _last_wins(rows: Sequence[Fact], key: Callable[[Fact], Any]) -> list[Fact]:
    """One fact per key, the last one (an upsert may not touch a row twice)."""
    latest: dict[Any, Fact] = {}
    for fact in rows:
        latest.pop(key(fact), None)
        latest[key(fact)] = fact
    return list(latest.values())


_UPSERT_SQL: dict[tuple[Any, ...], str] = {}


def _upsert(model: type[pw.Model], rows: list[dict[str, Any]], target: list[pw.Field]) -> None:
    """Insert ``rows``, or update the row with the same ``target`` key."""
    if not rows:
        return
    # (Fields compare into SQL expressions, so ``in`` would match any field: use names.)
    keys = {field.name for field in target}
    names = list(rows[0])
    fields = [model._meta.fields[name] for name in names]
    preserve = [field for field in fields if field.name not in keys]
    db = database.obj
    if isinstance(db, pw.SqliteDatabase):
        # The columns the rows leave out take the model's defaults on insert (peewee's
        # insert_many would fill them in); an update leaves them as they are.
        defaults = {
            field: default
            for field, default in model._meta.defaults.items()
            if field.name not in names
        }
        if defaults:
            rows = [
                {**row, **{f.name: d() if callable(d) else d for f, d in defaults.items()}}
                for row in rows
            ]
            names = list(rows[0])
            fields = [model._meta.fields[name] for name in names]
        # A kiosk's first pull upserts a whole catalogue: build the statement once and
        # let sqlite3 run it per row (peewee would build a new 400-row INSERT each time).
        signature = (model, tuple(names), tuple(sorted(keys)))
        sql = _UPSERT_SQL.get(signature)
        if sql is None:
            columns = ", ".join(f'"{field.column_name}"' for field in fields)
            marks = ", ".join("?" for _ in fields)
            conflict = ", ".join(f'"{field.column_name}"' for field in target)
            action = (
                "DO UPDATE SET " + ", ".join(
                    f'"{f.column_name}" = excluded."{f.column_name}"' for f in preserve
                )
                if preserve else "DO NOTHING"
            )
            sql = _UPSERT_SQL[signature] = (
                f'INSERT INTO "{model._meta.table_name}" ({columns}) VALUES ({marks}) '
                f"ON CONFLICT ({conflict}) {action}"
            )
        with pw.__exception_wrapper__:  # sqlite3's errors as peewee's
            db.cursor().executemany(
                sql, [[field.db_value(row[field.name]) for field in fields] for row in rows]
            )
        return
    # PostgreSQL (the desk): one statement per CHUNK rows, quoted by psycopg2, as
    # journal.insert_facts does; peewee took longer to build each 400-row INSERT
    # than the server took to run it (6 s of 9 for 10,000 imported titles).
    missing = [(f, d) for f, d in model._meta.defaults.items() if f.name not in names]
    columns = ", ".join(f'"{f.column_name}"' for f in [*fields, *(f for f, _ in missing)])
    conflict = ", ".join(f'"{field.column_name}"' for field in target)
    action = (
        "DO UPDATE SET "
        + ", ".join(f'"{f.column_name}" = excluded."{f.column_name}"' for f in preserve)
        if preserve else "DO NOTHING"
    )
    marks = "(" + ", ".join("%s" for _ in range(len(fields) + len(missing))) + ")"
    assert db is not None  # the models are bound (open_library, database.using)
    cursor = db.cursor()
    for part in chunks(rows):
        values = b", ".join(
            cursor.mogrify(marks, [
                *(field.db_value(row[field.name]) for field in fields),
                *(f.db_value(d() if callable(d) else d) for f, d in missing),
            ])
            for row in part
        )
        db.execute_sql(
            f'INSERT INTO "{model._meta.table_name}" ({columns}) VALUES {values.decode()} '
            f"ON CONFLICT ({conflict}) {action}"
        )


def chunks(values: Iterable[Any]) -> Iterator[list[Any]]:
    """``values`` in lists of at most :data:`CHUNK` (for ``IN (...)`` and many-row writes)."""
    items = list(values)
    for start in range(0, len(items), CHUNK):
        yield items[start : start + CHUNK]


def _ids(model: type[pw.Model], field: pw.Field, keys: Iterable[Any]) -> dict[Any, int]:
    found: dict[Any, int] = {}
    for part in chunks({key for key in keys if key is not None}):
        found.update(model.select(field, model._meta.primary_key).where(field.in_(part)).tuples())
    return found


def _classes(facts: Sequence[Fact]) -> None:
    _upsert(
        SchoolClass,
        [
            {"name": f.data["name"], "grade": f.data.get("grade"), "active": f.data.get("active", True)}
            for f in _last_wins(facts, lambda f: f.data["name"])
        ],
        [SchoolClass.name],
    )


def _patrons(facts: Sequence[Fact]) -> None:
    facts = _last_wins(facts, lambda f: f.patron)
    class_ids = _ids(SchoolClass, SchoolClass.name, (f.data.get("class") for f in facts))
    _upsert(
        Patron,
        [
            {
                "number": f.patron,
                "name": f.data["name"],
                "kind": f.data.get("kind", "student"),
                "school_class": class_ids.get(f.data.get("class")),
                "active": f.data.get("active", True),
                "blocked_reason": f.data.get("blocked_reason"),
                "pin_hash": f.data.get("pin_hash"),
            }
            for f in facts
        ],
        [Patron.number],
    )


def _teacher_classes(facts: Sequence[Fact]) -> None:
    for fact in _last_wins(facts, lambda f: f.patron):
        teacher = Patron.get_or_none(Patron.number == fact.patron)
        if teacher is None:
            continue
        ClassTeacher.delete().where(ClassTeacher.teacher == teacher).execute()
        class_ids = _ids(SchoolClass, SchoolClass.name, fact.data["classes"])
        _upsert(
            ClassTeacher,
            [{"teacher": teacher.id, "school_class": i} for i in class_ids.values()],
            [ClassTeacher.teacher, ClassTeacher.school_class],
        )


def _titles(facts: Sequence[Fact]) -> None:
    # A title's search key is made here, where the desk's imports and edits and a
    # kiosk's pull of them all save titles, so every title is found as saved.
    def row(data: dict[str, Any]) -> dict[str, Any]:
        issue = data.get("issue_date")
        author, series = data.get("author", ""), data.get("series", "")
        return {
            "key": data["key"],
            "isbn": data.get("isbn"),
            "title": data["title"],
            "author": author,
            "publisher": data.get("publisher", ""),
            "year": data.get("year"),
            "classification": data.get("classification", ""),
            "kind": data.get("kind", "book"),
            "issue_date": date.fromisoformat(issue) if issue else None,
            "series": series,
            "search_key": title_keys(data["title"], author, series, data.get("isbn")),
        }

    rows = [row(f.data) for f in _last_wins(facts, lambda f: f.data["key"])]
    _upsert(Title, rows, [Title.key])
    ids = _ids(Title, Title.key, (r["key"] for r in rows))
    index_titles(
        [(ids[r["key"]], r["title"], r["author"], r["series"], r["isbn"]) for r in rows]
    )


def _copies(facts: Sequence[Fact]) -> None:
    facts = _last_wins(facts, lambda f: f.copy)
    title_ids = _ids(Title, Title.key, (f.data["title"] for f in facts))
    rows = []
    for fact in facts:
        title = title_ids.get(fact.data["title"])
        if title is None:
            log.warning("copy %s names an unknown title; skipped", fact.copy)
            continue
        rows.append(
            {
                "barcode": fact.copy,
                "title": title,
                "shelf": fact.data.get("shelf", ""),
                "reference_only": fact.data.get("reference_only", False),
            }
        )
    _upsert(Copy, rows, [Copy.barcode])


def _rules(facts: Sequence[Fact]) -> None:
    _upsert(
        LoanRule,
        [
            {
                "patron_kind": f.data["patron_kind"],
                "item_kind": f.data.get("item_kind", "*"),
                "loan_days": f.data["loan_days"],
                "max_items": f.data["max_items"],
                "max_renewals": f.data.get("max_renewals", 1),
            }
            for f in _last_wins(facts, lambda f: (f.data["patron_kind"], f.data.get("item_kind", "*")))
        ],
        [LoanRule.patron_kind, LoanRule.item_kind],
    )


def _rules_deleted(facts: Sequence[Fact]) -> None:
    for fact in facts:
        LoanRule.delete().where(
            (LoanRule.patron_kind == fact.data["patron_kind"])
            & (LoanRule.item_kind == fact.data.get("item_kind", "*"))
        ).execute()


def _closed_days(facts: Sequence[Fact]) -> None:
    _upsert(
        ClosedDay,
        [
            {"day": date.fromisoformat(f.data["day"]), "reason": f.data.get("reason", "")}
            for f in _last_wins(facts, lambda f: f.data["day"])
        ],
        [ClosedDay.day],
    )


def _closed_days_deleted(facts: Sequence[Fact]) -> None:
    days = [date.fromisoformat(f.data["day"]) for f in facts]
    ClosedDay.delete().where(ClosedDay.day.in_(days)).execute()


def _settings(facts: Sequence[Fact]) -> None:
    _upsert(
        Setting,
        [
            {"key": f.data["key"], "value": f.data["value"]}
            for f in _last_wins(facts, lambda f: f.data["key"])
        ],
        [Setting.key],
    )


APPLY_MANY: dict[str, Callable[[Sequence[Fact]], None]] = {
    Kind.CLASS_SAVED: _classes,
    Kind.PATRON_SAVED: _patrons,
    Kind.TEACHER_CLASSES: _teacher_classes,
    Kind.TITLE_SAVED: _titles,
    Kind.COPY_SAVED: _copies,
    Kind.RULE_SAVED: _rules,
    Kind.RULE_DELETED: _rules_deleted,
    Kind.CLOSED_DAY_SAVED: _closed_days,
    Kind.CLOSED_DAY_DELETED: _closed_days_deleted,
    Kind.SETTING_SAVED: _settings,
}
"""How each kind of master fact is applied, many facts of one kind at a time."""



def apply_many(facts: Sequence[Fact]) -> None:
    """Apply master facts in order, consecutive facts of one kind in one statement."""
    start = 0
    while start < len(facts):
        end = start
        while end < len(facts) and facts[end].kind == facts[start].kind:
            end += 1
        APPLY_MANY[facts[start].kind](facts[start:end])
        start = end


def _fact(
    clock: HybridClock, kind: str, when: datetime, patron: str | None, copy: str | None,
    data: dict[str, Any],
) -> Fact:
    return Fact(
        kind=str(kind), uuid=new_id(), kiosk="desk", wall_time=to_db_time(when),
        hlc=clock.tick(when), patron=patron, copy=copy, data=data,
    )


def save_many(
    kind: str,
    rows: Iterable[dict[str, Any]],
    *,
    clock: HybridClock | None = None,
    when: datetime | None = None,
) -> int:
    """Record one master fact per row and apply them; return how many.

    Each row is the fact's data; ``patron`` and ``copy`` entries become the fact's
    patron number and copy barcode. Call inside a transaction at the desk.
    """
    if kind not in APPLY_MANY:
        raise ValueError(f"not a kind of master data: {kind}")
    when = when or utcnow()
    clock = clock or HybridClock("desk", journal.last_hlc())
    lock_journal()
    facts = []
    for row in rows:
        data = dict(row)
        patron, copy = data.pop("patron", None), data.pop("copy", None)
        facts.append(_fact(clock, kind, when, patron, copy, data))
    journal.insert_facts(facts, pushed_at=to_db_time(when))
    APPLY_MANY[kind](facts)
    return len(facts)


def save(kind: str, /, **row: Any) -> None:
    """Record and apply one master fact (see :func:`save_many`)."""
    save_many(kind, [row])


def set_copy_status(barcode: str, status: str, *, reason: str = "", kiosk: str = "desk") -> None:
    """The librarian marks a copy lost, withdrawn, to repair, or found (``available``).

    A circulation fact, not master data: it is part of the copy's history and is
    replayed with it. Call inside a transaction.
    """
    clock = HybridClock(kiosk, journal.last_hlc())
    journal.record(
        new_fact(
            clock, kiosk, "copy_status", utcnow(), copy=barcode, status=status,
            reason=reason,
        )
    )
