"""One kiosk's catch-up counted in machine instructions: a figure the machine's load
does not move.

The wall-clock and CPU figures of ``bench/sync.py`` follow the machine and whatever
else runs on it (the same code measured 0.53 to 0.69 s of CPU for this catch-up within
one hour), so a change that saves 5% cannot be seen in them. Valgrind's callgrind
counts the instructions the kiosk's process executes instead: the same code and data
give the same count to within a tenth of a percent, on any x86-64 machine.

What it counts: the ``floor`` scene of ``bench/sync.py`` -- 19 kiosks have pushed
their 1,000 offline facts each to a PostgreSQL desk, and the 20th runs one
``sync.sync_once``: push its own 1,000, pull all 20,000 (19,000 of them the other
kiosks'). The kiosk's process runs under callgrind twice, from the same files and a
fresh copy of the same desk: once opening its databases and syncing, once only opening
them; the difference is the sync. (The desk's server process is not counted: its
share is small, 0.06-0.07 s of CPU, see ``bench/sync.py``.)

Last runs (2026-11-27, valgrind 3.19, Python 3.11.7, SQLite 3.40.1, PostgreSQL 15;
under callgrind a run takes about 45 s; two runs gave the same count)::

    one kiosk's catch-up (push 1,000, pull 20,000 facts): 3,619 M instructions
      (opening the databases, not counted: 0.7 G)
    before migration 0004 (the journal's index of every row's kind): 3,713 M
    before ``journal.Fact`` stopped being a frozen dataclass: 3,940 M

    python bench/sync_instructions.py            # needs valgrind (apt-get install valgrind)

It uses the cached bases of ``bench/sync.py`` (``bench/out/sync/``, databases
``kiosk_bench_full_*``), building them first if they are missing (a minute).
"""

from __future__ import annotations

import argparse
import os
import re
import shutil
import subprocess
import sys
import tempfile
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parent))

BASELINE_M = 3619
"""Instructions (millions) of the catch-up at the last recorded run (see above)."""


def child(kiosk: str, desk_url: str, sync_too: bool) -> None:
    """The measured process: open the kiosk's file and the desk, and sync (or not)."""
    from kiosk.data import sync
    from kiosk.data.core import library

    local = library.open_library(f"sqlite:///{kiosk}")
    ident = sync.identity(local)
    assert ident is not None, "the kiosk file is not joined to a desk"
    desk = sync.open_desk(desk_url)
    desk.connect()
    local.connect()
    if sync_too:
        report = sync.sync_once(local, desk, ident)
        print(f"pushed {report.pushed} pulled {report.pulled}")
    local.close()
    desk.close()


def instructions(kiosk: Path, desk_url: str, sync_too: bool, out: Path) -> int:
    """Instructions callgrind counted in one child run."""
    command = [
        "valgrind", "--tool=callgrind", "--cache-sim=no", f"--callgrind-out-file={out}",
        sys.executable, __file__, "--child", str(kiosk), desk_url,
        *(["--sync"] if sync_too else []),
    ]
    env = {**os.environ, "PYTHONHASHSEED": "0"}
    done = subprocess.run(command, capture_output=True, text=True, env=env, check=False)
    if done.returncode != 0:
        raise SystemExit(f"the run under valgrind failed:\n{done.stderr[-2000:]}")
    found = re.search(r"^(?:summary|totals): (\d+)", out.read_text(), re.MULTILINE)
    if found is None:
        raise SystemExit(f"no instruction count in {out}")
    return int(found.group(1))


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--child", nargs=2, metavar=("KIOSK", "DESK_URL"), help=argparse.SUPPRESS)
    parser.add_argument("--sync", action="store_true", help=argparse.SUPPRESS)
    args = parser.parse_args()
    if args.child:
        child(args.child[0], args.child[1], args.sync)
        return 0
    if shutil.which("valgrind") is None:
        print("valgrind is missing: apt-get install valgrind", file=sys.stderr)
        return 2

    import sync as bench
    from _common import machine

    from kiosk.data import sync
    from kiosk.data.core import library

    bases = bench.Bases(bench.FULL, rebuild=False)
    names = [f"kiosk-{i + 1:02d}" for i in range(bench.FULL.kiosks)]
    base = bench._kiosks_base(bases, "kiosks", names, bench.FULL.kiosk_rows)
    run, files = bases.start_run("instructions", base)
    desk = sync.open_desk(bench.desk_url(run))
    desk.connect()
    bench.push_only([files[name] for name in names[:-1]], desk)
    desk.close()
    bench._finish_kiosk(library.open_library(bench.sqlite_url(files[names[-1]])))
    snapshot = bases.name("instructions_snapshot")
    bench.pg_create(snapshot, template=run)

    counts = {}
    with tempfile.TemporaryDirectory() as folder:
        for sync_too in (True, False):
            kiosk = Path(folder) / "kiosk.sqlite"
            shutil.copyfile(files[names[-1]], kiosk)
            fresh = bases.name("instructions_fresh")
            bench.pg_create(fresh, template=snapshot)
            counts[sync_too] = instructions(
                kiosk, bench.desk_url(fresh), sync_too, Path(folder) / "callgrind.out"
            )
            kiosk.unlink()
    sync_m = (counts[True] - counts[False]) / 1e6
    print("Library Kiosk - one kiosk's catch-up in instructions (valgrind callgrind)")
    print(f"machine: {machine()}")
    print(
        f"one kiosk's catch-up (push {bench.FULL.kiosk_rows:,}, pull"
        f" {bench.FULL.kiosk_rows * bench.FULL.kiosks:,} facts): {sync_m:,.0f} M instructions"
        + (f" (last recorded {BASELINE_M:,} M: {sync_m / BASELINE_M - 1:+.1%})" if BASELINE_M else "")
    )
    print(f"  (opening the databases, not counted: {counts[False] / 1e9:.1f} G)")
    return 0


if __name__ == "__main__":
    sys.exit(main())
