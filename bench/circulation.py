"""Checkout and return latency of the circulation service on a big library.

Last run (full size, ``python bench/circulation.py`` on the cached library)::

    Library Kiosk - circulation benchmark (checkout / return commit latency)
    machine: Linux x86_64, Intel(R) Xeon(R) Processor, 2 cores, 24 GB RAM; Python 3.11.7, SQLite 3.40.1, peewee 4.5.3; run 2026-11-25 20:45
    library: bench/out/library-1000000c-5000000l.sqlite (4.9 GB), cached (built earlier; --rebuild to regenerate)
      1,000,000 copies of 333,333 titles; 5,003 patrons (4,750 students, 201 teachers, 50 helpers, 2 librarians); loans: 5,060,134 returned, 2,345 out now;
      journal 10,127,618 rows (5,062,479 checkout, 5,060,134 checkin, 5,004 card_issued, 1 refusal)
      generated: past loans spread over 5 years, each with a checkout and a checkin fact; no holds, renewals or refusals in the history
      timed: 2,000 checkouts + 2,000 returns per way, alternating, each return 50 checkouts after its checkout, 200 untimed warm-up pairs first;
      random patrons among 4,779 who may borrow (students and teachers with nothing overdue), random shelved books/picture books (no reference or periodicals)

      milliseconds                                 p50     p99    mean     max   service/floor p50  p99
      A. as configured: SQLite checkpoints the WAL inside a commit every 1000 pages
        checkout  service, connection per call    3.53    4.94    3.60   10.19      5.4x    0.4x
        checkout  service, connection held open    1.28   13.98    1.49   17.22      2.0x    1.0x
        checkout  floor (raw sqlite3)             0.65   13.50    0.88   18.19   
        return    service, connection per call    2.60    3.69    2.67    7.43     11.1x    0.3x
        return    service, connection held open    0.62   13.83    0.89   15.68      2.7x    1.1x
        return    floor (raw sqlite3)             0.23   12.70    0.46   16.00   
      B. as the kiosk runs: Circulation.defer_checkpoints(), then checkpoint() in the pauses (untimed, every 50 operations)
        checkout  service, connection held open    1.05    1.79    1.08    5.07      1.7x    1.3x
        checkout  floor (raw sqlite3)             0.63    1.41    0.67    2.50   
        return    service, connection held open    0.58    1.00    0.59    2.54      2.5x    1.3x
        return    floor (raw sqlite3)             0.23    0.77    0.27    6.60   
      goal: p99 <= 5 ms, within 3x of the floor
      A. service, connection per call: checkout met [p50 5.4x the floor, over 3x]; return met [p50 11.1x the floor, over 3x]
      A. service, connection held open: checkout MISSED (p99 14.0 ms > 5 ms) [p50 2.0x the floor]; return MISSED (p99 13.8 ms > 5 ms) [p50 2.7x the floor]
      B. service, connection held open: checkout met [p50 1.7x the floor]; return met [p50 2.5x the floor]
      floor checkout reads: patron (+class) by number; returns-only and closed-weekday settings; copy+title by barcode; open loan of the copy; patron's open loans with due dates, kinds, titles; loan rules; closed days; writes: journal row, loan, copy status
      floor return reads: copy+title by barcode; open loan of the copy + borrower; waiting hold on the title; ready hold on the copy; writes: journal row, loan returned_at, copy status

      scan to screen on this library (200 scans: a keyboard-wedge scanner's keys -> the borrowed book on the kiosk's screen, headless Textual)
        p50 15.7 ms   p95 17.1 ms   max 38.4 ms   goal: p95 <= 50 ms  met

Reading it: the kiosk runs as in B. Its database thread keeps its connection open
and defers SQLite's WAL checkpoints to the pauses between scans
(``Circulation.defer_checkpoints`` and ``checkpoint``, called by ``KioskApp``), so
no scan's commit pays the ~12 ms checkpoint that A shows at p99 for the service and
the raw floor alike. The service builds each hot statement's SQL once
(``kiosk.data.core.prepared``): before that, peewee spent ~230 us building each of 19
statements and a checkout took 4.97 ms at p50; now 0.7 to 1.1 ms (runs vary with
the page cache: the floor moved from 0.26 to 0.63 ms between two runs). What remains over the
floor at p50 is Python: making the fact (UUID, clock, JSON) and peewee turning rows
into model objects. A connection per call adds ~2.5 ms of connecting and schema
loading: the kiosk never works that way.

What it does: builds (once, cached in ``bench/out/``) an SQLite library with the real
migrations and a large generated history, then times ``Circulation.checkout`` and
``Circulation.checkin`` on random patrons and copies, beside a "floor": the same reads
and writes done by hand in raw ``sqlite3`` on the same file with the same pragmas.

    python bench/circulation.py                       # 1,000,000 copies, 5,000,000 loans
    python bench/circulation.py --copies 100000 --loans 500000   # a quick run
    python bench/circulation.py --rebuild              # regenerate the cached file
    python bench/circulation.py --profile              # where the service spends its time

Each run appends its own loans and journal rows to the cached file (a few thousand
rows per run, every one a valid fact), so the file stays a consistent library.
"""

from __future__ import annotations

import argparse
import cProfile
import json
import logging
import pstats
import random
import sqlite3
import sys
import time
import uuid
from collections import deque
from collections.abc import Callable, Iterator
from dataclasses import dataclass
from datetime import UTC, date, datetime, timedelta
from pathlib import Path
from typing import Any

sys.path.insert(0, str(Path(__file__).resolve().parent))
from _common import OUT, Latency, human_bytes, machine, percentile

from kiosk.data.core import settings
from kiosk.data.core.db import SQLITE_PRAGMAS
from kiosk.data.core.facts import HybridClock
from kiosk.data.core.library import open_library
from kiosk.data.core.store import Store
from kiosk.data.lending.circulation import Circulation

log = logging.getLogger("bench.circulation")

GOAL_P99_MS = 5.0
GOAL_RATIO = 3.0
GOAL = f"goal: p99 <= {GOAL_P99_MS:g} ms, within {GOAL_RATIO:g}x of the floor"

PROFILE_PAIRS = 300
"""Checkouts and returns profiled with ``--profile``."""

CHUNK = 100_000
"""Rows generated and inserted per ``executemany`` while building."""

KIOSKS = ("kiosk-1", "kiosk-2", "desk")
"""The kiosks the generated history was made at."""

_EPOCH = datetime(1970, 1, 1)

_SURNAMES = "王李张刘陈杨黄赵吴周徐孙马朱胡郭何高林罗郑梁谢宋唐许韩冯邓曹彭曾肖田董袁潘于蒋蔡余杜叶程"
_GIVEN = "子涵欣怡梓轩浩然宇航思远雨萱一诺佳琪俊杰明轩嘉怡诗琪文博晨阳可馨若曦天佑昊然紫涵语桐"
_WORDS = (
    "小王子", "星空", "海洋", "森林", "恐龙", "宇宙", "数学", "故事", "童话", "科学",
    "历史", "诗词", "地图", "动物", "植物", "机器人", "魔法", "冒险", "朋友", "四季",
    "Stars", "Ocean", "Dragons", "Robots", "Puzzles", "Rivers", "Castles", "Insects",
)
_CLC = "ABCDEGHIJKNOPQRSTUVXZ"


# -- building the library ------------------------------------------------------------


def _dt(seconds: float) -> str:
    """The database text of the naive UTC moment ``seconds`` after the epoch."""
    return (_EPOCH + timedelta(seconds=seconds)).isoformat(" ")


def _hlc(seconds: float, node: str) -> str:
    return f"{int(seconds * 1000):013d}.00000.{node}"


def _open_day(day: date) -> date:
    """``day`` moved past a weekend (the generated history ignores holidays)."""
    weekday = day.weekday()
    return day + timedelta(days=7 - weekday) if weekday >= 5 else day


def _isbn(rng: random.Random) -> str:
    digits = "978" + "".join(str(rng.randrange(10)) for _ in range(9))
    total = sum(int(d) * (1 if i % 2 == 0 else 3) for i, d in enumerate(digits))
    return digits + str((10 - total % 10) % 10)


@dataclass
class _Patrons:
    """The generated patrons: database ids, numbers, kinds."""

    ids: list[int]
    numbers: list[str]
    kinds: list[str]


def _patrons(raw: sqlite3.Connection, rng: random.Random, now: float) -> _Patrons:
    """~5,000 patrons: 4,750 students in 120 classes, 50 helpers, 200 teachers, 2 librarians."""
    classes = [(i + 1, f"{grade}年级{n}班", grade, 1)
               for i, (grade, n) in enumerate((g, n) for g in range(1, 7) for n in range(1, 21))]
    raw.executemany("INSERT INTO school_class (id, name, grade, active) VALUES (?,?,?,?)", classes)
    rows: list[tuple[Any, ...]] = []
    people = (
        [("student", f"S{i:06d}") for i in range(1, 4751)]
        + [("helper", f"H{i:04d}") for i in range(1, 51)]
        + [("teacher", f"T{i:04d}") for i in range(1, 201)]
        + [("librarian", f"L{i:03d}") for i in range(1, 3)]
    )
    for pid, (kind, number) in enumerate(people, start=1):
        name = rng.choice(_SURNAMES) + "".join(rng.choice(_GIVEN) for _ in range(rng.randint(1, 2)))
        school_class = rng.randrange(len(classes)) + 1 if kind in ("student", "helper") else None
        blocked = "lost books not paid" if kind == "student" and rng.random() < 0.002 else None
        rows.append((pid, number, name, kind, school_class, 1, blocked, None))
    raw.executemany(
        "INSERT INTO patron (id, number, name, kind, school_class_id, active, blocked_reason,"
        " pin_hash) VALUES (?,?,?,?,?,?,?,?)",
        rows,
    )
    teachers = [row[0] for row in rows if row[3] == "teacher"]
    raw.executemany(
        "INSERT INTO class_teacher (teacher_id, school_class_id) VALUES (?,?)",
        [(teachers[i % len(teachers)], cls[0]) for i, cls in enumerate(classes)],
    )
    # Every patron holds card serial 1, issued at the start of the history.
    issued = now - 5 * 365 * 86400 - 86400
    raw.executemany(
        "INSERT INTO card (patron_id, serial, issued_at) VALUES (?,1,?)",
        [(row[0], _dt(issued)) for row in rows],
    )
    raw.executemany(
        "INSERT INTO journal (uuid, kind, kiosk, wall_time, hlc, patron, copy, data, pushed_at)"
        " VALUES (?,?,?,?,?,?,?,?,?)",
        [
            (str(uuid.uuid4()), "card_issued", "desk", _dt(issued + i * 0.001),
             _hlc(issued + i * 0.001, "desk"), row[1], None, '{"serial": 1}',
             _dt(issued + 60))
            for i, row in enumerate(rows)
        ],
    )
    return _Patrons([r[0] for r in rows], [r[1] for r in rows], [r[3] for r in rows])


def _titles_and_copies(
    raw: sqlite3.Connection, rng: random.Random, copies: int, on_loan: set[int],
    kinds: bytearray,
) -> None:
    """``copies`` copies of ``len(kinds)`` titles; ``on_loan`` copies are lent out now."""
    kind_names = ("book", "picture_book", "periodical", "reference")
    titles = len(kinds)
    rows: list[tuple[Any, ...]] = []
    for tid in range(1, titles + 1):
        kind = kind_names[kinds[tid - 1]]
        words = " ".join(rng.choice(_WORDS) for _ in range(rng.randint(1, 3)))
        issue = None
        if kind == "periodical":
            issue = date(rng.randint(2019, 2025), rng.randint(1, 12), 1).isoformat()
        letter = rng.choice(_CLC)
        rows.append((
            tid, _isbn(rng), f"{words} {tid}",
            rng.choice(_SURNAMES) + rng.choice(_GIVEN) + rng.choice(_GIVEN),
            rng.choice(("人民文学出版社", "少年儿童出版社", "Penguin", "中华书局", "接力出版社")),
            rng.randint(1980, 2025), f"{letter}{rng.randint(0, 999)}.{rng.randint(1, 9)}",
            kind, issue,
        ))
        if len(rows) >= CHUNK:
            _insert_titles(raw, rows)
    _insert_titles(raw, rows)
    for cid in range(1, copies + 1):
        tid = _title_of(cid, copies, titles)
        # Only statuses that facts make: lost/withdrawn/repair copies would need facts
        # the journal has no kind for, and the state must stay a projection of it.
        status = "on_loan" if cid in on_loan else "available"
        rows.append((cid, f"B{cid:07d}", tid, f"{_CLC[tid % len(_CLC)]}-{tid % 40:02d}",
                     status, 1 if kinds[tid - 1] == 3 else 0))
        if len(rows) >= CHUNK:
            _insert_copies(raw, rows)
    _insert_copies(raw, rows)


def _insert_titles(raw: sqlite3.Connection, rows: list[tuple[Any, ...]]) -> None:
    raw.executemany(
        "INSERT INTO title (id, isbn, title, author, publisher, year, classification, kind,"
        " issue_date) VALUES (?,?,?,?,?,?,?,?,?)",
        rows,
    )
    rows.clear()


def _insert_copies(raw: sqlite3.Connection, rows: list[tuple[Any, ...]]) -> None:
    raw.executemany(
        "INSERT INTO copy (id, barcode, title_id, shelf, status, reference_only)"
        " VALUES (?,?,?,?,?,?)",
        rows,
    )
    rows.clear()


def _title_of(copy_id: int, copies: int, titles: int) -> int:
    """Copies are grouped by title: copy ids 1..copies spread evenly over the titles."""
    return (copy_id - 1) * titles // copies + 1


_INSERT_LOAN = (
    "INSERT INTO loan (id, copy_id, patron_id, out_at, due_on, returned_at, renewals, kiosk)"
    " VALUES (?,?,?,?,?,?,?,?)"
)
_INSERT_JOURNAL = (
    "INSERT INTO journal (uuid, kind, kiosk, wall_time, hlc, patron, copy, data, pushed_at)"
    " VALUES (?,?,?,?,?,?,?,?,?)"
)


def _loan_days(patron_kind: str, item_kind: int) -> int:
    if patron_kind in ("teacher", "librarian"):
        return 30
    return 7 if item_kind == 2 else 14


def _past_loans(
    raw: sqlite3.Connection, rng: random.Random, loans: int, lendable: list[int],
    patrons: _Patrons, borrowers: list[int], kinds: bytearray, copies: int, now: float,
) -> None:
    """``loans`` returned loans over five years, each with its checkout and checkin facts.

    Loan ``i`` lends copy ``lendable[i % len(lendable)]``, so a copy comes round again
    only after every lendable copy has been lent once: its loans never overlap.
    """
    start = now - 5 * 365 * 86400
    end = now - 75 * 86400  # every past loan is back before the current loans went out
    step = (end - start) / max(loans, 1)
    longest = min(30 * 86400, 0.8 * step * len(lendable))
    titles = len(kinds)
    loan_rows: list[tuple[Any, ...]] = []
    journal_rows: list[tuple[Any, ...]] = []
    numbers, pkinds = patrons.numbers, patrons.kinds
    for i in range(loans):
        copy_id = lendable[i % len(lendable)]
        patron = rng.choice(borrowers)
        kiosk = KIOSKS[i % 3]
        out = round(start + i * step + rng.random() * step * 0.5, 3)
        back = round(out + 7200 + rng.random() * (longest - 7200), 3)
        out_day = (_EPOCH + timedelta(seconds=out)).date()
        item_kind = kinds[_title_of(copy_id, copies, titles) - 1]
        due = _open_day(out_day + timedelta(days=_loan_days(pkinds[patron], item_kind)))
        loan_id = str(uuid.uuid4())
        out_text, back_text, barcode = _dt(out), _dt(back), f"B{copy_id:07d}"
        loan_rows.append((loan_id, copy_id, patron + 1, out_text, due.isoformat(), back_text,
                          0, kiosk))
        journal_rows.append((loan_id, "checkout", kiosk, out_text, _hlc(out, kiosk),
                             numbers[patron], barcode, f'{{"due_on": "{due.isoformat()}"}}',
                             _dt(out + 30)))
        journal_rows.append((str(uuid.uuid4()), "checkin", kiosk, back_text, _hlc(back, kiosk),
                             numbers[patron], barcode, f'{{"loan": "{loan_id}"}}',
                             _dt(back + 30)))
        if len(loan_rows) >= CHUNK:
            raw.executemany(_INSERT_LOAN, loan_rows)
            raw.executemany(_INSERT_JOURNAL, journal_rows)
            loan_rows.clear()
            journal_rows.clear()
            log.info("  %s of %s past loans", f"{i + 1:,}", f"{loans:,}")
    raw.executemany(_INSERT_LOAN, loan_rows)
    raw.executemany(_INSERT_JOURNAL, journal_rows)


def _open_loans(
    raw: sqlite3.Connection, rng: random.Random, current: list[tuple[int, int, float, bool]],
    patrons: _Patrons, kinds: bytearray, copies: int,
) -> None:
    """The loans out now: (patron index, copy id, out time, overdue) each with its fact."""
    titles = len(kinds)
    loan_rows, journal_rows = [], []
    for patron, copy_id, out, _ in current:
        kiosk = rng.choice(KIOSKS)
        out_day = (_EPOCH + timedelta(seconds=out)).date()
        item_kind = kinds[_title_of(copy_id, copies, titles) - 1]
        due = _open_day(out_day + timedelta(days=_loan_days(patrons.kinds[patron], item_kind)))
        loan_id = str(uuid.uuid4())
        loan_rows.append((loan_id, copy_id, patron + 1, _dt(out), due.isoformat(), None, 0, kiosk))
        journal_rows.append((loan_id, "checkout", kiosk, _dt(out), _hlc(out, kiosk),
                             patrons.numbers[patron], f"B{copy_id:07d}",
                             f'{{"due_on": "{due.isoformat()}"}}', _dt(out + 30)))
    raw.executemany(_INSERT_LOAN, loan_rows)
    raw.executemany(_INSERT_JOURNAL, journal_rows)


def build_library(path: Path | str, copies: int, loans: int) -> None:
    """Write a migrated library of ``copies`` copies and ``loans`` past loans at ``path``.

    The schema comes from the real migrations (:func:`kiosk.data.core.library.open_library`,
    which also seeds the settings and loan rules); the rows are generated and bulk
    inserted with raw ``sqlite3`` (secondary indexes dropped during the load and
    recreated from their own ``CREATE INDEX`` text, durability off), then the file is
    switched back to WAL. Every loan has its facts in the journal: a checkout and a
    checkin row per past loan, a checkout row per current loan, a card_issued row per
    patron. The file is built beside ``path`` and renamed when complete, so a crash
    never leaves a half-built library behind. ``path`` is replaced if it exists.
    """
    path = Path(path)
    path.parent.mkdir(parents=True, exist_ok=True)
    building = path.with_name(path.name + ".building")
    for leftover in (building, *(Path(f"{building}{s}") for s in ("-wal", "-shm"))):
        leftover.unlink(missing_ok=True)
    started = time.perf_counter()
    rng = random.Random(20240901)
    db = open_library(f"sqlite:///{building}", create=True)
    db.close()

    raw = sqlite3.connect(building, isolation_level=None)
    raw.execute("PRAGMA journal_mode=OFF")
    raw.execute("PRAGMA synchronous=OFF")
    raw.execute("PRAGMA foreign_keys=OFF")
    raw.execute("PRAGMA cache_size=-1048576")  # 1 GB: the loan primary key is random UUIDs
    raw.execute("PRAGMA temp_store=MEMORY")
    raw.execute("PRAGMA threads=4")
    indexes = raw.execute(
        "SELECT name, sql FROM sqlite_master WHERE type='index' AND sql IS NOT NULL"
        " AND tbl_name IN ('title', 'copy', 'loan', 'journal')"
    ).fetchall()
    raw.execute("BEGIN")
    for name, _ in indexes:
        raw.execute(f'DROP INDEX "{name}"')

    now = float(int(time.time()))
    patrons = _patrons(raw, rng, now)
    titles = max(1, copies // 3)
    kinds = bytearray(rng.choices((0, 1, 2, 3), weights=(70, 22, 5, 3), k=titles))

    # Who has what out now: 40% of students one book, 3% of students one overdue book,
    # teachers up to three books; each on its own copy.
    students = [i for i, k in enumerate(patrons.kinds) if k in ("student", "helper")]
    teachers = [i for i, k in enumerate(patrons.kinds) if k == "teacher"]
    lendable = [c for c in range(1, copies + 1)
                if kinds[_title_of(c, copies, titles) - 1] in (0, 1)]
    pool = iter(rng.sample(lendable, min(len(lendable), 2 * len(patrons.ids) + 1000)))
    current: list[tuple[int, int, float, bool]] = []
    for patron in students:
        roll = rng.random()
        if roll < 0.03:
            current.append((patron, next(pool), now - rng.uniform(20, 40) * 86400, True))
        elif roll < 0.43:
            current.append((patron, next(pool), now - rng.uniform(1, 13) * 86400, False))
    for patron in teachers:
        for _ in range(rng.randint(0, 3)):
            current.append((patron, next(pool), now - rng.uniform(1, 25) * 86400, False))
    on_loan = {copy_id for _, copy_id, _, _ in current}

    log.info("titles and copies")
    _titles_and_copies(raw, rng, copies, on_loan, kinds)
    log.info("past loans and their journal")
    circulating = [c for c in range(1, copies + 1)
                   if kinds[_title_of(c, copies, titles) - 1] != 3]  # all but reference
    rng.shuffle(circulating)
    borrowers = students * 9 + teachers * 24  # about 10% of the loans are teachers'
    _past_loans(raw, rng, loans, circulating, patrons, borrowers, kinds, copies, now)
    _open_loans(raw, rng, current, patrons, kinds, copies)

    # Closed days: a few holidays a year, from the start of the history to two years on.
    first = (_EPOCH + timedelta(seconds=now)).year - 5
    holidays = [(1, 1), (4, 5), (5, 1), (5, 2), (5, 3), (6, 10), (9, 15),
                (10, 1), (10, 2), (10, 3), (10, 4), (10, 5)]
    raw.executemany(
        "INSERT INTO closed_day (day, reason) VALUES (?, 'holiday')",
        [(date(year, m, d).isoformat(),) for year in range(first, first + 8) for m, d in holidays],
    )
    raw.execute("COMMIT")

    log.info("indexes")
    for name, sql in indexes:
        raw.execute(sql)
    problems = raw.execute("PRAGMA foreign_key_check").fetchmany(5)
    if problems:
        raise RuntimeError(f"generated rows break foreign keys: {problems}")
    raw.execute("PRAGMA journal_mode=WAL")
    raw.close()
    building.replace(path)
    log.info("built %s in %.0f s", path, time.perf_counter() - started)


# -- describing the library ----------------------------------------------------------


def describe(raw: sqlite3.Connection) -> str:
    """What the library holds, counted from the file itself."""
    def count(sql: str) -> int:
        return int(raw.execute(sql).fetchone()[0])

    by_kind = dict(raw.execute("SELECT kind, COUNT(*) FROM patron GROUP BY kind").fetchall())
    journal = dict(raw.execute("SELECT kind, COUNT(*) FROM journal GROUP BY kind").fetchall())
    return (
        f"{count('SELECT COUNT(*) FROM copy'):,} copies of {count('SELECT COUNT(*) FROM title'):,}"
        f" titles; {sum(by_kind.values()):,} patrons ("
        + ", ".join(f"{v:,} {k}s" for k, v in sorted(by_kind.items(), key=lambda kv: -kv[1]))
        + f"); loans: {count('SELECT COUNT(*) FROM loan WHERE returned_at IS NOT NULL'):,}"
        f" returned, {count('SELECT COUNT(*) FROM loan WHERE returned_at IS NULL'):,} out now;\n"
        f"  journal {sum(journal.values()):,} rows ("
        + ", ".join(f"{v:,} {k}" for k, v in sorted(journal.items(), key=lambda kv: -kv[1]))
        + ")"
    )


# -- choosing who borrows what -------------------------------------------------------


def eligible_patrons(raw: sqlite3.Connection, today: date) -> list[str]:
    """Patrons who may borrow one more book now: active, unblocked, nothing overdue."""
    rows = raw.execute(
        """
        SELECT p.number FROM patron p
        JOIN loan_rule r ON r.patron_kind = p.kind AND r.item_kind = '*'
        WHERE p.active AND p.blocked_reason IS NULL AND p.kind IN ('student', 'teacher')
          AND (SELECT COUNT(*) FROM loan l WHERE l.patron_id = p.id
               AND l.returned_at IS NULL) < r.max_items
          AND NOT EXISTS (SELECT 1 FROM loan l WHERE l.patron_id = p.id
               AND l.returned_at IS NULL AND l.due_on < ?)
        """,
        (today.isoformat(),),
    ).fetchall()
    return [number for (number,) in rows]


def lendable_copies(raw: sqlite3.Connection, rng: random.Random, wanted: int) -> list[str]:
    """``wanted`` distinct random barcodes of books on the shelf that anyone may borrow."""
    top = raw.execute("SELECT MAX(id) FROM copy").fetchone()[0]
    found: list[str] = []
    seen: set[int] = set()
    while len(found) < wanted:
        ids = [i for i in rng.sample(range(1, top + 1), min(top, 2 * wanted)) if i not in seen]
        seen.update(ids)
        marks = ",".join("?" * min(len(ids), 900))
        for start in range(0, len(ids), 900):
            batch = ids[start:start + 900]
            marks = ",".join("?" * len(batch))
            found += [
                barcode for (barcode,) in raw.execute(
                    f"SELECT c.barcode FROM copy c JOIN title t ON t.id = c.title_id"
                    f" WHERE c.id IN ({marks}) AND c.status = 'available'"
                    f" AND NOT c.reference_only AND t.kind IN ('book', 'picture_book')",
                    batch,
                )
            ]
    rng.shuffle(found)
    return found[:wanted]


# -- the floor: the same work by hand -------------------------------------------------


class Floor:
    """Checkout and return written directly against ``sqlite3``: the least the work costs.

    The same reads the rules need and the same writes the service makes (journal row,
    loan, copy status), in one ``BEGIN IMMEDIATE`` transaction per operation, on one
    connection kept open, with the service's pragmas.
    """

    CHECKOUT_READS = (
        "patron (+class) by number; returns-only and closed-weekday settings; copy+title by"
        " barcode; open loan of the copy; patron's open loans with due dates, kinds, titles;"
        " loan rules; closed days"
    )
    CHECKIN_READS = (
        "copy+title by barcode; open loan of the copy + borrower; waiting hold on the title;"
        " ready hold on the copy"
    )

    def __init__(self, path: Path, kiosk_id: str) -> None:
        self.raw = sqlite3.connect(path, isolation_level=None, timeout=5)
        for key, value in SQLITE_PRAGMAS.items():
            self.raw.execute(f"PRAGMA {key}={value}")
        self.kiosk_id = kiosk_id
        last = self.raw.execute("SELECT hlc FROM journal ORDER BY hlc DESC LIMIT 1").fetchone()
        self.hlc = HybridClock(kiosk_id, last[0] if last else None)

    def _fact(self, kind: str, now: datetime, patron: str | None, copy: str,
              data: dict[str, Any]) -> tuple[Any, ...]:
        return (
            str(uuid.uuid4()), kind, self.kiosk_id, now.replace(tzinfo=None).isoformat(" "),
            self.hlc.tick(now), patron, copy, json.dumps(data, ensure_ascii=False, sort_keys=True),
            None,
        )

    def checkout(self, number: str, barcode: str) -> dict[str, Any]:
        """Lend ``barcode`` to ``number``; return what the screen shows."""
        sql = self.raw.execute
        now = datetime.now(UTC)
        today = now.astimezone().date()
        sql("BEGIN IMMEDIATE")
        try:
            patron = sql(
                "SELECT p.id, p.number, p.name, p.kind, p.active, p.blocked_reason, c.name"
                " FROM patron p LEFT JOIN school_class c ON c.id = p.school_class_id"
                " WHERE p.number = ?", (number,),
            ).fetchone()
            setting = dict(sql(
                "SELECT key, value FROM setting WHERE key IN ('returns_only', 'closed_weekdays')"
            ).fetchall())
            copy = sql(
                "SELECT c.id, c.barcode, c.status, c.reference_only, t.id, t.title, t.author,"
                " t.kind, t.issue_date FROM copy c JOIN title t ON t.id = c.title_id"
                " WHERE c.barcode = ?", (barcode,),
            ).fetchone()
            if patron is None or copy is None or not patron[4] or patron[5]:
                raise RuntimeError(f"floor: cannot lend {barcode} to {number}")
            if setting.get("returns_only", "0") == "1":
                raise RuntimeError("floor: returns only")
            busy = sql(
                "SELECT id, patron_id FROM loan WHERE copy_id = ? AND returned_at IS NULL",
                (copy[0],),
            ).fetchone()
            if busy is not None or copy[3] or copy[7] not in ("book", "picture_book") \
                    or copy[2] not in ("available", "hold_shelf"):
                raise RuntimeError(f"floor: {barcode} is not lendable")
            loans = sql(
                "SELECT l.id, c.barcode, t.title, t.author, l.due_on, l.renewals, t.kind"
                " FROM loan l JOIN copy c ON c.id = l.copy_id JOIN title t ON t.id = c.title_id"
                " WHERE l.patron_id = ? AND l.returned_at IS NULL ORDER BY l.due_on, l.out_at",
                (patron[0],),
            ).fetchall()
            if any(date.fromisoformat(loan[4]) < today for loan in loans):
                raise RuntimeError(f"floor: {number} has overdue loans")
            rules = {kind: (days, items) for kind, days, items in sql(
                "SELECT item_kind, loan_days, max_items FROM loan_rule"
                " WHERE patron_kind = ? AND item_kind IN ('*', ?)", (patron[3], copy[7]),
            )}
            overall, specific = rules.get("*"), rules.get(copy[7])
            rule = specific or overall
            if rule is None or (overall and len(loans) >= overall[1]) or (
                specific and sum(1 for loan in loans if loan[6] == copy[7]) >= specific[1]
            ):
                raise RuntimeError(f"floor: {number} may not borrow more")
            due = today + timedelta(days=rule[0])
            closed = {day for (day,) in sql(
                "SELECT day FROM closed_day WHERE day BETWEEN ? AND ?",
                (due.isoformat(), (due + timedelta(days=120)).isoformat()),
            )}
            weekdays = {int(d) for d in setting.get("closed_weekdays", "5,6").split(",") if d}
            while due.weekday() in weekdays or due.isoformat() in closed:
                due += timedelta(days=1)
            fact = self._fact("checkout", now, number, barcode, {"due_on": due.isoformat()})
            sql(_INSERT_JOURNAL, fact)
            sql(_INSERT_LOAN, (fact[0], copy[0], patron[0], fact[3], due.isoformat(), None, 0,
                               self.kiosk_id))
            sql("UPDATE copy SET status = 'on_loan' WHERE id = ?", (copy[0],))
            sql("COMMIT")
        except BaseException:
            sql("ROLLBACK")
            raise
        return {"patron": patron, "loans": [*loans, (fact[0], barcode, copy[5], copy[6],
                                                       due.isoformat(), 0, copy[7])]}

    def checkin(self, barcode: str) -> dict[str, Any]:
        """Take ``barcode`` back; return where it goes."""
        sql = self.raw.execute
        now = datetime.now(UTC)
        sql("BEGIN IMMEDIATE")
        try:
            copy = sql(
                "SELECT c.id, c.barcode, c.status, c.shelf, t.id, t.title, t.classification"
                " FROM copy c JOIN title t ON t.id = c.title_id WHERE c.barcode = ?",
                (barcode,),
            ).fetchone()
            if copy is None:
                raise RuntimeError(f"floor: no copy {barcode}")
            loan = sql(
                "SELECT l.id, l.due_on, p.number, p.name FROM loan l"
                " JOIN patron p ON p.id = l.patron_id"
                " WHERE l.copy_id = ? AND l.returned_at IS NULL", (copy[0],),
            ).fetchone()
            waiting = sql(
                "SELECT id FROM hold WHERE title_id = ? AND status = 'waiting'"
                " ORDER BY placed_at LIMIT 1", (copy[4],),
            ).fetchone()
            ready = sql(
                "SELECT id FROM hold WHERE copy_id = ? AND status = 'ready'", (copy[0],)
            ).fetchone()
            if waiting is not None or ready is not None:
                raise RuntimeError("floor: holds are not generated")
            data = {"loan": loan[0]} if loan else {"loan": None}
            fact = self._fact("checkin", now, loan[2] if loan else None, barcode, data)
            sql(_INSERT_JOURNAL, fact)
            if loan is not None:
                sql("UPDATE loan SET returned_at = ? WHERE id = ?", (fact[3], loan[0]))
            sql("UPDATE copy SET status = 'available' WHERE id = ?", (copy[0],))
            sql("COMMIT")
        except BaseException:
            sql("ROLLBACK")
            raise
        return {"barcode": barcode, "shelf": copy[3], "borrower": loan[3] if loan else ""}

    def close(self) -> None:
        """Close the connection."""
        self.raw.close()


# -- timing --------------------------------------------------------------------------


@dataclass
class Timings:
    """Seconds per checkout and per return of one way of doing the work."""

    checkout: list[float]
    checkin: list[float]


def run_pairs(
    checkout: Callable[[str, str], Any], checkin: Callable[[str], Any], pairs: int,
    patrons: list[str], copies: Iterator[str], rng: random.Random, lag: int = 50,
    between: Callable[[], Any] | None = None, every: int = 50,
) -> Timings:
    """``pairs`` checkouts, each copy returned ``lag`` checkouts later; every call timed.

    A patron has at most one of these loans at a time, so no quota ever fills up; the
    return comes later than its checkout so it does not find the same pages just read.
    ``between`` (if given) runs untimed after every ``every`` operations: the work a
    kiosk can do while it waits for the next scan.
    """
    timings = Timings([], [])
    pending: deque[tuple[str, str]] = deque()
    busy: set[str] = set()
    clock = time.perf_counter
    done = 0

    def idle() -> None:
        nonlocal done
        done += 1
        if between is not None and done % every == 0:
            between()

    def give_back() -> None:
        number, barcode = pending.popleft()
        busy.discard(number)
        started = clock()
        checkin(barcode)
        timings.checkin.append(clock() - started)
        idle()

    for _ in range(pairs):
        number = rng.choice(patrons)
        while number in busy:
            number = rng.choice(patrons)
        barcode = next(copies)
        started = clock()
        checkout(number, barcode)
        timings.checkout.append(clock() - started)
        idle()
        pending.append((number, barcode))
        busy.add(number)
        if len(pending) > lag:
            give_back()
    while pending:
        give_back()
    return timings


LABELS = {
    "per_call": "service, connection per call",
    "held": "service, connection held open",
    "floor": "floor (raw sqlite3)",
    "held_idle": "service, connection held open",
    "floor_idle": "floor (raw sqlite3)",
}


def _section(results: dict[str, Timings], ways: tuple[str, ...], base: str) -> None:
    for op, attr in (("checkout", "checkout"), ("return", "checkin")):
        floor = Latency.of(getattr(results[base], attr))
        for way in ways:
            print(_row(f"{op:<9} {LABELS[way]}", Latency.of(getattr(results[way], attr)), floor))
        print(_row(f"{op:<9} {LABELS[base]}", floor, None))


def _row(label: str, latency: Latency, floor: Latency | None) -> str:
    ratio = ""
    if floor is not None:
        ratio = f"{latency.p50 / floor.p50:6.1f}x {latency.p99 / floor.p99:6.1f}x"
    return (f"    {label:<38}{latency.p50:8.2f}{latency.p99:8.2f}{latency.mean:8.2f}"
            f"{latency.worst:8.2f}   {ratio}")


def _verdict(service: Latency, floor: Latency) -> str:
    """Whether ``service`` meets the goal (p99 under 5 ms and within 3x the floor's p99).

    The p50 ratio is reported beside it: a stricter reading of the goal, shown so a
    typical scan's overhead over raw SQLite is never hidden by a good tail.
    """
    misses = []
    if service.p99 > GOAL_P99_MS:
        misses.append(f"p99 {service.p99:.1f} ms > {GOAL_P99_MS:g} ms")
    ratio = service.p99 / floor.p99
    if ratio > GOAL_RATIO:
        misses.append(f"p99 {ratio:.1f}x the floor")
    p50 = service.p50 / floor.p50
    verdict = "met" if not misses else "MISSED (" + ", ".join(misses) + ")"
    return f"{verdict} [p50 {p50:.1f}x the floor{'' if p50 <= GOAL_RATIO else ', over 3x'}]"


def settle(path: Path) -> None:
    """Checkpoint and empty the WAL, so each way of working starts from the same state."""
    raw = sqlite3.connect(path, timeout=5)
    try:
        raw.execute("PRAGMA wal_checkpoint(TRUNCATE)").fetchall()
    finally:
        raw.close()


def library_path(copies: int, loans: int) -> Path:
    """The cached library of this size."""
    return OUT / f"library-{copies}c-{loans}l.sqlite"


def main(argv: list[str] | None = None) -> None:
    """Build or reuse the library, time the service and the floor, print the figures."""
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--copies", type=int, default=1_000_000)
    parser.add_argument("--loans", type=int, default=5_000_000)
    parser.add_argument("--ops", type=int, default=2000, help="timed checkouts (and returns)")
    parser.add_argument("--warmup", type=int, default=200)
    parser.add_argument("--rebuild", action="store_true")
    parser.add_argument("--scans", type=int, default=200,
                        help="scans timed from keyboard to screen on the big library (0: none)")
    parser.add_argument("--profile", action="store_true",
                        help="also profile the service (cProfile) and print the top entries")
    args = parser.parse_args(argv)
    logging.basicConfig(level=logging.INFO, format="  [build] %(message)s")

    path = library_path(args.copies, args.loans)
    built = ""
    if args.rebuild or not path.exists():
        started = time.perf_counter()
        build_library(path, args.copies, args.loans)
        built = f"built in {time.perf_counter() - started:.0f} s"
    else:
        built = "cached (built earlier; --rebuild to regenerate)"

    print("Library Kiosk - circulation benchmark (checkout / return commit latency)")
    print(f"machine: {machine()}; run {datetime.now():%Y-%m-%d %H:%M}")
    print(f"library: {path.relative_to(OUT.parent.parent)} "
          f"({human_bytes(path.stat().st_size)}), {built}")
    raw = sqlite3.connect(path)
    print(f"  {describe(raw)}")
    print("  generated: past loans spread over 5 years, each with a checkout and a checkin fact;"
          " no holds, renewals or refusals in the history")

    rng = random.Random(7)
    db = open_library(f"sqlite:///{path}")
    circulation = Circulation(Store(db, "bench-kiosk"))
    with db.connection_context():
        today = circulation.store.today()
        settings.get("returns_only")
    patrons = eligible_patrons(raw, today)
    wanted = 5 * (args.ops + args.warmup) + (PROFILE_PAIRS + 1 if args.profile else 0)
    copies = iter(lendable_copies(raw, rng, wanted))
    raw.close()
    print(f"  timed: {args.ops:,} checkouts + {args.ops:,} returns per way, alternating, each"
          f" return 50 checkouts after its checkout, {args.warmup} untimed warm-up pairs first;")
    print(f"  random patrons among {len(patrons):,} who may borrow (students and teachers with"
          " nothing overdue), random shelved books/picture books (no reference or periodicals)")

    def timed(
        checkout: Callable[[str, str], Any], checkin: Callable[[str], Any],
        between: Callable[[], Any] | None = None,
    ) -> Timings:
        settle(path)
        run_pairs(checkout, checkin, args.warmup, patrons, copies, rng, between=between)
        return run_pairs(checkout, checkin, args.ops, patrons, copies, rng, between=between)

    results: dict[str, Timings] = {}
    results["per_call"] = timed(circulation.checkout, circulation.checkin)
    with db.connection_context():
        results["held"] = timed(circulation.checkout, circulation.checkin)
    floor = Floor(path, "bench-floor")
    results["floor"] = timed(floor.checkout, floor.checkin)
    # The same with the WAL checkpoint moved out of the commits into the pauses between
    # scans (a background worker's job); the kiosk's connection never checkpoints itself.
    floor.raw.execute("PRAGMA wal_autocheckpoint=0")
    results["floor_idle"] = timed(
        floor.checkout, floor.checkin,
        between=lambda: floor.raw.execute("PRAGMA wal_checkpoint(PASSIVE)").fetchall(),
    )
    floor.close()
    with db.connection_context():
        circulation.store.defer_checkpoints()  # as the kiosk's database thread does
        results["held_idle"] = timed(
            circulation.checkout, circulation.checkin, between=circulation.store.checkpoint
        )

    print()
    print(f"  {'milliseconds':<40}{'p50':>8}{'p99':>8}{'mean':>8}{'max':>8}"
          "   service/floor p50  p99")
    print("  A. as configured: SQLite checkpoints the WAL inside a commit every 1000 pages")
    _section(results, ("per_call", "held"), "floor")
    print("  B. as the kiosk runs: Circulation.defer_checkpoints(), then checkpoint() in the"
          " pauses (untimed, every 50 operations)")
    _section(results, ("held_idle",), "floor_idle")
    print(f"  {GOAL}")
    for section, way in (("A.", "per_call"), ("A.", "held"), ("B.", "held_idle")):
        base = "floor_idle" if way.endswith("idle") else "floor"
        verdicts = [
            f"{op} " + _verdict(Latency.of(getattr(results[way], attr)),
                                Latency.of(getattr(results[base], attr)))
            for op, attr in (("checkout", "checkout"), ("return", "checkin"))
        ]
        print(f"  {section} {LABELS[way]}: " + "; ".join(verdicts))
    print(f"  floor checkout reads: {Floor.CHECKOUT_READS}; writes: journal row, loan,"
          " copy status")
    print(f"  floor return reads: {Floor.CHECKIN_READS}; writes: journal row, loan returned_at,"
          " copy status")

    if args.profile:
        profile_service(circulation, db, patrons, copies, rng)
    if args.scans:
        db.close()
        scan_to_screen(path, args.scans)


def scan_to_screen(path: Path, scans: int) -> None:
    """The cost of one scan from the scanner's keys to the book on screen (bench/scan_latency)."""
    import asyncio

    from scan_latency import GOAL_P95_MS, measure

    timings = asyncio.run(measure(f"sqlite:///{path}", scans))
    p50, p95 = percentile(timings, 0.50), percentile(timings, 0.95)
    print()
    print(f"  scan to screen on this library ({len(timings)} scans: a keyboard-wedge scanner's"
          " keys -> the borrowed book on the kiosk's screen, headless Textual)")
    print(f"    p50 {p50:.1f} ms   p95 {p95:.1f} ms   max {max(timings):.1f} ms"
          f"   goal: p95 <= {GOAL_P95_MS:g} ms  {'met' if p95 <= GOAL_P95_MS else 'MISSED'}")


def _group(key: tuple[str, int, str]) -> str:
    filename, _, name = key
    if filename == "~":
        if "sqlite3" in name:
            return "SQLite itself (execute, fetch, commit)"
        return "Python built-ins (isinstance, getattr...: mostly peewee's calls)"
    if filename.endswith("peewee.py"):
        return "peewee (building SQL, rows to models)"
    if "/kiosk/" in filename:
        return "kiosk service, projection, journal"
    return "other Python (uuid, json, datetime, contextlib...)"


def _breakdown(profiler: cProfile.Profile, ops: int) -> list[str]:
    """Where the profiled time went, grouped, plus the statements run per operation."""
    stats = pstats.Stats(profiler)
    table: dict[tuple[str, int, str], tuple[Any, ...]] = stats.stats  # type: ignore[attr-defined]
    total = sum(entry[2] for entry in table.values())
    groups: dict[str, float] = {}
    statements = 0
    for key, (_, calls, tottime, _, _) in table.items():
        groups[_group(key)] = groups.get(_group(key), 0.0) + tottime
        if key[2] == "execute_sql" and key[0].endswith("peewee.py"):
            statements += calls
    lines = [f"{statements / ops:.0f} SQL statements per operation"]
    lines += [f"{share / total:5.0%}  {name}"
              for name, share in sorted(groups.items(), key=lambda kv: -kv[1])]
    top = sorted(table.items(), key=lambda kv: -kv[1][2])[:8]
    lines.append("busiest functions (own time): " + ", ".join(
        f"{key[2]} {entry[2] / total:.0%}" for key, entry in top))
    return lines


def _statement_cost(db: Any, barcode: str) -> str:
    """What one typical statement costs to build in peewee versus to run in SQLite."""
    from kiosk.data.core.models import Copy, Title

    def build() -> Any:
        return Copy.select(Copy, Title).join(Title).where(Copy.barcode == barcode)

    rounds = 500
    with db.connection_context():
        sql, params = build().sql()
        started = time.perf_counter()
        for _ in range(rounds):
            build().sql()
        building = (time.perf_counter() - started) / rounds
        started = time.perf_counter()
        for _ in range(rounds):
            db.execute_sql(sql, params).fetchall()
        running = (time.perf_counter() - started) / rounds
        started = time.perf_counter()
        for _ in range(rounds):
            build().first()
        whole = (time.perf_counter() - started) / rounds
    return (f"copy+title by barcode: peewee builds the SQL in {building * 1e6:.0f} us,"
            f" SQLite runs it in {running * 1e6:.0f} us, .first() end to end"
            f" {whole * 1e6:.0f} us")


def profile_service(
    circulation: Circulation, db: Any, patrons: list[str], copies: Iterator[str],
    rng: random.Random, pairs: int = PROFILE_PAIRS,
) -> None:
    """Profile service checkouts and returns (connection held) and say where time goes."""
    profilers = {"checkout": cProfile.Profile(), "return": cProfile.Profile()}

    def profiled(function: Callable[..., Any], profiler: cProfile.Profile) -> Callable[..., Any]:
        def call(*args: Any) -> Any:
            profiler.enable()
            try:
                return function(*args)
            finally:
                profiler.disable()
        return call

    with db.connection_context():
        run_pairs(profiled(circulation.checkout, profilers["checkout"]),
                  profiled(circulation.checkin, profilers["return"]),
                  pairs, patrons, copies, rng)
    print()
    print(f"profile (cProfile, {pairs} service checkouts and returns, connection held open;"
          " the profiler inflates Python time):")
    for op, profiler in profilers.items():
        print(f"  {op}: " + "\n    ".join(_breakdown(profiler, pairs)))
    print(f"  {_statement_cost(db, next(copies))}")


if __name__ == "__main__":
    main()
