"""The librarian's day log on a year of facts: opening it, and the filter per keystroke.

What it does: builds (once, cached in ``bench/out/``) an SQLite library with the real
migrations, 1,000 students in 30 classes, 20,000 copies and a journal of a year of
500,000 facts (loans, returns, renewals, refusals, card events) of which 5,000 fall
on the last day; then, on that day:

* the service: ``DayBook.day_log`` (the day's facts read and put in words);
* the open: the kiosk's ``LibrarianScreen`` pushed in a headless Textual app until
  its log table holds the day's newest rows and its visible lines are drawn (the
  screen is built while the database thread reads the newest 200 facts), and then
  until the whole day is in the table (read right after; the filter then searches
  all of it);
* each filter keystroke: the words a librarian types ("3年级2班", a name, a barcode,
  "refused"...), one character at a time and back with backspace, each one the
  filter over the day's rows + the table's new rows + drawing its visible lines;
* the other tabs' services on the same year (200,000 past loans, 3,000 out now).

Last run (``python bench/roles_librarian.py --runs 30``, quiet machine)::

    machine: Linux x86_64, Intel(R) Xeon(R) Processor, 2 cores, 24 GB RAM; Python 3.11.7,
      SQLite 3.40.1, peewee 4.5.3; run 2026-11-27 11:34, load average about 1
    library: 500,000 facts over a year, 5,000 on 2025-06-18 (227.6 MB)
      milliseconds                                     p50     p95   goal (p95)
      day log, service (DayBook.day_log)           121.1   137.2   (part of the open)
      day log open: screen pushed -> table drawn   155.8   212.0   <= 300 ms  met
      ... its CPU time (both threads)               157.6   214.6
      ... and the whole day in the table           355.9   636.1
      filter, per keystroke (66 keys)             8.0    10.0   <= 50 ms  met  (worst 13.3)
      other tabs: DayBook.cases() (399 rows)        74.2    80.3
      other tabs: DayBook.overdue() (2,078 rows)    43.8    50.7

    (earlier the same day: 10:14, load average 4.7, before the two changes below:
    open p50 201 ms, p95 425 ms; 11:05, quiet, with the first only: p95 272-349 ms)

Reading it: the filter meets its goal with room to spare (in memory over the day's
rows, faster than asking the database: each key filters the last key's result). The
open's CPU time is mostly Textual building and painting the screen (styles applied to
~21 widgets, the first full paint); the database's part is the newest 200 facts (a
few ms), read on the database thread while the screen is built. What got it there:
the log's own line-drawn table instead of DataTable, one line of tab names instead of
TabbedContent (45 widgets before, 21 now), the other tabs built when first shown, rows
read as plain tuples from the driver and put in words with caches (the service went
from 263 to ~120-140 ms at p50), and the newest rows shown before the whole day is
read. The open's tail was two things, each measured: the whole day's reading (Python
on the database thread) competing with the first paint, now started after it; and a
full pass of Python's garbage collector over the kiosk's heap landing in the open
(with the collector off, p95 152 ms), now held until the first paint (at most 2 s).

    python bench/roles_librarian.py               # 500,000 facts, 5,000 on the day
    python bench/roles_librarian.py --rebuild     # regenerate the cached file
    python bench/roles_librarian.py --facts 50000 --day-facts 1000   # a quick run
"""

from __future__ import annotations

import argparse
import asyncio
import json
import logging
import os
import random
import sqlite3
import sys
import time
import uuid
from datetime import UTC, date, datetime, timedelta
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parent))
from _common import OUT, human_bytes, machine, percentile

from kiosk.config import Config
from kiosk.data.core import library
from kiosk.data.core.library import open_library, set_pin
from kiosk.data.core.store import Store
from kiosk.data.lending.circulation import Circulation
from kiosk.data.librarian.daybook import DayBook

DAY = date(2025, 6, 18)
"""The day the librarian reviews (a Wednesday): the last day of the generated year."""

GOAL_OPEN_MS = 300.0
GOAL_KEY_MS = 50.0

REASONS = [
    ("patron.quota", {"limit": 5}), ("patron.overdue", {"count": 1}),
    ("copy.reference_only", {}), ("card.revoked", {}), ("card.forged", {}),
    ("copy.on_loan_other", {}), ("renew.limit", {}),
]

WORDS = ["3年级2班", "王小", "B0012", "refused", "return 5年级", "card"]
"""What the librarian types, word by word (each character one keystroke)."""


def build(path: Path, facts: int, day_facts: int, seed: int = 7) -> None:
    """A library with a year of ``facts`` facts, ``day_facts`` of them on :data:`DAY`."""
    rng = random.Random(seed)
    db = open_library(f"sqlite:///{path}", create=True)
    with db.connection_context(), db.atomic():
        from kiosk.data.core.models import Patron  # the bench builds the library by hand

        Patron.create(number="L0001", name="张老师", kind="librarian")
        set_pin("L0001", "2468")
        library.issue_card("L0001", when=datetime(2024, 6, 1, tzinfo=UTC))
    db.close()
    raw = sqlite3.connect(path)
    surnames, given = "王李张刘陈杨黄赵周吴", "小明红华丽强军伟芳娜"
    classes = [f"{g}年级{c}班" for g in range(1, 7) for c in range(1, 6)]
    raw.executemany("INSERT INTO school_class (name, grade, active) VALUES (?, ?, 1)",
                    [(name, int(name[0])) for name in classes])
    students = [f"S{i:05d}" for i in range(1000)]
    raw.executemany(
        "INSERT INTO patron (number, name, kind, school_class_id, active) "
        "VALUES (?, ?, 'student', ?, 1)",
        [(n, rng.choice(surnames) + rng.choice(given) + rng.choice(given), i % 30 + 1)
         for i, n in enumerate(students)],
    )
    raw.executemany(
        "INSERT INTO title (key, title, author, publisher, classification, kind) "
        "VALUES (?, ?, '作者', '', 'I247', 'book')",
        [(uuid.uuid4().hex, f"图书 {i}") for i in range(10000)],
    )
    copies = [f"B{i:06d}" for i in range(20000)]
    raw.executemany(
        "INSERT INTO copy (barcode, title_id, shelf, status, reference_only) "
        "VALUES (?, ?, 'I', 'available', 0)",
        [(code, i % 10000 + 1) for i, code in enumerate(copies)],
    )
    start = datetime.combine(DAY - timedelta(days=364), datetime.min.time())
    day_start = datetime.combine(DAY, datetime.min.time())

    def moment(on_day: bool) -> datetime:
        if on_day:
            return day_start + timedelta(seconds=rng.uniform(7.5 * 3600, 17 * 3600))
        return start + timedelta(seconds=rng.uniform(0, 364 * 86400))

    rows: list[tuple[object, ...]] = []
    for n in range(facts):
        at = moment(n < day_facts)
        roll = rng.random()
        patron, copy = rng.choice(students), rng.choice(copies)
        copy_or_none: str | None = copy
        data: dict[str, object]
        if roll < 0.45:
            kind, data = "checkout", {"due_on": (at.date() + timedelta(days=14)).isoformat()}
        elif roll < 0.88:
            kind, data = "checkin", {"loan": str(uuid.uuid4())}
        elif roll < 0.92:
            kind, data = "renew", {"loan": str(uuid.uuid4()),
                                   "due_on": (at.date() + timedelta(days=21)).isoformat()}
        elif roll < 0.99:
            reason, params = rng.choice(REASONS)
            kind, data = "refusal", {"reason": reason, "params": params}
        else:
            kind, data, copy_or_none = "card_issued", {"serial": 2}, None
        ms = int(at.replace(tzinfo=UTC).timestamp() * 1000)
        rows.append((str(uuid.uuid4()), kind, "kiosk-1", at.isoformat(" "),
                     f"{ms:013d}.00000.kiosk-1", patron, copy_or_none,
                     json.dumps(data, ensure_ascii=False, sort_keys=True)))
        if len(rows) == 50_000:
            _insert(raw, rows)
            rows = []
    _insert(raw, rows)
    # The loans of the year: 200,000 returned, and 3,000 out now (some overdue), one
    # open loan per copy; the other tabs (overdue by class) read these.
    loans: list[tuple[object, ...]] = []
    for n in range(200_000):
        out = moment(False)
        loans.append((str(uuid.uuid4()), rng.randrange(1, 20001), rng.randrange(2, 1002),
                       out.isoformat(" "), (out.date() + timedelta(days=14)).isoformat(),
                       (out + timedelta(days=rng.uniform(1, 20))).isoformat(" ")))
    for n, copy_id in enumerate(rng.sample(range(1, 20001), 3000)):
        out = day_start - timedelta(days=rng.uniform(0, 45))
        loans.append((str(uuid.uuid4()), copy_id, rng.randrange(2, 1002), out.isoformat(" "),
                      (out.date() + timedelta(days=14)).isoformat(), None))
    raw.executemany(
        "INSERT INTO loan (id, copy_id, patron_id, out_at, due_on, returned_at, renewals, "
        "kiosk) VALUES (?, ?, ?, ?, ?, ?, 0, 'kiosk-1')", loans,
    )
    raw.execute("ANALYZE")
    raw.commit()
    raw.close()


def _insert(raw: sqlite3.Connection, rows: list[tuple[object, ...]]) -> None:
    raw.executemany(
        'INSERT INTO journal (uuid, kind, kiosk, wall_time, hlc, patron, copy, data) '
        "VALUES (?, ?, ?, ?, ?, ?, ?, ?)", rows,
    )
    raw.commit()


def ms(seconds: list[float]) -> tuple[float, float]:
    """p50 and p95 in milliseconds."""
    return percentile(seconds, 0.5) * 1000, percentile(seconds, 0.95) * 1000


def verdict(p95: float, goal: float) -> str:
    return "met" if p95 <= goal else "MISSED"


async def measure_screen(
    circulation: Circulation, runs: int
) -> tuple[list[float], list[float], list[float], list[float], int]:
    """Open the librarian screen ``runs`` times (until its table shows the day's newest
    rows, and until the whole day is in it); then type the words, key by key."""
    from kiosk.app import KioskApp
    from kiosk.screens.librarian import LibrarianScreen
    from kiosk.screens.librarian_panel import LibrarianPanel
    from kiosk.widgets.row_table import RowTable

    app = KioskApp(circulation, Config(language="zh_CN", bell=False, idle_timeout=3600))
    opens: list[float] = []
    completes: list[float] = []
    cpus: list[float] = []
    keys: list[float] = []
    librarian = circulation.patron("L0001")
    async with app.run_test(size=(120, 40)) as pilot:
        await pilot.pause()
        for _ in range(runs):
            started, cpu = time.perf_counter(), time.process_time()
            screen = LibrarianScreen(librarian)
            app.push_screen(screen)
            while not screen.is_mounted:  # (a query of the screen per poll would cost)
                await asyncio.sleep(0.0005)
            panel = screen.query_one(LibrarianPanel)
            while not panel.loaded:
                await asyncio.sleep(0.0005)
            table = screen.query_one("#log-table", RowTable)
            for y in range(table.size.height):  # its visible lines drawn, as a paint does
                table.render_line(y)
            opens.append(time.perf_counter() - started)
            cpus.append(time.process_time() - cpu)
            while not panel.complete:
                await asyncio.sleep(0.0005)
            completes.append(time.perf_counter() - started)
            await app.workers.wait_for_complete()
            app.pop_screen()
            await pilot.pause()
        screen = LibrarianScreen(librarian)
        app.push_screen(screen)
        await pilot.pause()
        while not (screen.query(LibrarianPanel) and screen.query_one(LibrarianPanel).complete):
            await asyncio.sleep(0.001)
        panel = screen.query_one(LibrarianPanel)
        table = screen.query_one("#log-table", RowTable)
        shown = len(panel.entries)
        for word in WORDS:
            typed = [word[: i + 1] for i in range(len(word))]
            for text in [*typed, *reversed(typed[:-1]), ""]:  # type it, then backspace
                started = time.perf_counter()
                panel.apply_filter(text)
                for y in range(table.size.height):
                    table.render_line(y)
                keys.append(time.perf_counter() - started)
    return opens, completes, cpus, keys, shown


def main(argv: list[str] | None = None) -> int:
    """Build (once) and measure; print the figures beside the goals."""
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--facts", type=int, default=500_000)
    parser.add_argument("--day-facts", type=int, default=5_000)
    parser.add_argument("--runs", type=int, default=20)
    parser.add_argument("--rebuild", action="store_true")
    args = parser.parse_args(argv)
    logging.basicConfig(level=logging.WARNING)
    OUT.mkdir(parents=True, exist_ok=True)
    path = OUT / f"librarian-v2-{args.facts}f-{args.day_facts}d.sqlite"
    cached = path.exists() and not args.rebuild
    if not cached:
        for leftover in (path, path.with_name(path.name + "-wal"),
                         path.with_name(path.name + "-shm")):
            leftover.unlink(missing_ok=True)
        began = time.perf_counter()
        build(path, args.facts, args.day_facts)
        print(f"built {path} in {time.perf_counter() - began:.1f} s")
    at_noon = datetime.combine(DAY, datetime.min.time()).replace(hour=17, tzinfo=UTC)
    db = open_library(f"sqlite:///{path}")
    circulation = Circulation(Store(db, "bench", clock=lambda: at_noon))
    book = DayBook(circulation)
    service: list[float] = []
    others: dict[str, list[float]] = {"cases": [], "overdue": [], "activities": []}
    counts: dict[str, int] = {}
    with db.connection_context():
        for _ in range(args.runs):
            started = time.perf_counter()
            entries = book.day_log(DAY)
            service.append(time.perf_counter() - started)
        for _ in range(args.runs):
            for name, call in (("cases", book.cases), ("overdue", book.overdue),
                               ("activities", book.activities)):
                started = time.perf_counter()
                found = len(call())
                others[name].append(time.perf_counter() - started)
                counts[name] = found
    opens, completes, cpus, keys, shown = asyncio.run(measure_screen(circulation, max(5, args.runs // 2)))
    db.close()

    print("Library Kiosk - the librarian's day log (open, and the filter per keystroke)")
    print(f"machine: {machine()}; run {datetime.now():%Y-%m-%d %H:%M}, "
          f"load average {os.getloadavg()[0]:.1f} (other work on the machine slows it)")
    print(f"library: {path} ({human_bytes(path.stat().st_size)}), "
          f"{'cached' if cached else 'built now'}; journal {args.facts:,} facts over a year, "
          f"{args.day_facts:,} on {DAY} ({len(entries):,} shown in the log)")
    print("  milliseconds                                     p50     p95   goal (p95)")
    s50, s95 = ms(service)
    print(f"  day log, service (DayBook.day_log)         {s50:7.1f} {s95:7.1f}   "
          f"(part of the open)")
    o50, o95 = ms(opens)
    print(f"  day log open: screen pushed -> table drawn {o50:7.1f} {o95:7.1f}   "
          f"<= {GOAL_OPEN_MS:.0f} ms  {verdict(o95, GOAL_OPEN_MS)}")
    u50, u95 = ms(cpus)
    print(f"  ... its CPU time (both threads)             {u50:7.1f} {u95:7.1f}   "
          f"(what the open costs a machine with a core free)")
    c50, c95 = ms(completes)
    print(f"  ... and the whole day in the table         {c50:7.1f} {c95:7.1f}   "
          f"(the filter searches all of it from then on)")
    k50, k95 = ms(keys)
    print(f"  filter, per keystroke ({len(keys)} keys)         {k50:7.1f} {k95:7.1f}   "
          f"<= {GOAL_KEY_MS:.0f} ms  {verdict(k95, GOAL_KEY_MS)}  (worst {max(keys) * 1000:.1f})")
    print(f"  words typed (a key each, then backspace): {', '.join(WORDS)}; {shown:,} rows")
    for name, seconds in others.items():
        p50, p95 = ms(seconds)
        print(f"  other tabs: DayBook.{name}() ({counts[name]:,} rows)".ljust(45)
              + f"{p50:7.1f} {p95:7.1f}")
    return 0


if __name__ == "__main__":
    sys.exit(main())
