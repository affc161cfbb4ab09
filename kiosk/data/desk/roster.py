"""Importing class rosters: the school office's list of students and teachers.

A roster is a CSV (UTF-8 with or without BOM, GBK/GB18030, UTF-16) or XLSX file with
a heading row, in Chinese or English, in any order: 学号/number, 姓名/name,
班级/class, and optionally 年级/grade, 身份/role (学生/教师), 任教班级/classes
(a teacher's classes, separated by 、 , ; or spaces). Teachers come in the same file
with a role column, or in a file of their own with the same headings.

The import is a plan first (:func:`plan_roster`): students added, updated,
transferred between classes, returned after leaving, and students who left, with
the books they still have. :func:`apply_roster` writes the plan as master facts in
one transaction, only for rows that change: a second import of the same file writes
nothing. Students who left are students of a class in the file who are missing
from it (a file of one class never touches another class), or, with
``whole_school``, every active student missing from the file. Deactivation never
deletes: loans and history stay. Teachers are never deactivated by an import.
A student whose row is rejected (no name, no class, a formula, an unknown role) is
not missing: the row's number keeps them. When a rejected row's number cannot be
read (Excel's ``2.0230101E+13``), nobody of that row's class leaves, and nobody at
all when its class cannot be read either; the preview says so first.
"""

from __future__ import annotations

import re
import unicodedata
from dataclasses import dataclass, field, replace
from datetime import date
from pathlib import Path
from typing import Any

import peewee as pw

from kiosk.data.core import masterdata
from kiosk.data.core.facts import HybridClock
from kiosk.data.core.journal import last_hlc
from kiosk.data.core.kinds import Kind
from kiosk.data.core.models import ClassTeacher, Copy, Loan, Patron, SchoolClass, Title
from kiosk.data.desk import importing
from kiosk.data.desk.importing import ImportRefused, Problem, clean, headings, looks_like_formula

NUMBER = re.compile(r"(?=.*[A-Z0-9])[A-Z0-9-]{1,20}")
"""A patron number a card can carry (digits, capitals and ``-``, at most 20; not a
lone ``-``, which an export writes for "none")."""

COLUMNS = {
    "number": headings(
        "学号", "学籍号", "学生学号", "学生编号", "编号", "工号", "教工号", "职工号", "读者证号",
        "借书证号", "证号", "number", "student number", "student no", "student id", "no", "id",
        "staff number",
    ),
    "name": headings("姓名", "学生姓名", "教师姓名", "名字", "name", "student name", "full name"),
    "class": headings("班级", "班级名称", "所在班级", "班", "行政班", "class", "class name", "form",
                      "homeroom"),
    "classes": headings("任教班级", "所教班级", "任课班级", "教的班级", "classes",
                        "teaching classes", "teacher classes"),
    "grade": headings("年级", "grade", "grade level"),
    "role": headings("身份", "角色", "类别", "人员类别", "人员类型", "读者类型", "role", "type",
                     "kind", "patron type"),
    "gender": headings("性别", "gender", "sex"),
}
"""The headings each field is known by (compared without case, blanks or punctuation)."""

ROLES = {
    **dict.fromkeys(("学生", "student", "pupil", "s", "生"), "student"),
    **dict.fromkeys(("教师", "老师", "班主任", "教职工", "职工", "teacher", "staff", "t", "师"),
                    "teacher"),
    **dict.fromkeys(("小图书管理员", "小管理员", "图书志愿者", "helper"), "helper"),
}
"""What the role column may say, and the patron kind it means."""

_CLASS_SPLIT = re.compile(r"[、,，;；/\n]+")
_DIGITS = {c: i for i, c in enumerate("零一二三四五六七八九")}
_SCHOOL_YEARS = {"初一": 7, "初二": 8, "初三": 9, "高一": 10, "高二": 11, "高三": 12,
                 "七年级": 7, "八年级": 8, "九年级": 9}
_SCIENTIFIC = re.compile(r"^\d(\.\d+)?E\+\d+$", re.IGNORECASE)


def parse_grade(text: str) -> int | None:
    """The grade a text names: ``3``, ``三年级``, ``3年级``, ``Grade 3``, ``初一`` (7) or
    the start of a class name (``三年级2班``, ``3(2)班``); ``None`` if it names none."""
    text = unicodedata.normalize("NFKC", text).strip()
    for words, grade in _SCHOOL_YEARS.items():
        if text.startswith(words):
            return grade
    match = re.match(r"(?:grade\s*|year\s*)?(\d{1,2})(?!\d)", text, re.IGNORECASE)
    if match:
        grade = int(match[1])
        return grade if 1 <= grade <= 12 else None
    match = re.match(r"(十[一二]?|[一二三四五六七八九])年级", text)
    if match:
        words = match[1]
        if words.startswith("十"):
            return 10 + (_DIGITS[words[1]] if len(words) > 1 else 0)
        return _DIGITS[words]
    return None


def class_name(text: str) -> str:
    """A class name as kept: full-width digits and brackets made half-width, blanks
    collapsed, and dropped between Chinese words (``三年级（２）班``, ``三年级 (2) 班``
    and ``三年级(2)班`` are one class; ``Class 3A`` keeps its space)."""
    name = clean(unicodedata.normalize("NFKC", text), 60)
    if any("\u4e00" <= c <= "\u9fff" for c in name):
        name = name.replace(" ", "")
    return name


def class_list(text: str) -> tuple[str, ...]:
    """The classes a teacher's cell lists, separated by 、 , ; / or new lines, or by
    blanks when every part names a class with its number (``1A 1B``, not ``Class 3A``)."""
    parts = [p for p in _CLASS_SPLIT.split(text) if p.strip()]
    if len(parts) == 1 and all(any(c.isdigit() for c in w) for w in parts[0].split()):
        parts = parts[0].split()
    return tuple(dict.fromkeys(class_name(p) for p in parts))


@dataclass(frozen=True)
class RosterRow:
    """One person of the roster, as the file says."""

    row: int
    number: str
    name: str
    kind: str
    school_class: str | None
    grade: int | None
    classes: tuple[str, ...] = ()
    """A teacher's classes (the first is also the teacher's own class)."""


@dataclass(frozen=True)
class RejectedRow:
    """A row that could not be imported, with what could still be read of it.

    A rejected row is still somebody: a student whose row is rejected has not left
    the school. ``number`` is ``None`` when it cannot be read (a formula, Excel's
    ``2.0230101E+13``, a bad number); then nobody of ``school_class`` is taken as
    having left, and nobody at all when the class cannot be read either.
    """

    row: int
    number: str | None
    school_class: str | None
    kind: str | None
    """The patron kind the role column names (``None``: not read)."""
    sheet: str | None = None


@dataclass
class ParsedRoster:
    """What a roster file holds: its people, its problems, how it was read."""

    rows: list[RosterRow]
    problems: list[Problem]
    encoding: str
    ignored_headings: list[str] = field(default_factory=list)
    format: str = "CSV"
    rejected: list[RejectedRow] = field(default_factory=list)
    """The rows with an error, as far as they could be read (never leavers)."""

    @property
    def classes(self) -> set[str]:
        """The classes the file holds students of (the only ones it can say left)."""
        return {row.school_class for row in self.rows if row.kind != "teacher" and row.school_class}


@dataclass(frozen=True)
class PersonChange:
    """A patron added, updated, transferred or deactivated (what the preview lists)."""

    number: str
    name: str
    kind: str
    school_class: str | None
    before_class: str | None = None
    changes: tuple[str, ...] = ()
    """Which fields change: ``name``, ``kind``, ``class``, ``active``, ``classes``."""


@dataclass(frozen=True)
class OpenLoan:
    """A book still lent to a student who left."""

    number: str
    name: str
    barcode: str
    title: str
    due_on: date


@dataclass
class RosterPlan:
    """What an import does (or did): every list is in the file's order."""

    added: list[PersonChange] = field(default_factory=list)
    updated: list[PersonChange] = field(default_factory=list)
    transferred: list[PersonChange] = field(default_factory=list)
    returned: list[PersonChange] = field(default_factory=list)
    deactivated: list[PersonChange] = field(default_factory=list)
    new_classes: list[str] = field(default_factory=list)
    teacher_classes: list[PersonChange] = field(default_factory=list)
    unchanged: int = 0
    open_loans: list[OpenLoan] = field(default_factory=list)
    problems: list[Problem] = field(default_factory=list)
    considered_classes: list[str] = field(default_factory=list)
    """The classes whose missing students were taken as having left (``["*"]``: all)."""
    held_classes: list[str] = field(default_factory=list)
    """Classes where nobody is taken as having left, because a rejected row of the class
    has a number that cannot be read (``["*"]``: a row whose class cannot be read
    either, so nobody anywhere)."""
    kept: list[str] = field(default_factory=list)
    """Numbers missing from the accepted rows but kept active: their row was rejected."""
    facts: int = 0
    """How many facts were written (0 for a preview or a dry run)."""

    @property
    def changes(self) -> int:
        """How many rows the import changes."""
        return (len(self.added) + len(self.updated) + len(self.deactivated)
                + len(self.new_classes) + len(self.teacher_classes))


# -- reading --------------------------------------------------------------------------


def parse_roster(
    path: Path, *, encoding: str | None = None, max_bytes: int = importing.MAX_BYTES
) -> ParsedRoster:
    """Read a roster file into rows and problems (nothing is written).

    Raises:
        ImportRefused: the file is too big, of an unknown encoding or format, or has no
            heading row with a number, a name and a class.
    """
    importing.check_file(path, max_bytes)
    data = path.read_bytes()
    tables, used = importing.read_tables(path, data, encoding)
    workbook = importing.is_xlsx(data)
    del data
    parsed = ParsedRoster([], [], used, [], "XLSX" if workbook else "CSV")
    seen: dict[str, int] = {}
    read_any = False
    for table in tables:
        found = importing.find_headings(table.rows, COLUMNS, {"number", "name"})
        # A workbook with a sheet per class may leave the class out of the rows.
        sheet_class = class_name(table.sheet) if table.sheet and _names_a_class(table.sheet) else ""
        if found is None or not ({"class", "classes"} & found[1].keys() or sheet_class):
            if len(tables) > 1 and table.rows:
                parsed.problems.append(Problem("row", table.rows[0][0], "import.sheet_skipped",
                                               level="warning", sheet=table.sheet))
            continue
        read_any = True
        start, columns, ignored = found
        parsed.ignored_headings += [h for h in ignored if h not in parsed.ignored_headings]
        for number, cells in table.rows[start + 1 :]:
            before, rejected = len(parsed.problems), len(parsed.rejected)
            person = _person(number, cells, columns, parsed.problems, sheet_class,
                             parsed.rejected)
            if person is not None and person.number in seen:
                parsed.problems.append(Problem("row", number, "import.roster_twice", {
                    "number": person.number, "first": seen[person.number]}))
                parsed.rejected.append(RejectedRow(number, person.number, person.school_class,
                                                   person.kind))
                person = None
            if len(tables) > 1:
                parsed.problems[before:] = [
                    replace(p, sheet=table.sheet) for p in parsed.problems[before:]]
                parsed.rejected[rejected:] = [
                    replace(r, sheet=table.sheet) for r in parsed.rejected[rejected:]]
            if person is not None:
                seen[person.number] = number
                parsed.rows.append(person)
    if not read_any:
        raise ImportRefused("import.roster_headings")
    return parsed


def _names_a_class(sheet: str) -> bool:
    """Whether a sheet's name is a class's (``三年级2班``, ``3(2)班``, ``Class 3A``)."""
    return "班" in sheet or parse_grade(sheet) is not None or sheet.casefold().startswith("class")


def _person(
    number: int, cells: list[str], columns: dict[str, int], problems: list[Problem],
    sheet_class: str = "", rejected: list[RejectedRow] | None = None,
) -> RosterRow | None:
    """The person of one row, or ``None`` after noting the problem (and, in
    ``rejected``, what can still be read of the row: its number, class and kind)."""
    def cell(name: str) -> str:
        column = columns.get(name)
        return cells[column].strip() if column is not None and column < len(cells) else ""

    def reject(key: str, params: dict[str, Any]) -> None:
        problems.append(Problem("row", number, key, params))
        if rejected is None:
            return
        raw = unicodedata.normalize("NFKC", cell("number")).strip().upper()
        readable = (raw if NUMBER.fullmatch(raw) and not _SCIENTIFIC.match(raw)
                    and not looks_like_formula(cell("number")) else None)
        text = cell("class")
        own = (class_name(text) if text and not looks_like_formula(text) else "") or sheet_class
        role = heading_free(cell("role"))
        kind: str | None = None  # a formula in the role or the classes: not read
        if role and not looks_like_formula(cell("role")):
            kind = ROLES.get(role)
        elif not role and not looks_like_formula(cell("classes")):
            kind = "teacher" if cell("classes") else "student"
        rejected.append(RejectedRow(number, readable, own or None, kind))

    raw_number = unicodedata.normalize("NFKC", cell("number")).strip().upper()
    name = clean(cell("name"), 60)
    for field_name in ("number", "name", "class", "classes", "grade", "role"):
        if looks_like_formula(cell(field_name)):
            reject("import.formula", {"value": clean(cell(field_name), 40)})
            return None
    if not raw_number and not name:
        return None  # a blank line or a footer such as a total
    if _SCIENTIFIC.match(raw_number):
        reject("import.roster_scientific", {"value": raw_number})
        return None
    if not NUMBER.fullmatch(raw_number):
        reject("import.roster_bad_number", {"value": clean(cell("number"), 40)})
        return None
    if not name:
        reject("import.roster_no_name", {"number": raw_number})
        return None
    role = heading_free(cell("role"))
    # Without a role, a row that lists the classes someone teaches is a teacher's.
    kind = ROLES.get(role, None) if role else ("teacher" if cell("classes") else "student")
    if kind is None:
        reject("import.roster_bad_role", {"value": clean(cell("role"), 20)})
        return None
    own = class_name(cell("class")) or sheet_class
    listed = class_list(cell("classes"))
    grade = parse_grade(cell("grade")) if cell("grade") else None
    if kind == "teacher":
        classes = listed or class_list(cell("class"))
        return RosterRow(number, raw_number, name, kind, classes[0] if classes else None, grade,
                         classes)
    if not own:
        reject("import.roster_no_class", {"number": raw_number})
        return None
    return RosterRow(number, raw_number, name, kind, own, grade)


def heading_free(text: str) -> str:
    """A role cell as compared with :data:`ROLES`."""
    return unicodedata.normalize("NFKC", text).strip().casefold()


# -- planning -------------------------------------------------------------------------


@dataclass
class _Patron:
    number: str
    name: str
    kind: str
    school_class: str | None
    active: bool
    blocked_reason: str | None
    pin_hash: str | None


def _patrons() -> dict[str, _Patron]:
    query = (
        Patron.select(Patron.number, Patron.name, Patron.kind, SchoolClass.name,
                      Patron.active, Patron.blocked_reason, Patron.pin_hash)
        .join(SchoolClass, pw.JOIN.LEFT_OUTER)
    )
    return {row[0]: _Patron(*row) for row in importing.tuples(query)}


def _teaching() -> dict[str, set[str]]:
    found: dict[str, set[str]] = {}
    query = (
        ClassTeacher.select(Patron.number, SchoolClass.name)
        .join_from(ClassTeacher, Patron)
        .join_from(ClassTeacher, SchoolClass)
    )
    for number, name in importing.tuples(query):
        found.setdefault(number, set()).add(name)
    return found


def _fact_row(p: _Patron) -> dict[str, Any]:
    return {"patron": p.number, "name": p.name, "kind": p.kind, "class": p.school_class,
            "active": p.active, "blocked_reason": p.blocked_reason, "pin_hash": p.pin_hash}


@dataclass
class _Writes:
    classes: list[dict[str, Any]] = field(default_factory=list)
    patrons: list[dict[str, Any]] = field(default_factory=list)
    teaching: list[dict[str, Any]] = field(default_factory=list)


def _plan(parsed: ParsedRoster, whole_school: bool) -> tuple[RosterPlan, _Writes]:
    plan = RosterPlan(problems=list(parsed.problems))
    writes = _Writes()
    patrons = _patrons()
    classes = dict(importing.tuples(SchoolClass.select(SchoolClass.name, SchoolClass.grade)))
    inactive_classes = {
        name for (name,) in importing.tuples(
            SchoolClass.select(SchoolClass.name).where(SchoolClass.active == False)
        )
    }
    teaching = _teaching()

    def need_class(name: str, grade: int | None) -> None:
        grade = grade if grade is not None else parse_grade(name)
        if name not in classes or name in inactive_classes:
            plan.new_classes.append(name)
            writes.classes.append({"name": name, "grade": grade, "active": True})
            classes[name] = grade
            inactive_classes.discard(name)

    for row in parsed.rows:
        for name in row.classes or ((row.school_class,) if row.school_class else ()):
            need_class(name, row.grade if name == row.school_class else None)
        old = patrons.get(row.number)
        kind = row.kind
        if old is not None and (old.kind == "librarian" or (old.kind == "helper" and kind == "student")):
            kind = old.kind  # a roster never demotes the librarian or a helper
        new = _Patron(row.number, row.name, kind, row.school_class, True,
                      old.blocked_reason if old else None, old.pin_hash if old else None)
        change = PersonChange(row.number, row.name, kind, row.school_class)
        if old is None:
            plan.added.append(change)
            writes.patrons.append(_fact_row(new))
        else:
            changed = tuple(
                what for what, differs in (
                    ("name", old.name != new.name), ("kind", old.kind != new.kind),
                    ("class", old.school_class != new.school_class),
                    ("active", not old.active),
                ) if differs
            )
            if changed:
                change = PersonChange(row.number, row.name, kind, row.school_class,
                                      old.school_class, changed)
                plan.updated.append(change)
                writes.patrons.append(_fact_row(new))
                if "class" in changed and old.school_class and kind != "teacher":
                    plan.transferred.append(change)
                if "active" in changed:
                    plan.returned.append(change)
            else:
                plan.unchanged += 1
        if row.kind == "teacher" and set(row.classes) != teaching.get(row.number, set()):
            plan.teacher_classes.append(
                PersonChange(row.number, row.name, kind, row.school_class,
                             changes=tuple(row.classes))
            )
            writes.teaching.append({"patron": row.number, "classes": list(row.classes)})

    in_file = {row.number for row in parsed.rows}
    scope = parsed.classes
    plan.considered_classes = ["*"] if whole_school else sorted(scope)
    missing = [
        p for p in patrons.values()
        if p.active and p.kind in ("student", "helper") and p.number not in in_file
        and (whole_school or p.school_class in scope)
    ]
    left = _not_rejected(parsed, missing, plan)
    for p in sorted(left, key=lambda p: (p.school_class or "", p.number)):
        plan.deactivated.append(PersonChange(p.number, p.name, p.kind, p.school_class,
                                             changes=("active",)))
        writes.patrons.append({**_fact_row(p), "active": False})
    plan.open_loans = _open_loans([p.number for p in left])
    return plan, writes


def _not_rejected(parsed: ParsedRoster, missing: list[_Patron], plan: RosterPlan) -> list[_Patron]:
    """The students ``missing`` from the accepted rows who really left: not those whose
    own row was rejected, and nobody of a class (or, when even the class cannot be read,
    of the file) with a rejected row whose number cannot be read. Each student kept
    this way, and each class held, becomes a warning in the preview (a held class
    first, where a long list of problems cannot hide it)."""
    kept_rows = {r.number: r for r in reversed(parsed.rejected) if r.number}
    unread = [r for r in parsed.rejected if r.number is None and r.kind != "teacher"]
    held_rows = {r.school_class: r for r in reversed(unread) if r.school_class}
    hold_all = next((r for r in unread if r.school_class is None), None)
    left: list[_Patron] = []
    held: dict[str, RejectedRow] = {}
    for p in sorted(missing, key=lambda p: (p.school_class or "", p.number)):
        row = kept_rows.get(p.number)
        if row is not None:
            plan.kept.append(p.number)
            plan.problems.append(Problem("row", row.row, "import.roster_kept_rejected",
                                         {"number": p.number}, level="warning", sheet=row.sheet))
            continue
        row = hold_all or held_rows.get(p.school_class or "")
        if row is not None:
            held.setdefault(row.school_class or "*", row)
            continue
        left.append(p)
    notes: list[Problem] = []
    for name, row in sorted(held.items()):
        plan.held_classes.append(name)
        params: dict[str, Any] = {} if name == "*" else {"school_class": name}
        key = "import.roster_held_all" if name == "*" else "import.roster_held_class"
        notes.append(Problem("row", row.row, key, params, level="warning", sheet=row.sheet))
    plan.problems[:0] = notes  # first: the preview may not show every problem
    return left


def _open_loans(numbers: list[str]) -> list[OpenLoan]:
    loans: list[OpenLoan] = []
    for part in masterdata.chunks(numbers):
        query = (
            Loan.select(Patron.number, Patron.name, Copy.barcode, Title.title, Loan.due_on)
            .join_from(Loan, Patron)
            .join_from(Loan, Copy)
            .join_from(Copy, Title)
            .where(Loan.returned_at.is_null() & Patron.number.in_(part))
            .order_by(Patron.number, Loan.due_on)
        )
        loans.extend(OpenLoan(*row) for row in importing.tuples(query))
    return loans


def plan_roster(db: pw.Database, parsed: ParsedRoster, *, whole_school: bool = False) -> RosterPlan:
    """What importing ``parsed`` would change in ``db`` (nothing is written).

    Raises:
        ImportRefused: ``import.joined_kiosk`` (a kiosk's master data is the desk's).
    """
    with importing.session(db):
        importing.check_may_import()
        return _plan(parsed, whole_school)[0]


def apply_roster(db: pw.Database, parsed: ParsedRoster, *, whole_school: bool = False) -> RosterPlan:
    """Import ``parsed`` into ``db`` in one transaction and return what it did.

    The plan is made again inside the transaction (the database may have changed
    since the preview), and only changed rows become facts.

    Raises:
        ImportRefused: ``import.joined_kiosk``.
    """
    with importing.session(db), importing.in_one_transaction(db):
        importing.check_may_import()
        plan, writes = _plan(parsed, whole_school)
        clock = HybridClock("desk", last_hlc())
        for kind, rows in ((Kind.CLASS_SAVED, writes.classes), (Kind.PATRON_SAVED, writes.patrons),
                           (Kind.TEACHER_CLASSES, writes.teaching)):
            if rows:
                plan.facts += masterdata.save_many(kind, rows, clock=clock)
    return plan
