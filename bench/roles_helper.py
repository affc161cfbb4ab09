"""A helper's return station at full stretch: 2 scans a second for 10 minutes.

Runs the real app headless on a library file, opens helper mode with a helper's
card, then "types" book barcodes the way a keyboard-wedge scanner does, one every
half second, and times each from its first key to the frame that shows where the
book goes (rendered for a terminal, as ``bench/scan_latency.py`` does). The books are
lent beforehand, a tenth of them reserved (the hold shelf) and every twentieth
marked damaged first (the repair box), so every verdict a helper meets is measured.
Each minute prints its p50 and p95 and the process's resident memory, beside the
goals: p95 <= 50 ms, and memory flat (the last minute within a few MB of the first).

    python bench/roles_helper.py [--minutes 10] [--quick] [--rate 2]
"""

from __future__ import annotations

import argparse
import asyncio
import gc
import os
import sys
import tempfile
import time
from collections.abc import Sequence
from datetime import UTC, datetime, timedelta
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parent))
from _common import human_bytes, machine, percentile
from scan_latency import time_frames, wedge

from kiosk.app import KioskApp
from kiosk.config import Config
from kiosk.data.core import journal
from kiosk.data.core.facts import HybridClock, new_fact
from kiosk.data.core.library import issue_card, open_library
from kiosk.data.core.models import Copy, LoanRule, Patron, SchoolClass, Title
from kiosk.data.core.store import Store
from kiosk.data.lending.circulation import Circulation
from kiosk.widgets.verdict import Verdict

GOAL_P95_MS = 50.0
GOAL_GROWTH_MB = 8.0
"""Memory is "flat" when the last minute's resident size is within this of the first's."""


def rss_bytes() -> int:
    """This process's resident memory, from /proc (no psutil needed)."""
    pages = int(Path("/proc/self/statm").read_text().split()[1])
    return pages * os.sysconf("SC_PAGE_SIZE")


def build_library(path: Path, books: int) -> tuple[str, list[str]]:
    """A library with ``books`` copies lent to 200 students; return the helper's card
    and the barcodes in the order the helper will scan them."""
    url = f"sqlite:///{path}"
    db = open_library(url, create=True)
    with db.connection_context(), db.atomic():
        LoanRule.update(max_items=1_000).where(LoanRule.patron_kind == "student").execute()
        school_class = SchoolClass.create(name="四年级1班", grade=4)
        Patron.insert_many(
            [{"number": f"S{n:04d}", "name": f"学生{n}", "kind": "student",
              "school_class": school_class} for n in range(200)]
        ).execute()
        Patron.create(number="H0001", name="小帮手", kind="helper", school_class=school_class)
        letters = "ABIKNT"
        titles = [
            Title.create(title=f"书名{n}", author="作者", classification=f"{letters[n % 6]}{n % 97}")
            for n in range(max(50, books // 4))
        ]
        Copy.insert_many(
            [{"barcode": f"9{n:07d}", "title": titles[n % len(titles)], "shelf": ""}
             for n in range(books)]
        ).execute()
        card = issue_card("H0001")
    # Lend them (and reserve a tenth) through the real service, at yesterday's time.
    yesterday = datetime.now(UTC) - timedelta(days=1)
    circulation = Circulation(Store(db, "desk", clock=lambda: yesterday))
    barcodes = [f"9{n:07d}" for n in range(books)]
    with db.connection_context():
        for n, barcode in enumerate(barcodes):
            circulation.checkout(f"S{n % 200:04d}", barcode)
        with db.atomic():
            clock = HybridClock("desk", journal.last_hlc())
            for n, barcode in enumerate(barcodes[5::10]):
                journal.record(new_fact(
                    clock, "desk", "hold", yesterday, patron=f"S{(n + 7) % 200:04d}", copy=barcode
                ))
    db.close()
    return card, barcodes


async def run_station(url: str, card: str, barcodes: list[str], rate: float,
                      minutes: float) -> tuple[list[tuple[float, float, int]], list[int]]:
    """Scan at ``rate`` a second; return (seconds since start, ms to screen, rss) per scan,
    and the number of Python objects alive at the end of each minute."""
    db = open_library(url)
    circulation = Circulation(Store(db, "bench-kiosk"))
    config = Config(language="zh_CN", bell=False, idle_timeout=3600, helper_idle_timeout=3600,
                    camera="off")
    app = KioskApp(circulation, config)
    results: list[tuple[float, float, int]] = []
    objects: list[int] = []
    async with app.run_test(size=(100, 30)) as pilot:
        frames = time_frames(app)
        await wedge(app, card)
        while type(app.screen).__name__ != "HelperScreen" or app.screen.shift is None:  # type: ignore[attr-defined]
            await asyncio.sleep(0.005)
        await pilot.pause()
        period = 1.0 / rate
        count = min(len(barcodes), int(minutes * 60 * rate))
        start = time.perf_counter()
        cpu_start = time.process_time()
        for n, barcode in enumerate(barcodes[:count]):
            due = start + n * period
            await asyncio.sleep(max(0.0, due - time.perf_counter()))
            if n % 20 == 19:
                await pilot.press("f3")  # this one is damaged: the repair box
            box = app.screen.query_one("#verdict", Verdict)
            before = box.count
            began = time.perf_counter()
            await wedge(app, barcode)
            while box.count == before:
                await asyncio.sleep(0.0005)
            shown = time.perf_counter()
            while not frames or frames[-1] < shown:
                await asyncio.sleep(0.0005)
            results.append((began - start, (frames[-1] - began) * 1000, rss_bytes()))
            assert "→" in str(box.render()), box.render()
            if n % 120 == 0:
                gc.collect(0)  # as the kiosk's own quiet moments would; not on the clock
            if (n + 1) % int(60 * rate) == 0 or n + 1 == count:
                objects.append(len(gc.get_objects()))  # between scans, off the clock
        cpu = time.process_time() - cpu_start
    db.close()
    print(f"  CPU of the whole kiosk process (UI, database thread, rendering): "
          f"{cpu / max(1, len(results)) * 1000:.1f} ms a scan, "
          f"{cpu / (time.perf_counter() - start) * 100:.0f}% of one core")
    return results, objects


def report(results: Sequence[tuple[float, float, int]], objects: Sequence[int],
           rate: float) -> int:
    """Print one line a minute and the verdict against the goals; 0 if both are met."""
    print(f"helper mode: {len(results)} scans at {rate:g}/s, keyboard-wedge keys -> "
          "where the book goes, on screen")
    print("  minute  scans    p50 ms    p95 ms    max ms   resident   Python objects")
    minutes: dict[int, list[tuple[float, float, int]]] = {}
    for item in results:
        minutes.setdefault(int(item[0] // 60), []).append(item)
    rss_by_minute = []
    for minute, items in sorted(minutes.items()):
        timings = [ms for _, ms, _ in items]
        rss = items[-1][2]
        rss_by_minute.append(rss)
        alive = f"{objects[minute]:,}" if minute < len(objects) else "?"
        print(f"  {minute + 1:6d}  {len(items):5d}  {percentile(timings, 0.5):8.1f}  "
              f"{percentile(timings, 0.95):8.1f}  {max(timings):8.1f}   "
              f"{human_bytes(rss):>8}   {alive:>14}")
    timings = [ms for _, ms, _ in results]
    p95 = percentile(timings, 0.95)
    worst_minute = max(percentile([ms for _, ms, _ in m], 0.95) for m in minutes.values())
    growth = (rss_by_minute[-1] - rss_by_minute[0]) / 1024 / 1024
    latency_ok = worst_minute <= GOAL_P95_MS
    memory_ok = growth <= GOAL_GROWTH_MB
    print(f"  all     p50 {percentile(timings, 0.5):.1f} ms  p95 {p95:.1f} ms; worst minute's p95 "
          f"{worst_minute:.1f} ms   goal: p95 <= {GOAL_P95_MS:g} ms every minute  "
          f"{'OK' if latency_ok else 'MISSED'}")
    print(f"  memory  first minute {human_bytes(rss_by_minute[0])}, last "
          f"{human_bytes(rss_by_minute[-1])} ({growth:+.1f} MB)   goal: flat (<= "
          f"+{GOAL_GROWTH_MB:g} MB)  {'OK' if memory_ok else 'MISSED'}")
    return 0 if latency_ok and memory_ok else 1


def main(argv: Sequence[str] | None = None) -> int:
    """Run the helper station benchmark; return 0 when the goals are met."""
    parser = argparse.ArgumentParser(description=(__doc__ or "").splitlines()[0])
    parser.add_argument("--minutes", type=float, default=10.0)
    parser.add_argument("--quick", action="store_true", help="one minute")
    parser.add_argument("--rate", type=float, default=2.0, help="scans a second")
    args, _ = parser.parse_known_args(argv)
    minutes = 1.0 if args.quick else args.minutes
    books = int(minutes * 60 * args.rate) + 10
    with tempfile.TemporaryDirectory() as folder:
        path = Path(folder) / "helper.sqlite"
        began = time.perf_counter()
        card, barcodes = build_library(path, books)
        print(f"library: {books} books lent, {books // 10} reserved "
              f"(built in {time.perf_counter() - began:.1f} s, not timed)")
        results, objects = asyncio.run(
            run_station(f"sqlite:///{path}", card, barcodes, args.rate, minutes)
        )
    if argv is None:
        print(machine())
    return report(results, objects, args.rate)


if __name__ == "__main__":
    raise SystemExit(main())
