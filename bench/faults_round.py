"""One round of the fault harness: a new desk and kiosks, school days and faults, checks.

A :class:`Round` makes a fresh PostgreSQL database on the server for its desk, imports
the school's roster and catalogue there, joins ``kiosks`` SQLite kiosks to it (each
through its own :class:`tcpproxy.TcpProxy`) and starts them and the desk's program as
processes (``bench/faults_child.py``). Then, step after step, every kiosk (and now
and then the desk) is sent its next operation (``bench/faults_school.py``) while the
:class:`Schedule` injects a fault, and the checker (``bench/faults_check.py``) looks at
what the fault left. At the end every link comes back, every kiosk syncs until
nothing moves, and the final check runs.

Everything random comes from ``random.Random(f"{seed}:{round}")``: the operations,
the faults, their targets, delays and lengths. Where a fault lands in a process's
work depends on timing, so a replay gives the same operations and faults at the same
steps, not always the same interleaving.
"""

from __future__ import annotations

import contextlib
import json
import multiprocessing
import multiprocessing.forkserver
import os
import random
import signal
import time
from collections import Counter
from dataclasses import dataclass, field
from datetime import UTC, datetime
from multiprocessing.connection import wait
from pathlib import Path
from typing import Any
from urllib.parse import urlparse

import faults_check as check
import faults_child as child
import faults_kiosk as fk
import psycopg2  # type: ignore[import-untyped]
import tcpproxy
from faults_school import School, SchoolDay
from tcpproxy import TcpProxy

FAULTS = {
    "kill": 36, "arm": 24, "desk-kill": 6, "desk-arm": 5, "terminate": 5, "cut": 10,
    "stall": 8, "disk": 6,
}
"""How often each fault is drawn (relative weights):

``kill``: SIGKILL a kiosk after a random delay while it plays an operation and syncs;
``arm``: a kiosk kills itself at a chosen point (``faults_child.KIOSK_POINTS``);
``desk-kill`` / ``desk-arm``: the same for the desk's program, during an operation;
``terminate``: ``pg_terminate_backend`` on every connection to the desk;
``cut`` / ``stall``: a kiosk's link to the desk is cut (connections closed, new ones
refused) or stalled (nothing passes) for half a second to :data:`STALL_CAP` seconds;
``disk``: a kiosk's files may not grow (``RLIMIT_FSIZE``) for a few steps; then it is
killed, so that its journal is replayed and compared."""

SYNC_FAILURES = ("OperationalError", "InterfaceError", "DeskSilent")
"""How a kiosk's sync may fail when its link is cut or stalled, the desk's connections
terminated or its own disk full (as its log names the error)."""

SPEED = 3 * 3600.0
"""School seconds per real second: a round of two or three minutes is one or two school
weeks, so renewals run out and holds wait on the shelf (a 40-minute class visit still
lasts a few steps; loans do not yet fall overdue in a round)."""

SCHOOL_START = datetime(2031, 9, 1, 7, 30, tzinfo=UTC)
"""When every round's school clock starts (a Monday morning, the first of a term): the
same calendar on every replay, so due dates, weekends and closed days fall alike. It
lies ahead of the real clock, as the school's time does all round long (the desk's
imports and copy decisions carry the real time), so the facts keep the order they had
when each round started at the real time."""

CONTEXT = multiprocessing.get_context("forkserver")
CONTEXT.set_forkserver_preload(["faults", "faults_child"])
"""Children are forked by a server that has imported the kiosk's code once: a restart
after a kill costs a fork, not half a second of imports."""


def _start_fork_server() -> None:
    """Start the fork server (once) with the harness's folders on its ``PYTHONPATH``.

    The server does not take ``sys.path`` from its parent before it imports what it
    preloads (Python 3.11 drops it), and an import that fails is silently skipped:
    each child would then import everything itself.
    """
    folders = [str(Path(__file__).resolve().parent), str(Path(tcpproxy.__file__).parent)]
    before = os.environ.get("PYTHONPATH")
    os.environ["PYTHONPATH"] = os.pathsep.join(folders + ([before] if before else []))
    try:
        multiprocessing.forkserver.ensure_running()
    finally:
        if before is None:
            del os.environ["PYTHONPATH"]
        else:
            os.environ["PYTHONPATH"] = before

STALL_CAP = 6.0
"""The longest cut or stall, in seconds: longer than the kiosks' ``reply_timeout``
(``faults_kiosk.TIMEOUTS``), so that a stall ends a sync, which must then lose
nothing. (The injector brings every link back in time anyway: the desk's program has
no such bound, and waits for a journal lock a stalled push may hold.)"""


@dataclass(frozen=True)
class Fault:
    """One fault of the schedule: at ``step``, ``kind`` on ``target`` (``detail``: the
    delay of a kill, the armed point, the seconds of a cut or stall, the steps of a
    full disk)."""

    step: int
    kind: str
    target: str
    detail: Any

    def __str__(self) -> str:
        detail = f"{self.detail:.3f} s" if isinstance(self.detail, float) else self.detail
        return f"step {self.step}: {self.kind} {self.target} ({detail})"


class Schedule:
    """Draws the faults from the round's random generator, one chance a step."""

    def __init__(self, rng: random.Random, kiosks: list[str], rate: float) -> None:
        self.rng, self.kiosks, self.rate = rng, kiosks, rate
        self.drawn: list[Fault] = []

    def draw(self, step: int) -> Fault | None:
        rng = self.rng
        if rng.random() >= self.rate:
            return None
        kind = rng.choices(list(FAULTS), weights=list(FAULTS.values()))[0]
        desk = kind.startswith("desk") or kind == "terminate"
        target = "desk" if desk else rng.choice(self.kiosks)
        detail: Any = None
        if kind in ("kill", "desk-kill"):
            # mostly while the operation just sent runs, else at any moment of a sync
            detail = rng.uniform(0.0, 0.015) if rng.random() < 0.6 else rng.uniform(0.0, 0.4)
        elif kind == "arm":
            detail = rng.choice(child.KIOSK_POINTS)
        elif kind == "desk-arm":
            detail = rng.choice(child.DESK_POINTS)
        elif kind in ("cut", "stall"):
            detail = round(rng.uniform(0.5, STALL_CAP), 3)
        elif kind == "disk":
            detail = rng.randint(2, 12)
        fault = Fault(step, kind, target, detail)
        self.drawn.append(fault)
        return fault


@dataclass
class Figures:
    """What a round did and found."""

    steps: int = 0
    kills: Counter[str] = field(default_factory=Counter)
    links: Counter[str] = field(default_factory=Counter)
    other: Counter[str] = field(default_factory=Counter)
    outcomes: Counter[str] = field(default_factory=Counter)
    acks: int = 0
    findings: list[str] = field(default_factory=list)
    facts: int = 0
    cases: Counter[str] = field(default_factory=Counter)
    seconds: float = 0.0
    failed_at: int | None = None
    starts: list[float] = field(default_factory=list)
    """Seconds from asking for a process to its first word (a restart after a kill)."""
    inits: list[float] = field(default_factory=list)
    """Seconds of those the process itself took to open its database and start."""

    def add(self, other: Figures) -> None:
        self.steps += other.steps
        for mine, theirs in ((self.kills, other.kills), (self.links, other.links),
                             (self.other, other.other), (self.outcomes, other.outcomes),
                             (self.cases, other.cases)):
            mine.update(theirs)
        self.acks += other.acks
        self.facts += other.facts
        self.starts += other.starts
        self.inits += other.inits
        self.findings += other.findings
        self.seconds += other.seconds


@dataclass
class _Child:
    """A running kiosk or desk program."""

    name: str
    process: Any
    conn: Any
    shared: Any
    waiting: bool = False
    killed: str | None = None
    """Why the harness killed it (``None``: it was not killed from outside)."""
    armed: tuple[str, float] | None = None
    quit: bool = False


class Round:
    """One round: set up, play ``steps`` steps with faults, converge, check."""

    def __init__(self, *, seed: int, number: int, kiosks: int, steps: int, rate: float,
                 server: str, folder: Path, until: int | None = None, keep: bool = False,
                 log: Any = print) -> None:
        self.seed, self.number, self.steps, self.until, self.keep = seed, number, steps, until, keep
        self.rng = random.Random(f"{seed}:{number}")
        self.names = [f"k{i + 1}" for i in range(kiosks)]
        self.folder = folder
        self.server = server
        self.log = log
        self.schedule = Schedule(self.rng, self.names, rate)
        self.school = School.founded()
        self.day = SchoolDay(self.school, self.rng, self.names)
        self.figures = Figures()
        self.acks: dict[str, set[str]] = {name: set() for name in [*self.names, fk.DESK]}
        self.ack_files: dict[str, Any] = {}
        self.children: dict[str, _Child] = {}
        self.proxies: dict[str, TcpProxy] = {}
        self.lasting: dict[str, tuple[str, float]] = {}
        """Faults that last: target (``disk:`` target for a full disk) -> (kind, until:
        the last step of a full disk, the monotonic time a cut or stall ends)."""
        self.ctx = CONTEXT
        self.database = f"faults_{seed}_{number}_{os.getpid()}"
        self.url = urlparse(server)._replace(path="/" + self.database).geturl()
        self.admin: Any = None
        self.pool: Any = None
        """One process that replays the killed kiosks' journals while the round goes on."""
        self.replays: list[Any] = []
        self.snapshots = 0
        self.step_now = 0
        self.clock = fk.SchoolClock(time.time(), SCHOOL_START, SPEED)

    # -- setting up and tearing down -----------------------------------------------

    def path(self, name: str) -> Path:
        return self.folder / f"{name}.sqlite"

    def setup(self) -> None:
        _start_fork_server()
        self.pool = self.ctx.Pool(1)
        self.folder.mkdir(parents=True, exist_ok=True)
        self.admin = psycopg2.connect(self.server, connect_timeout=10)
        self.admin.autocommit = True
        with self.admin.cursor() as cur:
            cur.execute(f'DROP DATABASE IF EXISTS "{self.database}" WITH (FORCE)')
            cur.execute(f'CREATE DATABASE "{self.database}"')
        roster, catalogue = self.folder / "roster.csv", self.folder / "catalogue.csv"
        roster.write_text(self.school.roster_csv(), encoding="utf-8")
        catalogue.write_text(self.school.catalogue_csv(self.school.books), encoding="utf-8")
        fk.make_desk(self.url, roster, catalogue, self.clock())
        for name in self.names:
            proxy = TcpProxy.for_url(self.url)
            self.proxies[name] = proxy
            fk.join_kiosk(self.path(name), self.url, proxy.url(self.url), name)
        for name in [*self.names, fk.DESK]:
            self.ack_files[name] = (self.folder / f"acks-{name}.log").open("a", encoding="utf-8")
            self.start(name)

    def start(self, name: str) -> None:
        """Start (or restart) a kiosk or the desk's program and wait until it is ready."""
        began = time.perf_counter()
        here, there = self.ctx.Pipe()
        shared = self.ctx.RawArray("i", len(child.SHARED))
        target = self.url if name == fk.DESK else str(self.path(name))
        cfg = child.ChildConfig(name, target, self.folder, self.clock)
        main = child.desk_main if name == fk.DESK else child.kiosk_main
        process = self.ctx.Process(target=main, args=(there, cfg, shared), name=name, daemon=True)
        process.start()
        there.close()
        if not here.poll(60):
            raise RuntimeError(f"{name} did not start")
        ready = here.recv()
        assert ready[0] == "ready", ready
        self.figures.starts.append(time.perf_counter() - began)
        self.figures.inits.append(ready[2])
        self.children[name] = _Child(name, process, here, shared)

    def teardown(self, failed: bool) -> None:
        if self.pool is not None:
            self.pool.terminate()
            self.pool.join()
        for proxy in self.proxies.values():
            proxy.close()
        for kid in self.children.values():
            if kid.process.is_alive():
                kid.process.kill()
            kid.process.join(10)
        for f in self.ack_files.values():
            f.close()
        if self.admin is not None:
            if not (failed or self.keep):
                with self.admin.cursor() as cur:
                    cur.execute(f'DROP DATABASE IF EXISTS "{self.database}" WITH (FORCE)')
            self.admin.close()

    # -- the steps -----------------------------------------------------------------

    def play(self) -> Figures:
        """Set up, play, converge and check; the figures (findings included)."""
        started = time.perf_counter()
        failed = True
        try:
            self.setup()
            for step in range(self.steps):
                if self.until is not None and step >= self.until:
                    break
                self.step(step)
                self.figures.steps += 1
                if self.figures.findings:
                    self.figures.failed_at = step
                    break
            self.converge()
            failed = bool(self.figures.findings)
        finally:
            self.figures.seconds = time.perf_counter() - started
            self.teardown(failed)
        return self.figures

    def draw(self, step: int) -> tuple[Fault | None, dict[str, tuple[Any, ...]]]:
        """Step ``step``'s fault (if any) and operations (each kiosk's, and now and then
        the desk's): drawn from the round's generator alone, so the same seed and round
        draw the same ones, whatever the processes answered."""
        fault = self.schedule.draw(step)
        ops = {name: self.day.kiosk_op(name) for name in self.names}
        if self.rng.random() < 0.25 or (fault is not None and fault.kind.startswith("desk")):
            ops[fk.DESK] = self.day.desk_op()
        return fault, ops

    def step(self, step: int) -> None:
        self.step_now = step
        self.replays_done()
        self.collect()  # whoever died between steps (an armed point in the sync)
        self.expire(step)
        fault, ops = self.draw(step)
        before = fault is not None and fault.kind in ("arm", "desk-arm", "disk")
        if fault is not None and before:
            self.inject(fault)  # a point armed or a disk filled before the operation
        for name, op in ops.items():
            self.send(name, ("op", op))
        if fault is not None and not before:
            self.inject(fault)  # a kill, a cut... while the operation runs
        self.collect()

    def send(self, name: str, message: tuple[Any, ...]) -> None:
        """Send a command; its answer (or the child's death) is for :meth:`collect`.

        One command at a time: an answer read for the wrong command would put every
        later one out of step.
        """
        kid = self.children[name]
        if kid.waiting:
            raise RuntimeError(f"{name} has not answered its last command yet")
        kid.waiting = True
        with contextlib.suppress(OSError):  # it died: collect() will see to it
            kid.conn.send(message)

    def inject(self, fault: Fault) -> None:
        kind, target = fault.kind, fault.target
        if kind in ("arm", "desk-arm"):
            self.send(target, ("arm", fault.detail))
            self.collect()
            self.children[target].armed = (fault.detail, time.monotonic() + 3.0)
        elif kind in ("kill", "desk-kill"):
            time.sleep(fault.detail)
            self.kill(target, "random")
        elif kind == "terminate":
            with self.admin.cursor() as cur:
                cur.execute("SELECT count(pg_terminate_backend(pid)) FROM pg_stat_activity"
                            " WHERE datname = %s AND pid <> pg_backend_pid()", (self.database,))
                self.figures.other["connections terminated"] += cur.fetchone()[0]
            self.figures.other["pg_terminate_backend"] += 1
            self.check_desk()
        elif kind in ("cut", "stall"):
            if target in self.lasting:
                return
            proxy = self.proxies[target]
            proxy.cut() if kind == "cut" else proxy.stall()
            self.figures.links[kind] += 1
            self.lasting[target] = (kind, time.monotonic() + fault.detail)
        elif kind == "disk":
            if f"disk:{target}" in self.lasting:
                return
            self.send(target, ("disk", "full"))
            self.collect()
            self.figures.other["disk full"] += 1
            self.lasting[f"disk:{target}"] = ("disk", fault.step + fault.detail)

    def expire(self, step: int) -> None:
        """End the full disks whose steps are up (and the cuts and stalls whose time is)."""
        self.restore_links()
        for key, (kind, until) in list(self.lasting.items()):
            if kind != "disk" or step < until:
                continue
            del self.lasting[key]
            name = key.split(":", 1)[1]
            self.send(name, ("disk", "free"))
            self.collect()
            self.kill(name, "after a full disk")
            self.collect()

    def restore_links(self) -> None:
        """Bring back the links whose cut or stall is over (also while waiting for an
        answer: a kiosk's stalled push holds the desk's journal lock, which the desk's
        program may be waiting for)."""
        now = time.monotonic()
        for key, (kind, until) in list(self.lasting.items()):
            if kind != "disk" and now >= until:
                del self.lasting[key]
                self.proxies[key].restore()
                self.check_live(key)

    def kill(self, name: str, why: str) -> None:
        kid = self.children[name]
        if kid.killed is None and kid.process.is_alive():
            phase = "+".join(
                p for p, i in (("op", kid.shared[0]), (child.PHASES[kid.shared[1]], kid.shared[1]))
                if i
            )
            kid.killed = f"{why} ({phase or 'idle'})"
            with contextlib.suppress(ProcessLookupError):
                os.kill(kid.process.pid, signal.SIGKILL)

    def collect(self) -> None:
        """Wait for every answer (or death); check and restart whoever died."""
        deadline = time.monotonic() + 120
        while True:
            waiting = [k for k in self.children.values() if k.waiting]
            for kid in self.children.values():
                if kid.armed is not None and time.monotonic() > kid.armed[1]:
                    self.kill(kid.name, f"armed at {kid.armed[0]}, not reached")
            if not waiting:
                break
            self.restore_links()
            if time.monotonic() > deadline:
                self.finding("broken", f"{[k.name for k in waiting]} did not answer for 120 s")
                for kid in waiting:
                    self.kill(kid.name, "hung")
                deadline = time.monotonic() + 30
            ready = wait([k.conn for k in waiting] + [k.process.sentinel for k in waiting], 0.5)
            for kid in waiting:
                if kid.conn in ready:
                    try:
                        self.answer(kid, kid.conn.recv())
                        continue
                    except (EOFError, OSError):
                        pass
                if kid.conn in ready or kid.process.sentinel in ready:
                    if not kid.process.is_alive():
                        self.died(kid)
        for kid in list(self.children.values()):
            if not kid.quit and (kid.killed is not None or not kid.process.is_alive()):
                self.died(kid)

    def answer(self, kid: _Child, message: tuple[Any, ...]) -> None:
        kid.waiting = False
        if message[0] == "bye":
            kid.quit = True
        if message[0] != "done":
            return
        _, acks, phantoms, outcomes, errors = message
        self.figures.outcomes.update(outcomes)
        if acks:
            self.acks[kid.name].update(uuid for uuid, _ in acks)
            self.figures.acks += len(acks)
            log = self.ack_files[kid.name]
            log.write("".join(f"{uuid} {kind}\n" for uuid, kind in acks))
            log.flush()
            os.fsync(log.fileno())
        for uuid, kind in phantoms:
            self.finding("phantom", f"{kid.name}: a {kind} fact {uuid} recorded by a call that"
                                    " said nothing was recorded (storage)")
        for error in errors:
            self.finding("broken", f"{kid.name}: the service raised: {error}")

    def died(self, kid: _Child) -> None:
        """A child is dead: say where it died, check what it left, start it again."""
        kid.process.join(10)
        code = kid.process.exitcode
        kid.waiting = False
        point = kid.shared[2]
        if code != -signal.SIGKILL:
            self.finding("broken", f"{kid.name} ended by itself with exit code {code}")
        elif point:
            self.figures.kills[f"{kid.name[:4] if kid.name == fk.DESK else 'kiosk'} at"
                               f" {child.POINTS[point - 1]}"] += 1
        elif kid.killed is not None:
            where = "desk" if kid.name == fk.DESK else "kiosk"
            self.figures.kills[f"{where} {kid.killed}"] += 1
        else:
            self.finding("broken", f"{kid.name} was killed by someone else")
        kid.conn.close()
        if kid.name == fk.DESK:
            self.check_desk()
        else:
            self.check_dead(kid.name, kid.killed or "at an armed point")
        self.start(kid.name)

    # -- checks --------------------------------------------------------------------

    def finding(self, kind: str, text: str) -> None:
        self.figures.findings.append(f"{kind}: {text}")
        self.log(f"  FINDING {kind}: {text}")
        with (self.folder / "findings.txt").open("a", encoding="utf-8") as out:
            out.write(f"step {self.step_now}: {kind}: {text}\n")

    def _desk_conn(self) -> Any:
        return check.open_desk(self.url)

    def check_dead(self, name: str, why: str) -> None:
        desk = self._desk_conn()
        try:
            for f in check.dead_kiosk(self.path(name), name, self.acks[name], desk):
                self.finding(f.kind, f.text)
        finally:
            desk.close()
        self.snapshots += 1
        copy = check.snapshot(self.path(name), self.folder / f"{name}-{self.snapshots}.sqlite")
        label = f"{name} killed {why} at step {self.step_now}"
        self.replays.append(self.pool.apply_async(check.replayed, (copy, label)))

    def replays_done(self, wait: bool = False) -> None:
        """Take in the findings of the replays that have finished (all of them, waiting)."""
        for job in list(self.replays):
            if wait or job.ready():
                self.replays.remove(job)
                for f in job.get(timeout=600):
                    self.finding(f.kind, f.text)

    def check_live(self, name: str) -> None:
        desk = self._desk_conn()
        try:
            for f in check.live_kiosk(self.path(name), name, desk):
                self.finding(f.kind, f.text)
        finally:
            desk.close()

    def check_desk(self) -> None:
        desk = self._desk_conn()
        try:
            for f in check.desk(desk, self.acks[fk.DESK]):
                self.finding(f.kind, f.text)
        finally:
            desk.close()

    def count_failed_syncs(self) -> None:
        """How the kiosks' background syncs failed, from their logs: ended by a bound on
        waiting for the desk (a stall), or otherwise (a cut, a terminated connection).

        A sync that failed with anything but the errors of a connection that went away
        (:data:`SYNC_FAILURES`) failed in the kiosk's own code: a finding. (A sync that
        can never work fails quietly on screen, "offline", and would leave every kiosk
        offline the whole round, its pushes and pulls never killed.)
        """
        for name in self.names:
            log = self.folder / f"{name}.log"
            if not log.exists():
                continue
            for line in log.read_text(encoding="utf-8", errors="replace").splitlines():
                if "sync failed:" not in line:
                    continue
                error = line.split("sync failed:", 1)[1].strip()
                if error.split(":", 1)[0] not in SYNC_FAILURES:
                    self.figures.other["syncs failed in the kiosk's code"] += 1
                    if self.figures.other["syncs failed in the kiosk's code"] <= 3:
                        self.finding("broken", f"{name}: a sync failed: {error[:300]}")
                    continue
                bounded = "the desk did not" in line
                self.figures.other["syncs ended by a time bound" if bounded
                                   else "syncs failed otherwise"] += 1

    def synced_meanwhile(self) -> None:
        """How many of the kiosks' facts their own syncs brought to the desk during the
        round (before the final sync): none, in a round long enough for a few syncs, is a
        finding (kiosks that never synced were never killed in a push or a pull)."""
        mine = sum(len(acks) for name, acks in self.acks.items() if name != fk.DESK)
        desk = self._desk_conn()
        try:
            with desk.cursor() as cur:
                cur.execute('SELECT COUNT(*) FROM "journal" WHERE "kiosk" <> %s', (fk.DESK,))
                pushed = cur.fetchone()[0]
        finally:
            desk.close()
        self.figures.other["kiosk facts at the desk before the final sync"] += pushed
        if pushed == 0 and mine >= 50:
            self.finding("broken", f"the kiosks acknowledged {mine} facts and synced none of"
                                   " them to the desk during the round")

    def converge(self) -> None:
        """Every link back, every process stopped, every kiosk synced until quiet; the
        final check."""
        for key in list(self.lasting):
            kind, _ = self.lasting.pop(key)
            if kind != "disk":
                self.proxies[key].restore()
        for proxy in self.proxies.values():
            proxy.restore()
        self.collect()
        for what in (("arm", None), ("quit",)):  # disarmed first: a quit must not die
            for name, kid in self.children.items():
                kid.armed = None
                self.send(name, what)
            self.collect()
        for kid in self.children.values():
            kid.process.join(30)
        self.count_failed_syncs()
        self.synced_meanwhile()
        self.replays_done(wait=True)
        fk.sync_until_quiet([self.path(n) for n in self.names], self.url)
        found, figures = check.final(self.url, {n: self.path(n) for n in self.names}, self.acks,
                                     self.folder)
        for f in found:
            self.finding(f.kind, f.text)
        self.figures.facts = figures["facts"]
        self.figures.cases.update(figures["cases"])
        (self.folder / "figures.json").write_text(json.dumps(figures, indent=1), encoding="utf-8")
