"""A fault harness: kiosks and a PostgreSQL desk play school days while the injector
kills processes with SIGKILL, cuts and stalls links, terminates the desk's connections
and fills disks; after every fault and at the end the checker proves, from the
databases alone, that nothing acknowledged was lost or doubled.

    python bench/faults.py [--seed N] [--kiosks 5] [--rounds 8] [--steps 400]
                           [--round R] [--until-step S] [--keep] [--folder DIR]

Each round is a new desk (a fresh database on the PostgreSQL server at
``KIOSK_TEST_PG_URL``, default ``postgresql://postgres@127.0.0.1:5432/test``) and
``--kiosks`` kiosk processes with their own SQLite files, each syncing through its
own TCP proxy (``tests/tcpproxy.py``), plus a process doing the desk's work. See
``bench/faults_round.py`` for a round, ``bench/faults_school.py`` for the school days,
``bench/faults_child.py`` for the processes, ``bench/faults_check.py`` for the checks
and ``bench/faults_kiosk.py`` for every use made of the kiosk's code.

A failure prints the seed, the round, the faults up to the failing step and the
command line that plays that round again (``--round R --until-step S``). Goals
(issue 18): at least 1,000 kill -9 points and 100 link cuts or stalls in one full run,
with 0 lost, 0 doubled, 0 mismatches, in at most 30 minutes on 2 cores. The test
suite plays a short round (``tests/test_faults.py``).
"""

from __future__ import annotations

import argparse
import os
import shutil
import sys
import tempfile
import time
from collections.abc import Callable
from pathlib import Path
from statistics import median

HERE = Path(__file__).resolve().parent
for folder in (HERE, HERE.parent / "tests"):  # tests/ for tcpproxy.py
    if str(folder) not in sys.path:
        sys.path.insert(0, str(folder))

from _common import machine  # noqa: E402
from faults_round import FAULTS, Figures, Round  # noqa: E402

DEFAULT_PG = "postgresql://postgres@127.0.0.1:5432/test"
GOAL_KILLS = 1000
GOAL_LINKS = 100
GOAL_SECONDS = 30 * 60


def run(*, seed: int, kiosks: int = 5, rounds: int = 8, steps: int = 400, rate: float = 0.5,
        only: int | None = None, until: int | None = None, keep: bool = False,
        server: str | None = None, folder: Path | None = None,
        log: Callable[[str], None] = print) -> Figures:
    """Play the rounds (or round ``only``); the figures of all of them together.

    Stops at the first round with a finding, after saying how to play it again.
    """
    server = server or os.environ.get("KIOSK_TEST_PG_URL") or DEFAULT_PG
    base = folder or Path(tempfile.mkdtemp(prefix="faults-"))
    total = Figures()
    for number in [only] if only is not None else range(rounds):
        where = base / f"round-{number}"
        shutil.rmtree(where, ignore_errors=True)
        game = Round(seed=seed, number=number, kiosks=kiosks, steps=steps, rate=rate,
                     server=server, folder=where, until=until, keep=keep, log=log)
        figures = game.play()
        total.add(figures)
        log(f"round {number}: {figures.steps} steps, {sum(figures.kills.values())} kills,"
            f" {sum(figures.links.values())} cuts or stalls, {figures.acks} facts acknowledged,"
            f" {figures.facts} at the desk, {len(figures.findings)} findings,"
            f" {figures.seconds:.0f} s")
        if figures.findings:
            step = figures.failed_at if figures.failed_at is not None else figures.steps
            log(f"FAILED: seed {seed}, round {number}, at step {step} (files in {where})")
            log("the faults up to there:")
            for fault in game.schedule.drawn[-40:]:
                log(f"  {fault}")
            log("play it again with:")
            log(f"  python bench/faults.py --seed {seed} --kiosks {kiosks} --steps {steps}"
                f" --rate {rate} --round {number} --until-step {step + 1} --keep")
            break
        if not keep:
            shutil.rmtree(where, ignore_errors=True)
    if folder is None and not total.findings and not keep:
        shutil.rmtree(base, ignore_errors=True)
    return total


def report(total: Figures, seconds: float, load: tuple[float, float]) -> list[str]:
    """The figures beside the goals."""
    kills = sum(total.kills.values())
    links = sum(total.links.values())
    lost = sum(f.startswith("lost") for f in total.findings)
    doubled = sum(f.startswith("doubled") for f in total.findings)
    other = len(total.findings) - lost - doubled

    def ok(good: bool) -> str:
        return "OK" if good else "NOT MET"

    lines = [
        f"kill -9 points: {kills:,} (goal >= {GOAL_KILLS:,})  {ok(kills >= GOAL_KILLS)}",
        *(f"  {n:5d}  {where}" for where, n in sorted(total.kills.items(), key=lambda i: -i[1])),
        f"link cuts or stalls: {links} (goal >= {GOAL_LINKS})  {ok(links >= GOAL_LINKS)}"
        f"  [{', '.join(f'{k} {n}' for k, n in sorted(total.links.items()))}]",
        "other faults: " + ", ".join(f"{k} {n}" for k, n in sorted(total.other.items())),
        f"a process (re)started in {median(total.starts) * 1000:.0f} ms (median; its own start"
        f" {median(total.inits) * 1000:.0f} ms)" if total.starts else "no process started",
        f"steps {total.steps:,}; operations' calls: "
        + ", ".join(f"{k} {n:,}" for k, n in sorted(total.outcomes.items())),
        f"facts acknowledged: {total.acks:,}; facts at the desks: {total.facts:,}; cases: "
        + ", ".join(f"{k} {n}" for k, n in sorted(total.cases.items())),
        f"lost {lost}, doubled {doubled}, mismatches and other findings {other}"
        f" (goal 0)  {ok(not total.findings)}",
        f"runtime {seconds / 60:.1f} min (goal <= {GOAL_SECONDS // 60} min on 2 cores)"
        f"  {ok(seconds <= GOAL_SECONDS)}; load average {load[0]:.2f} before, {load[1]:.2f}"
        " after (1 min)",
    ]
    return lines


def arguments() -> argparse.ArgumentParser:
    """The command line (the one a failure prints to play its round again)."""
    parser = argparse.ArgumentParser(description=(__doc__ or "").split("\n\n")[0])
    parser.add_argument("--seed", type=int, default=None, help="random seed (default: new)")
    parser.add_argument("--kiosks", type=int, default=5)
    parser.add_argument("--rounds", type=int, default=8)
    parser.add_argument("--steps", type=int, default=400, help="steps per round")
    parser.add_argument("--rate", type=float, default=0.5, help="chance of a fault per step")
    parser.add_argument("--round", type=int, default=None, help="play only this round")
    parser.add_argument("--until-step", type=int, default=None, help="stop the round here")
    parser.add_argument("--keep", action="store_true", help="keep the files and databases")
    parser.add_argument("--folder", type=Path, default=None)
    return parser


def main(argv: list[str] | None = None) -> int:
    args = arguments().parse_args(argv)
    seed = args.seed if args.seed is not None else int.from_bytes(os.urandom(3), "big")
    print(f"machine: {machine()}")
    print(f"faults: seed {seed}, {args.kiosks} kiosks, {args.rounds if args.round is None else 1}"
          f" rounds x {args.steps} steps, fault chance {args.rate} a step"
          f" ({', '.join(f'{k} {w}' for k, w in FAULTS.items())})", flush=True)
    load_before = os.getloadavg()[0]
    started = time.perf_counter()
    total = run(seed=seed, kiosks=args.kiosks, rounds=args.rounds, steps=args.steps,
                rate=args.rate, only=args.round, until=args.until_step, keep=args.keep,
                folder=args.folder, log=lambda line: print(line, flush=True))
    seconds = time.perf_counter() - started
    for line in report(total, seconds, (load_before, os.getloadavg()[0])):
        print(line)
    return 1 if total.findings else 0


if __name__ == "__main__":
    raise SystemExit(main())
