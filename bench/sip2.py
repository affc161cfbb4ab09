"""SIP2 terminals against a PostgreSQL desk: checkout/checkin pairs, transactions per
second and latency; then the same loans at a kiosk after one sync.

Goal (issue 17): 20 terminals each doing checkout/checkin pairs for a minute against a
PostgreSQL desk: p99 <= 20 ms and >= 500 transactions/s on 2 cores; the loans visible
at a kiosk after one sync.

What it does: makes a fresh desk database on the PostgreSQL server (``--pg``, default
``$KIOSK_TEST_PG_URL`` or ``postgresql://postgres@127.0.0.1:5432/test``; dropped
afterwards) with a small school (``--terminals`` x 5 students with cards, 4 books each
per terminal), adds the terminals, and starts the real server as its own process
(``kiosk sip2 serve``, ``--workers`` database threads). Each terminal is a thread of
this process with a plain socket (requests made from templates, so the terminals cost
the 2 cores little): it logs in, then serves its students in turn: a student's card is
read (patron status, ``23``, not counted as a transaction), then five times one of the
terminal's books is lent (``11``) and taken back (``09``). Two runs:

1. flat out (``--seconds``): each terminal sends its next request as soon as it has
   the answer: the transactions per second the desk can serve;
2. paced (``--paced-seconds`` each): the terminals together offer each of ``--rates``
   transactions per second (100, a very busy school, and 500, the goal), as students
   arrive: each terminal's requests fall due at random (a Poisson process of its share
   of the rate); a request's latency is counted from when it was due, so a desk that
   falls behind shows it.

Twenty terminals that never pause see the queue, not the desk: a request waits for
the others in flight (Little's law: 20 requests in flight at 1,000/s is 20 ms each on
average). The flat run measures the throughput; the paced run the latency at the
goal's rate. Afterwards a kiosk (an SQLite file) joins the desk
and syncs once: it must hold every fact the terminals made, and the desk's loans.

Prints the machine, the load average before and after, the server's and PostgreSQL's
CPU seconds during the run, and the figures beside the goals.

Last run (2026-12-06 19:59, 2 cores, load 1.3 before; docs/sip2.md reads it)::

    flat out: 64,996 transactions in 60.0 s = 1,083/s (goal >= 500/s)  OK
      p50 17.1 ms, p99 25.2 ms (20 in flight at 1,083/s: 18.5 ms on average, Little's law)
      CPU: server 41.7 s, PostgreSQL 25.7 s, terminals 3.1 s; desk's CPU per transaction 1.04 ms
    paced 100/s: p50 1.5 ms, p99 3.8 ms (goal <= 20 ms)  OK
    paced 500/s: 30,098 in 60.2 s = 500/s; p50 1.4 ms, p99 5.6 ms (goal <= 20 ms)  OK
    kiosk after one sync: the terminals' 100,956 facts and 50,478 loans, as at the desk  OK
"""

from __future__ import annotations

import argparse
import os
import random
import socket
import subprocess
import sys
import tempfile
import threading
import time
import uuid
from dataclasses import dataclass, field
from datetime import datetime
from pathlib import Path
from urllib.parse import urlparse

from _common import Latency, machine

PASSWORD = "bench-pass"
STUDENTS = 5
BOOKS = 4
PAIRS = 5
"""Checkout/checkin pairs of each student in turn (their card is read first: ``23``)."""


def checksum(data: bytes) -> bytes:
    return f"{(-sum(data)) & 0xFFFF:04X}".encode()


def frame(body: str, sequence: int) -> bytes:
    data = body.encode() + b"AY" + str(sequence).encode() + b"AZ"
    return data + checksum(data) + b"\r"


def sip_now() -> str:
    return datetime.now().strftime("%Y%m%d    %H%M%S")


@dataclass
class Terminal:
    """One terminal's thread: its requests and what it measured."""

    name: str
    cards: list[str]
    books: list[str]
    port: int
    latencies: dict[str, list[float]] = field(default_factory=lambda: {"11": [], "09": []})
    refused: list[bytes] = field(default_factory=list)
    error: str = ""

    def run(self, start: threading.Event, seconds: float, rate: float = 0.0) -> None:
        try:
            self._run(start, seconds, rate)
        except Exception as error:  # noqa: BLE001 (reported with the figures)
            self.error = f"{type(error).__name__}: {error}"

    def _run(self, start: threading.Event, seconds: float, rate: float) -> None:
        sock = socket.create_connection(("127.0.0.1", self.port), timeout=30)
        sock.setsockopt(socket.IPPROTO_TCP, socket.TCP_NODELAY, 1)
        reader = sock.makefile("rb")
        sequence = 0

        def ask(body: str) -> bytes:
            nonlocal sequence
            sock.sendall(frame(body, sequence))
            sequence = (sequence + 1) % 10
            answer = b""
            while not answer.endswith(b"\r"):
                chunk = reader.read1(4096)
                if not chunk:
                    raise ConnectionError("the server closed the connection")
                answer += chunk
            return answer

        if not ask(f"9300CN{self.name}|CO{PASSWORD}|CPBENCH|").startswith(b"941"):
            raise RuntimeError("login refused")
        start.wait()
        began = time.perf_counter()
        end = began + seconds
        turn = 0
        # paced: requests fall due at random, as students arrive (a Poisson process of
        # ``rate`` a second at this terminal, so the terminals together offer their sum);
        # the first one is due after a random wait too, so the terminals do not start
        # in step
        arrivals = random.Random(self.name)
        due = began + (arrivals.expovariate(rate) if rate else 0.0)
        while time.perf_counter() < end:
            card = self.cards[(turn // PAIRS) % len(self.cards)]
            book = self.books[turn % len(self.books)]
            if turn % PAIRS == 0:  # the next student's card (not counted as a transaction)
                ask(f"23001{sip_now()}AOLK|AA{card}|AC|AD|")
            turn += 1
            date = sip_now()
            for command, body in (
                ("11", f"11NN{date}{date}AOLK|AA{card}|AB{book}|AC|"),
                ("09", f"09N{date}{date}APBENCH|AOLK|AB{book}|AC|"),
            ):
                if rate:  # paced: the clock starts when the request was due, not when sent
                    pause = due - time.perf_counter()
                    if pause > 0:
                        time.sleep(pause)
                    asked = due
                    due += arrivals.expovariate(rate)
                else:
                    asked = time.perf_counter()
                answer = ask(body)
                self.latencies[command].append(time.perf_counter() - asked)
                if answer[2:3] != b"1":
                    self.refused.append(answer[:200])
        sock.close()


def cpu_seconds(pids: list[int]) -> float:
    """User + system CPU seconds of the processes ``pids`` so far."""
    tick = os.sysconf("SC_CLK_TCK")
    total = 0
    for pid in pids:
        try:
            fields = Path(f"/proc/{pid}/stat").read_text().rsplit(")", 1)[1].split()
        except OSError:
            continue
        total += int(fields[11]) + int(fields[12])
    return total / tick


def postgres_pids() -> list[int]:
    found = []
    for entry in Path("/proc").iterdir():
        if entry.name.isdigit():
            try:
                if (entry / "comm").read_text().strip() in ("postgres", "postmaster"):
                    found.append(int(entry.name))
            except OSError:
                pass
    return found


def load() -> str:
    return " ".join(Path("/proc/loadavg").read_text().split()[:3])


def build_desk(url: str, terminals: int) -> list[tuple[str, list[str], list[str]]]:
    """The desk's school: per terminal its name, its students' card codes, its books."""
    from kiosk.data import sync
    from kiosk.data.core import journal, library, masterdata
    from kiosk.data.core.db import database
    from kiosk.data.core.facts import HybridClock
    from kiosk.sip2.adapter import add_terminal

    desk = sync.init_desk(url)
    plan = []
    with database.session(desk), desk.atomic():
        masterdata.save("class_saved", name="3A", grade=3)
        masterdata.save_many("patron_saved", [
            {"patron": f"S{t:02d}{s}", "name": f"Student {t}-{s}", "kind": "student",
             "class": "3A"}
            for t in range(terminals) for s in range(STUDENTS)
        ])
        masterdata.save_many("title_saved", [
            {"key": f"T{t:02d}{b}", "title": f"Book {t}-{b}", "author": "An Author",
             "classification": "I247", "kind": "book"}
            for t in range(terminals) for b in range(BOOKS)
        ])
        masterdata.save_many("copy_saved", [
            {"copy": f"B{t:02d}{b}", "title": f"T{t:02d}{b}", "shelf": "I"}
            for t in range(terminals) for b in range(BOOKS)
        ])
        clock = HybridClock("desk", journal.last_hlc())
        for t in range(terminals):
            cards = [library.issue_card(f"S{t:02d}{s}", clock=clock) for s in range(STUDENTS)]
            plan.append((f"gate{t:02d}", cards, [f"B{t:02d}{b}" for b in range(BOOKS)]))
    for name, _, _ in plan:
        add_terminal(desk, name, PASSWORD, location="BENCH", language="en")
    desk.close()
    return plan


def wait_for_port(port: int, process: subprocess.Popen[bytes], timeout: float = 30) -> None:
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        if process.poll() is not None:
            raise RuntimeError("the SIP2 server stopped: " + process.stderr.read().decode())  # type: ignore[union-attr]
        try:
            socket.create_connection(("127.0.0.1", port), timeout=1).close()
            return
        except OSError:
            time.sleep(0.1)
    raise RuntimeError("the SIP2 server did not start")


def free_port() -> int:
    with socket.socket() as probe:
        probe.bind(("127.0.0.1", 0))
        return int(probe.getsockname()[1])


def kiosk_check(url: str, folder: Path) -> str:
    """A kiosk joins and syncs once: does it hold the terminals' facts and the loans?"""
    import peewee as pw

    from kiosk.data import sync
    from kiosk.data.core import library
    from kiosk.data.core.db import database
    from kiosk.data.core.models import Journal, Loan

    kiosk = library.open_library(f"sqlite:///{folder / 'kiosk.sqlite'}", create=True)
    ident = sync.join(kiosk, url, "bench-kiosk")
    desk = sync.open_desk(url)
    began = time.perf_counter()
    report = sync.sync_once(kiosk, desk, ident)
    took = time.perf_counter() - began

    def figures(db: pw.Database) -> tuple[int, int, int]:
        with database.session(db):
            made = Journal.select().where(
                Journal.kind.in_(["checkout", "checkin"]) & Journal.kiosk.startswith("gate")
            ).count()
            return made, Loan.select().count(), Loan.select().where(Loan.returned_at.is_null()).count()

    at_desk, at_kiosk = figures(desk), figures(kiosk)
    desk.close()
    kiosk.close()
    verdict = "OK" if at_desk == at_kiosk else "MISSED"
    return (f"kiosk after one sync ({report.pulled:,} facts pulled in {took:.1f} s): "
            f"terminals' facts / loans / open loans at the desk {at_desk}, at the kiosk "
            f"{at_kiosk}  {verdict}")


@dataclass
class Run:
    """What one phase measured."""

    terminals: list[Terminal]
    seconds: float
    cpu_server: float
    cpu_pg: float
    cpu_terminals: float
    load_before: str
    load_after: str


def run_terminals(
    plan: list[tuple[str, list[str], list[str]]], port: int, server_pid: int, seconds: float,
    rate: float,
) -> Run:
    """Every terminal for ``seconds`` (``rate``: its requests per second; 0: flat out)."""
    terminals = [Terminal(name, cards, books, port) for name, cards, books in plan]
    start = threading.Event()
    threads = [
        threading.Thread(target=t.run, args=(start, seconds, rate)) for t in terminals
    ]
    for thread in threads:
        thread.start()
    time.sleep(1.0)  # every terminal logged in and waiting
    before = load()
    pg = postgres_pids()
    cpu_server, cpu_pg = cpu_seconds([server_pid]), cpu_seconds(pg)
    cpu_terminals = time.process_time()
    began = time.perf_counter()
    start.set()
    for thread in threads:
        thread.join()
    took = time.perf_counter() - began
    return Run(terminals, took, cpu_seconds([server_pid]) - cpu_server, cpu_seconds(pg) - cpu_pg,
               time.process_time() - cpu_terminals, before, load())


def report(title: str, run: Run, *, throughput_goal: bool) -> None:
    """Print one phase's figures beside the goals."""
    every = [x for t in run.terminals for kind in ("11", "09") for x in t.latencies[kind]]
    checkouts = [x for t in run.terminals for x in t.latencies["11"]]
    checkins = [x for t in run.terminals for x in t.latencies["09"]]
    refused = [r for t in run.terminals for r in t.refused]
    errors = [f"{t.name}: {t.error}" for t in run.terminals if t.error]
    rate = len(every) / run.seconds
    overall = Latency.of(every)
    per = (run.cpu_server + run.cpu_pg) / max(1, len(every)) * 1000
    print(f"  {title}")
    print(f"    load average before {run.load_before}, after {run.load_after}")
    verdict = ("OK" if rate >= 500 else "MISSED") if throughput_goal else ""
    goal = " (goal >= 500/s)" if throughput_goal else ""
    print(f"    transactions: {len(every):,} in {run.seconds:.1f} s = {rate:,.0f}/s{goal}  {verdict}")
    print("    latency ms      p50    p99   mean    max")
    for label, values in (("all", every), ("checkout", checkouts), ("checkin", checkins)):
        summary = Latency.of(values)
        print(f"      {label:<10} {summary.p50:6.2f} {summary.p99:6.2f} {summary.mean:6.2f} "
              f"{summary.worst:6.1f}")
    if throughput_goal:  # flat out: the queue's latency (Little's law), not the goal's
        in_flight = len(run.terminals)
        print(f"    p99 {overall.p99:.1f} ms: {in_flight} requests always in flight at {rate:,.0f}/s "
              f"wait {in_flight / rate * 1000:.1f} ms on average (Little's law); the latency "
              "goal is measured paced, below")
    else:
        print(f"    p99 {overall.p99:.1f} ms (goal <= 20 ms)  {'OK' if overall.p99 <= 20 else 'MISSED'}")
    print(f"    CPU: SIP2 server process {run.cpu_server:.1f} s, PostgreSQL {run.cpu_pg:.1f} s, "
          f"the terminals {run.cpu_terminals:.1f} s (of {2 * run.seconds:.0f} s on 2 cores; the "
          f"rest went to other work on the machine)")
    print(f"    desk's CPU per transaction {per:.2f} ms: 2 cores free for the desk would serve "
          f"at most {2000 / per:,.0f}/s")
    if refused or errors:
        print(f"    refused: {len(refused)} {refused[:3]}; errors: {errors[:3]}")


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--pg", default=os.environ.get("KIOSK_TEST_PG_URL")
                        or "postgresql://postgres@127.0.0.1:5432/test")
    parser.add_argument("--terminals", type=int, default=20)
    parser.add_argument("--seconds", type=float, default=60.0)
    parser.add_argument("--workers", type=int, default=2)
    parser.add_argument("--rates", default="100,500",
                        help="transactions/s the terminals offer together, one paced run "
                        "each (default: 100,500)")
    parser.add_argument("--paced-seconds", type=float, default=60.0,
                        help="length of each paced run (0: none)")
    args = parser.parse_args()

    import psycopg2  # type: ignore[import-untyped]

    name = f"kiosk_bench_sip2_{uuid.uuid4().hex[:8]}"
    admin = psycopg2.connect(args.pg)
    admin.autocommit = True
    admin.cursor().execute(f'CREATE DATABASE "{name}"')
    url = urlparse(args.pg)._replace(path="/" + name).geturl()
    folder = Path(tempfile.mkdtemp(prefix="bench-sip2-"))
    print("Library Kiosk - SIP2 benchmark (checkout/checkin pairs against a PostgreSQL desk)")
    print(f"machine: {machine()}; run {datetime.now():%Y-%m-%d %H:%M}")
    server = None
    try:
        plan = build_desk(url, args.terminals)
        port = free_port()
        env = {**os.environ, "KIOSK_CONFIG": str(folder / "none.toml")}
        command = [sys.executable, "-m", "kiosk", "sip2", "serve", "--db", url,
                   "--host", "127.0.0.1", "--port", str(port), "--workers", str(args.workers)]
        server = subprocess.Popen(command, env=env, stdout=subprocess.DEVNULL,
                                  stderr=subprocess.PIPE, cwd=Path(__file__).resolve().parent.parent)
        wait_for_port(port, server)
        rates = [float(rate) for rate in args.rates.split(",") if rate.strip()]
        flat = run_terminals(plan, port, server.pid, args.seconds, 0.0)
        paced = [
            (rate, run_terminals(plan, port, server.pid, args.paced_seconds, rate / len(plan)))
            for rate in (rates if args.paced_seconds > 0 else [])
        ]
        server.send_signal(2)
        server.wait(30)
        print(f"  {args.terminals} terminals, server with {args.workers} database threads")
        report("flat out: each terminal sends its next request as soon as it has the answer",
               flat, throughput_goal=True)
        for rate, run in paced:
            report(f"paced: the terminals together offer {rate:.0f} transactions/s "
                   "(latency counted from when a request was due)", run,
                   throughput_goal=False)
        print("  " + kiosk_check(url, folder))
    finally:
        if server is not None and server.poll() is None:
            server.kill()
        admin.cursor().execute(f'DROP DATABASE IF EXISTS "{name}" WITH (FORCE)')
        admin.close()
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
