"""Crash safety: a kiosk killed with SIGKILL at any moment leaves a consistent database.

A child process (``tests/crash_child.py``) lends and returns on a real SQLite file and
is killed at random moments, and, deterministically, in the middle of one fact's
transaction. After every kill the file is reopened and checked: every checkout fact
has its loan and every loan its fact, open loans and ``on_loan`` copies match, every
return closed the loan it names, the file passes SQLite's integrity check, and
replaying the journal gives exactly the state found.
"""

from __future__ import annotations

import json
import os
import random
import select
import signal
import subprocess
import sys
import time
from pathlib import Path
from typing import Any

import peewee as pw
import pytest

from kiosk.data.core import journal
from kiosk.data.core.models import Copy, Hold, Journal, Loan

pytestmark = [
    pytest.mark.slow,
    pytest.mark.skipif(not hasattr(signal, "SIGKILL"), reason="needs POSIX signals"),
]

CHILD = Path(__file__).with_name("crash_child.py")
RANDOM_ROUNDS = 6


def start(url: str, *args: str) -> subprocess.Popen[str]:
    """Start the child kiosk and wait until it says it is about to write."""
    proc = subprocess.Popen(
        [sys.executable, str(CHILD), url, *args],
        stdout=subprocess.PIPE,
        stderr=subprocess.PIPE,
        text=True,
    )
    assert read_line(proc) == "ready", proc.stderr.read() if proc.stderr else ""
    return proc


def read_line(proc: subprocess.Popen[str], timeout: float = 10.0) -> str:
    assert proc.stdout is not None
    ready, _, _ = select.select([proc.stdout], [], [], timeout)
    if not ready:
        proc.kill()
        raise AssertionError("the child kiosk said nothing")
    return proc.stdout.readline().strip()


def snapshot() -> dict[str, list[Any]]:
    return {
        "loans": sorted(Loan.select().tuples(), key=lambda row: row[0]),
        "holds": sorted(Hold.select().tuples(), key=lambda row: row[0]),
        "copies": sorted(Copy.select(Copy.barcode, Copy.status).tuples()),
    }


def assert_consistent(db: pw.Database) -> dict[str, int]:
    """Check every invariant a crash could break; return some counts."""
    with db.connection_context():
        assert db.execute_sql("PRAGMA integrity_check").fetchone()[0] == "ok"
        checkouts = {row.uuid: row for row in Journal.select().where(Journal.kind == "checkout")}
        loans = {loan.id: loan for loan in Loan.select()}
        assert set(checkouts) == set(loans), "a checkout without its loan, or a loan without fact"
        for uuid, row in checkouts.items():
            loan = loans[uuid]
            assert loan.copy.barcode == row.copy
            assert loan.patron.number == row.patron
            assert loan.due_on.isoformat() == json.loads(row.data)["due_on"]

        returned = {
            json.loads(row.data)["loan"]
            for row in Journal.select().where(Journal.kind == "checkin")
        } - {None}
        assert returned <= set(loans)
        for loan in loans.values():
            # Nothing here lends a copy twice, so a loan ends only by its return.
            assert (loan.returned_at is not None) == (loan.id in returned), loan.id

        open_copies = [loan.copy.barcode for loan in loans.values() if loan.returned_at is None]
        assert len(open_copies) == len(set(open_copies))
        on_loan = {c.barcode for c in Copy.select().where(Copy.status == "on_loan")}
        assert on_loan == set(open_copies)

        before = snapshot()
        with db.atomic() as transaction:
            journal.rebuild()
            assert snapshot() == before
            transaction.rollback()
        return {"facts": Journal.select().count(), "loans": len(loans)}


@pytest.fixture
def crash_library(library: pw.Database, make: Any, library_url: str) -> str:
    """The library the child kiosk works on: three teachers and twelve copies."""
    for _ in range(3):
        make.patron(kind="teacher")
    for _ in range(12):
        make.copy()
    assert library.is_closed()
    return library_url


def test_killed_at_random_moments_leaves_a_consistent_database(crash_library, library):
    rng = random.Random(os.getpid())
    counts = {"facts": 0}
    for round_ in range(RANDOM_ROUNDS):
        proc = start(crash_library, "loop", str(rng.randrange(10**6)))
        time.sleep(rng.uniform(0.05, 0.35))
        proc.send_signal(signal.SIGKILL)
        assert proc.wait(timeout=10) == -signal.SIGKILL, proc.stderr.read()
        proc.stderr.close()
        proc.stdout.close()
        previous = counts["facts"]
        counts = assert_consistent(library)
        assert counts["facts"] > previous, f"round {round_}: the child did no work"
    assert counts["loans"] > 0


@pytest.mark.parametrize(
    ("kind", "point"),
    [
        ("checkout", "before-apply"),
        ("checkout", "loan-created"),
        ("checkout", "after-apply"),
        ("checkin", "after-apply"),
    ],
)
def test_killed_inside_a_transaction_leaves_neither_fact_nor_state(
    crash_library, library, kind, point
):
    proc = start(crash_library, "die", kind, point)
    line = read_line(proc)
    assert line.startswith("dying "), (line, proc.stderr.read())
    dead_fact = line.split()[1]
    assert proc.wait(timeout=10) == -signal.SIGKILL
    proc.stderr.close()
    proc.stdout.close()

    counts = assert_consistent(library)
    with library.connection_context():
        assert Journal.get_or_none(Journal.uuid == dead_fact) is None
        assert Loan.get_or_none(Loan.id == dead_fact) is None
        first = Copy.select().order_by(Copy.barcode).first()
        if kind == "checkout":
            assert counts == {"facts": 0, "loans": 0}
            assert first.status == "available"
        else:  # the earlier checkout stands; the return never happened
            assert counts == {"facts": 1, "loans": 1}
            assert first.status == "on_loan"
            assert Loan.get().returned_at is None
