"""Planning an import against the library (which titles and copies are new or
changed) and applying it as facts."""

from __future__ import annotations

import hashlib
import logging
import re
import unicodedata
from dataclasses import dataclass, field
from datetime import date
from typing import Any

import peewee as pw

from kiosk.data.core import masterdata
from kiosk.data.core.db import is_postgres
from kiosk.data.core.facts import HybridClock
from kiosk.data.core.journal import last_hlc
from kiosk.data.core.kinds import Kind
from kiosk.data.core.models import ITEM_KINDS, Copy, Title
from kiosk.data.desk import importing
from kiosk.data.desk.catalogue.records import (
    KINDS,
    CataloguePlan,
    CatalogueRecord,
    ParsedCatalogue,
    TitleChange,
)
from kiosk.data.desk.importing import Problem

log = logging.getLogger(__name__)


_TITLE_FIELDS = ("isbn", "title", "author", "publisher", "year", "classification", "kind",
                 "issue_date", "series")


def _norm(text: str) -> str:
    return re.sub(r"[\W_]+", "", unicodedata.normalize("NFKC", text).casefold())


def title_key(entry: CatalogueRecord, *, by_content: bool = False) -> str:
    """The key a new title gets: from the record's control number, or (without one, or
    with ``by_content``) from its ISBN, title, author and year, so that importing the
    same file again finds it."""
    if entry.control and not by_content:
        basis = "control|" + entry.control
    else:
        basis = "|".join(["content", entry.isbn or "", _norm(entry.title), _norm(entry.author),
                          str(entry.year or "")]
                         + ([entry.issue_date.isoformat()] if entry.issue_date else []))
    return "t" + hashlib.sha1(basis.encode()).hexdigest()[:24]


def _same_book(row: dict[str, Any], entry: CatalogueRecord) -> bool:
    """Whether a title found by control number is this record's book: control numbers
    repeat across catalogues (``001 2``), and a record must never overwrite another
    book, so the ISBN or the title must agree too."""
    if row.get("isbn") and entry.isbn:
        return bool(row["isbn"] == entry.isbn)
    return _norm(row.get("title") or "") == _norm(entry.title)


@dataclass
class _Writes:
    titles: dict[str, dict[str, Any]] = field(default_factory=dict)
    copies: dict[str, dict[str, Any]] = field(default_factory=dict)


def _plan(parsed: ParsedCatalogue) -> tuple[CataloguePlan, _Writes]:
    plan = CataloguePlan(problems=list(parsed.problems))
    writes = _Writes()
    titles: dict[str, dict[str, Any]] = {}
    by_isbn: dict[tuple[str, str, date | None], str] = {}
    query = Title.select(Title.key, *(getattr(Title, f) for f in _TITLE_FIELDS)).tuples()
    for key, *values in query.iterator():
        row = dict(zip(_TITLE_FIELDS, values, strict=True))
        titles[key] = row
        if row["isbn"]:
            by_isbn.setdefault((row["isbn"], _norm(row["title"]), row["issue_date"]), key)
    copies = {
        barcode: (key, shelf, reference_only)
        for barcode, key, shelf, reference_only in Copy.select(
            Copy.barcode, Title.key, Copy.shelf, Copy.reference_only
        ).join(Title).tuples().iterator()
    }
    claimed: dict[str, tuple[int, str]] = {}
    planned: dict[str, tuple[int, dict[str, Any]]] = {}
    for entry in parsed.records:
        where: dict[str, Any] = {"place": entry.place, "number": entry.number,
                                 "offset": entry.offset}
        owners = {copies[c.barcode][0] for c in entry.copies if c.barcode in copies}
        if len(owners) > 1:
            plan.problems.append(Problem(**where, key="import.barcodes_split"))
            continue
        key = owners.pop() if owners else None
        if key is None and entry.isbn:
            key = by_isbn.get((entry.isbn, _norm(entry.title), entry.issue_date))
        if key is None:
            key = title_key(entry)
            known = planned[key][1] if key in planned else titles.get(key)
            if entry.control and known is not None and not _same_book(known, entry):
                key = title_key(entry, by_content=True)
        mine = []
        for copy in entry.copies:
            first, owner = claimed.setdefault(copy.barcode, (entry.number, key))
            if owner != key:
                plan.problems.append(Problem(**where, key="import.barcode_twice", level="warning",
                                             params={"barcode": copy.barcode, "first": first}))
            elif first == entry.number:
                mine.append(copy)  # (a row repeating a copy of the same title adds nothing)
        row = _title_row(entry, titles.get(key))
        if key in planned:
            if row != planned[key][1]:
                plan.problems.append(Problem(**where, key="import.same_title", level="warning",
                                             params={"first": planned[key][0]}))
        else:
            planned[key] = (entry.number, row)
            _plan_title(plan, writes, entry, key, titles.get(key), row, len(mine))
        if entry.isbn:
            by_isbn.setdefault((entry.isbn, _norm(entry.title), entry.issue_date), key)
        kind = planned[key][1]["kind"]
        for copy in mine:
            old = copies.get(copy.barcode)
            if old is None:
                plan.copies_added += 1
                writes.copies[copy.barcode] = {"copy": copy.barcode, "title": key,
                                               "shelf": copy.shelf,
                                               "reference_only": kind == "reference"}
            elif copy.shelf and copy.shelf != old[1]:
                plan.copies_updated += 1
                writes.copies[copy.barcode] = {"copy": copy.barcode, "title": key,
                                               "shelf": copy.shelf, "reference_only": old[2]}
            else:
                plan.copies_unchanged += 1
    return plan, writes


def _title_row(entry: CatalogueRecord, old: dict[str, Any] | None) -> dict[str, Any]:
    """The title as it will be: the file's values, and the library's where the file
    has none."""
    old = old or {}
    new = {
        "isbn": entry.isbn, "title": entry.title, "author": entry.author,
        "publisher": entry.publisher, "year": entry.year,
        "classification": entry.classification, "kind": entry.kind,
        "issue_date": entry.issue_date, "series": entry.series,
    }
    row = {name: (new.get(name) or old.get(name)) for name in _TITLE_FIELDS}
    row["kind"] = row["kind"] or "book"
    for name in ("author", "publisher", "classification", "series"):
        row[name] = row[name] or ""
    return row


def _plan_title(
    plan: CataloguePlan, writes: _Writes, entry: CatalogueRecord, key: str,
    old: dict[str, Any] | None, row: dict[str, Any], copies: int,
) -> None:
    if old is not None and row == old:
        plan.titles_unchanged += 1
        return
    changes = tuple(n for n in _TITLE_FIELDS if old is not None and row[n] != old[n])
    change = TitleChange(entry.place, entry.number, key, row["title"], row["isbn"], copies, changes)
    (plan.titles_updated if old is not None else plan.titles_added).append(change)
    issue = row["issue_date"]
    writes.titles[key] = {
        **row, "key": key, "issue_date": issue.isoformat() if isinstance(issue, date) else issue,
    }


def plan_catalogue(db: pw.Database, parsed: ParsedCatalogue) -> CataloguePlan:
    """What importing ``parsed`` would change in ``db`` (nothing is written).

    Raises:
        ImportRefused: ``import.joined_kiosk`` (a kiosk's master data is the desk's).
    """
    with importing.session(db):
        importing.check_may_import()
        return _plan(parsed)[0]


def apply_catalogue(db: pw.Database, parsed: ParsedCatalogue) -> CataloguePlan:
    """Import ``parsed`` into ``db`` in one transaction and return what it did.

    The plan is made again inside the transaction; only new or changed titles and
    copies become facts (``title_saved`` before ``copy_saved``).

    Raises:
        ImportRefused: ``import.joined_kiosk``.
    """
    with importing.session(db), importing.in_one_transaction(db):
        importing.check_may_import()
        plan, writes = _plan(parsed)
        clock = HybridClock("desk", last_hlc())
        if writes.titles:
            plan.facts += masterdata.save_many(Kind.TITLE_SAVED, writes.titles.values(), clock=clock)
            if is_postgres(db) and len(writes.titles) > 1000:
                # PostgreSQL plans the copies' title lookups from statistics that still
                # see the table before this transaction: refresh them (11 s of 65 for
                # 100,000 new titles went to scanning the table instead of its index).
                db.execute_sql('ANALYZE "title"')
        if writes.copies:
            plan.facts += masterdata.save_many(Kind.COPY_SAVED, writes.copies.values(), clock=clock)
    return plan


assert set(KINDS.values()) <= set(ITEM_KINDS)
