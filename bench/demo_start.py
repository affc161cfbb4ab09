"""How long ``kiosk demo`` takes until the kiosk is ready to scan.

Starts ``kiosk demo`` in a pseudo-terminal (as a user's terminal would run it), and
times from the start of the process until the attract screen's headline has been
drawn. "First run" builds the demo library; "warm" reuses it, which is the goal's
case (a warm machine: Python's files already in the page cache).

    python bench/demo_start.py [--runs 5]
"""

from __future__ import annotations

import argparse
import os
import pty
import select
import signal
import statistics
import sys
import tempfile
import time
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parent))
from _common import machine

GOAL_S = 2.0
BUILD_GOAL_S = 4.0
"""The demo library's build (a first ``kiosk demo``), as tests/test_demo.py promised it
before speed left the tests."""
READY = "请出示借书证借书".encode()


def time_start(db: Path, timeout: float = 30.0) -> float:
    """Seconds from spawning ``kiosk demo`` to the attract screen on the terminal."""
    start = time.perf_counter()
    pid, fd = pty.fork()
    if pid == 0:  # the child: the kiosk, in a 100x30 terminal
        os.environ.update({"COLUMNS": "100", "LINES": "30", "TERM": "xterm-256color"})
        os.execvp(sys.executable, [sys.executable, "-m", "kiosk", "demo", "--db", str(db)])
    seen = b""
    try:
        while time.perf_counter() - start < timeout:
            ready, _, _ = select.select([fd], [], [], 0.05)
            if ready:
                try:
                    seen += os.read(fd, 65536)
                except OSError:
                    break
                if READY in seen:
                    return time.perf_counter() - start
        raise RuntimeError(f"kiosk demo did not show the attract screen; it wrote {seen[-500:]!r}")
    finally:
        os.kill(pid, signal.SIGKILL)
        os.waitpid(pid, 0)
        os.close(fd)


def time_build(folder: Path) -> tuple[float, float]:
    """Wall and CPU seconds of one :func:`build_demo` into a new file in ``folder``."""
    from kiosk.data.demo import build_demo

    wall, cpu = time.perf_counter(), time.process_time()
    build_demo("sqlite:///" + str(folder / "built.sqlite")).close()
    return time.perf_counter() - wall, time.process_time() - cpu


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--runs", type=int, default=5)
    args = parser.parse_args()
    with tempfile.TemporaryDirectory() as folder:
        db = Path(folder) / "demo.sqlite"
        first = time_start(db)
        warm = [time_start(db) for _ in range(args.runs)]
        build_wall, build_cpu = time_build(Path(folder))
    print(machine())
    print(f"demo library build: {build_wall:.2f} s ({build_cpu:.2f} s CPU)   "
          f"goal: <= {BUILD_GOAL_S:g} s  {'OK' if build_wall <= BUILD_GOAL_S else 'MISSED'}")
    print(f"kiosk demo, first run (builds the demo library): {first:.2f} s")
    print(f"kiosk demo, warm ({args.runs} runs): median {statistics.median(warm):.2f} s, "
          f"max {max(warm):.2f} s   goal: <= {GOAL_S:g} s  "
          f"{'OK' if max(warm) <= GOAL_S else 'MISSED'}")


if __name__ == "__main__":
    main()
