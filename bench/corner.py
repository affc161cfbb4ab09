"""A class book corner scanned in: batches of 40 books, scan to screen.

Runs the real app headless on a library file (a school of 30 classes, 4,000 books,
a year of loans behind it unless ``--quick``), opens a teacher's page with the
teacher's card, **Class corner F5**, picks the class and the due date, then "types"
40 book barcodes the way a keyboard-wedge scanner does, each as soon as the last is
on screen, and times each from its first key to the frame that shows the book lent
(rendered for a terminal, as ``bench/scan_latency.py`` does). Then the same 40 are
brought back in one go (**Finished** lists the missing). Prints p50 / p95 / max beside
the goal: scan to screen p95 <= 50 ms.

    python bench/corner.py [--batches 5] [--quick] [--size 100x30]

Last figures (2026-12-06, the shared 2-core machine with a load average of 15-17 from
the other workers): 5 batches, 20,000 loans behind: lent p50 62 ms, p95 125 ms;
brought back p50 58 ms, p95 101 ms: goal missed in wall time. The kiosk's own CPU per
scan (UI, database thread, rendering a frame): p50 13.3 ms, p95 18.4 ms. At the same
minute ``bench/scan_latency.py`` (a plain loan on a patron's page, the goal it meets
on a quiet machine) measured p50 43.5 ms, p95 78 ms: the wall time is the machine's
queue, the corner's scan costs about what a loan costs. At a load of 10: corner p95
60 ms beside scan_latency's 50 ms.
"""

from __future__ import annotations

import argparse
import asyncio
import os
import sys
import tempfile
import time
from datetime import UTC, datetime, timedelta
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parent))
from _common import machine, percentile
from scan_latency import time_frames, wedge

from kiosk.app import KioskApp
from kiosk.config import Config
from kiosk.data.core.library import issue_card, open_library
from kiosk.data.core.models import ClassTeacher, Copy, LoanRule, Patron, SchoolClass, Title
from kiosk.data.core.store import Store
from kiosk.data.lending.circulation import Circulation
from kiosk.widgets.verdict import Verdict

GOAL_P95_MS = 50.0
BATCH = 40


def build_library(path: Path, books: int, history: int) -> tuple[str, list[str]]:
    """The school; returns the teacher's card and the barcodes free to lend."""
    url = f"sqlite:///{path}"
    db = open_library(url, create=True)
    with db.connection_context(), db.atomic():
        LoanRule.update(max_items=1_000).where(LoanRule.patron_kind == "student").execute()
        classes = [SchoolClass.create(name=f"{g}年级{c}班", grade=g)
                   for g in range(1, 7) for c in range(1, 6)]
        Patron.insert_many(
            [{"number": f"S{n:05d}", "name": f"学生{n}", "kind": "student",
              "school_class": classes[n % len(classes)]} for n in range(1200)]
        ).execute()
        teacher = Patron.create(number="T0001", name="王老师", kind="teacher")
        ClassTeacher.create(teacher=teacher, school_class=classes[7])
        titles = [Title.create(title=f"书名{n}", author="作者", classification=f"I{n % 97}")
                  for n in range(books // 4)]
        Copy.insert_many(
            [{"barcode": f"9{n:07d}", "title": titles[n % len(titles)], "shelf": "I"}
             for n in range(books)]
        ).execute()
        card = issue_card("T0001")
    barcodes = [f"9{n:07d}" for n in range(books)]
    if history:
        # a year of loans and returns before today, through the real service
        day = datetime.now(UTC) - timedelta(days=365)
        clock = [day]
        circulation = Circulation(Store(db, "desk", clock=lambda: clock[0]))
        with db.connection_context():
            for n in range(history):
                clock[0] = day + timedelta(minutes=n * 20)
                barcode = barcodes[n % len(barcodes)]
                circulation.checkout(f"S{n % 1200:05d}", barcode)
                circulation.checkin(barcode)
    db.close()
    return card, barcodes


async def until(condition, timeout: float = 10.0) -> None:  # type: ignore[no-untyped-def]
    deadline = time.perf_counter() + timeout
    while not condition():
        if time.perf_counter() > deadline:
            raise TimeoutError("the screen did not come")
        await asyncio.sleep(0.002)


async def run(url: str, card: str, barcodes: list[str], batches: int,
              size: tuple[int, int] = (100, 30)) -> tuple[list[float], list[float]]:
    """Lend ``batches`` corners of 40 and bring each back; ms to screen per scan."""
    db = open_library(url)
    circulation = Circulation(Store(db, "bench-kiosk"))
    config = Config(language="zh_CN", bell=False, idle_timeout=3600, camera="off")
    app = KioskApp(circulation, config)
    lent: list[float] = []
    back: list[float] = []
    cpu_ms: list[float] = []
    async with app.run_test(size=size) as pilot:
        frames = time_frames(app)

        def on(name: str):  # type: ignore[no-untyped-def]
            return lambda: type(app.screen).__name__ == name and app.screen.is_mounted

        async def timed(code: str, into: list[float]) -> None:
            box = app.screen.query_one("#corner-said", Verdict)
            before = box.count
            began, cpu = time.perf_counter(), time.process_time()
            await wedge(app, code)
            await until(lambda: box.count > before)
            shown = time.perf_counter()
            await until(lambda: bool(frames) and frames[-1] >= shown)
            into.append((frames[-1] - began) * 1000)
            cpu_ms.append((time.process_time() - cpu) * 1000)

        for batch in range(batches):
            books = barcodes[batch * BATCH:(batch + 1) * BATCH]
            await wedge(app, card)
            await until(on("PatronScreen"))
            await pilot.pause()
            await pilot.press("f6")  # Book corner
            await until(on("ChoiceModal"))
            await pilot.press("f2")  # lend to the teacher's own class
            await until(on("ChoiceModal"))
            await pilot.press("f2")  # the usual due date
            await until(on("CornerModal"))
            await pilot.pause()
            for code in books:
                await timed(code, lent)
            await pilot.press("f2")
            await until(on("PatronScreen"))
            await pilot.press("f6")
            await until(on("ChoiceModal"))
            await pilot.press("f2")  # bring back the corner just lent
            await until(on("CornerModal"))
            await pilot.pause(0.05)
            for code in books[:-2]:
                await timed(code, back)
            await pilot.press("f2")
            await pilot.pause(0.05)
            await pilot.press("escape")
            await until(on("PatronScreen"))
            await pilot.press("f2")  # the receipt, and back to the start
            await pilot.pause(0.05)
            app.reset_to_attract()
            await pilot.pause()
    db.close()
    print(f"  CPU of the kiosk process (UI, database thread, rendering) per scan: "
          f"p50 {percentile(cpu_ms, 0.5):.1f} ms, p95 {percentile(cpu_ms, 0.95):.1f} ms "
          f"(the wall time above also waits for the other processes on the machine: "
          f"load average {os.getloadavg()[0]:.1f} on {os.cpu_count()} cores)")
    return lent, back


def line(name: str, values: list[float]) -> str:
    p95 = percentile(values, 0.95)
    verdict = "met" if p95 <= GOAL_P95_MS else "MISSED"
    return (f"  {name:<22} {len(values):>5}  p50 {percentile(values, 0.5):6.1f} ms  "
            f"p95 {p95:6.1f} ms  max {max(values):6.1f} ms   goal p95 <= {GOAL_P95_MS:g} ms: "
            f"{verdict}")


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--batches", type=int, default=5, help="corners of 40 books")
    parser.add_argument("--quick", action="store_true", help="no year of loans behind")
    parser.add_argument("--size", default="100x30", help="the terminal (default 100x30, "
                        "as bench/scan_latency.py)")
    args = parser.parse_args()
    print(machine())
    with tempfile.TemporaryDirectory() as folder:
        path = Path(folder) / "corner.sqlite"
        history = 0 if args.quick else 20_000
        started = time.perf_counter()
        card, barcodes = build_library(path, 4_000, history)
        print(f"library: 30 classes, 1,200 students, 4,000 books, {history:,} loans before "
              f"(built in {time.perf_counter() - started:.0f} s)")
        width, height = (int(n) for n in args.size.split("x"))
        lent, back = asyncio.run(run(f"sqlite:///{path}", card, barcodes, args.batches,
                                     (width, height)))
    print(f"class corners: {args.batches} batches of {BATCH} books, keyboard-wedge keys -> "
          f"the book on screen, {args.size}")
    print(line("lent to the corner", lent))
    print(line("brought back", back))
    both = percentile(lent, 0.95) <= GOAL_P95_MS and percentile(back, 0.95) <= GOAL_P95_MS
    return 0 if both else 1


if __name__ == "__main__":
    sys.exit(main())
