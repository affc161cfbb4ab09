"""A kiosk process for the sync crash tests: it syncs with its desk until it is killed.

Usage::

    python tests/sync_child.py KIOSK_URL PUSH PULL PULL_CIRCULATION loop
    python tests/sync_child.py KIOSK_URL PUSH PULL PULL_CIRCULATION once
    python tests/sync_child.py KIOSK_URL PUSH PULL PULL_CIRCULATION die POINT N
    python tests/sync_child.py serve

``serve`` reads such argument lines (without the program) from stdin and forks a
kiosk process for each, printing ``exit CODE`` when it has ended (see :func:`serve`).

The kiosk at ``KIOSK_URL`` has joined a desk (its URL is in the kiosk's registration).
``PUSH``, ``PULL`` and ``PULL_CIRCULATION`` are the batch sizes, kept small so that a
sync is many transactions and a kill lands between them or inside one.

* ``loop`` runs :func:`kiosk.data.sync.sync_once` again and again; the test kills it
  with SIGKILL at a random moment.
* ``once`` runs one sync and exits; the test times it to choose its kill delays.
* ``die`` kills itself with SIGKILL at ``POINT`` of the ``N``-th batch:

  - ``desk-open``: the push batch is inserted and applied at the desk, not committed;
  - ``desk-committed``: the desk has committed the batch, the kiosk has not marked it;
  - ``kiosk-open``: the kiosk has marked the batch sent, not committed;
  - ``pull-open``: the pulled batch is applied here and the cursor moved, not committed.

The process prints ``ready PID`` once it is about to sync, then one line per step
(``push``, ``accept``, ``accepted``, ``pushed``, ``pull``, ``apply``, ``pulled``,
``synced SECONDS``), written unbuffered, so that after the kill the test reads
where it landed; ``die`` prints ``dying ...`` first (the batch's fact UUIDs for a
push point, its first and last desk sequence for ``pull-open``).
"""

from __future__ import annotations

import os
import signal
import sys
import time
import traceback
from collections.abc import Sequence
from typing import Any

import peewee as pw

from kiosk.data import sync
from kiosk.data.core.db import open_database
from kiosk.data.core.facts import Fact
from kiosk.data.sync import pulling as pulling_
from kiosk.data.sync import pushing as pushing_

POINTS = ("desk-open", "desk-committed", "kiosk-open", "pull-open")


def say(line: str) -> None:
    """Write one line straight to the pipe: a killed process leaves no buffer behind."""
    os.write(1, (line + "\n").encode())


def die(line: str) -> None:
    """Say what dies with us, then die the hardest way there is."""
    say(line)
    os.kill(os.getpid(), signal.SIGKILL)


def instrument(push_batch: int, pull_batch: int) -> None:
    """Report every step of the sync, and use the given batch sizes.

    ``push`` and ``pull`` take their batch size as a default argument, bound when
    :mod:`kiosk.data.sync` was imported, so the wrappers pass it explicitly.
    """
    push, pull, accept, apply_pulled = sync.push, sync.pull, pushing_.accept, pulling_._apply_pulled

    def pushing(local: pw.Database, desk: pw.Database, ident: sync.Identity, **kw: Any) -> int:
        say("push")
        sent = push(local, desk, ident, limit=push_batch)
        say(f"pushed {sent}")
        return sent

    def pulling(
        local: pw.Database, desk: pw.Database, ident: sync.Identity, **kw: Any
    ) -> dict[str, int]:
        say("pull")
        stats = pull(local, desk, ident, limit=pull_batch)
        say(f"pulled {stats['facts']}")
        return stats

    def accepting(facts: Sequence[Fact], ident: sync.Identity) -> int:
        say("accept")
        fresh = accept(facts, ident)
        say("accepted")
        return fresh

    def applying(batch: list[Any]) -> dict[str, int]:
        say("apply")
        return apply_pulled(batch)

    sync.push, sync.pull = pushing, pulling  # type: ignore[assignment]
    pushing_.accept = accepting  # type: ignore[assignment]
    pulling_._apply_pulled = applying  # type: ignore[assignment]


def install_killer(local: pw.Database, desk: pw.Database, point: str, nth: int) -> None:
    """Make the ``nth`` push (or pull) batch kill the process at ``point``."""
    accept, apply_pulled = pushing_.accept, pulling_._apply_pulled
    desk_commit, local_commit = desk.commit, local.commit
    seen = {"accept": 0, "apply": 0}
    doomed: dict[str, str] = {}

    def accepting(facts: Sequence[Fact], ident: sync.Identity) -> int:
        seen["accept"] += 1
        fresh = accept(facts, ident)
        if seen["accept"] == nth and point != "pull-open":
            doomed["line"] = "dying " + ",".join(fact.uuid for fact in facts)
            if point == "desk-open":
                die(doomed["line"])
        return fresh

    def applying(batch: list[Any]) -> dict[str, int]:
        seen["apply"] += 1
        stats = apply_pulled(batch)
        if seen["apply"] == nth and point == "pull-open":
            doomed["line"] = f"dying {batch[0].seq} {batch[-1].seq}"
        return stats

    def committing_desk() -> None:
        desk_commit()
        if point == "desk-committed" and "line" in doomed:
            die(doomed["line"])

    def committing_local() -> None:
        if point in ("kiosk-open", "pull-open") and "line" in doomed:
            die(doomed["line"])
        local_commit()

    pushing_.accept = accepting  # type: ignore[assignment]
    pulling_._apply_pulled = applying  # type: ignore[assignment]
    desk.commit = committing_desk  # type: ignore[method-assign]
    local.commit = committing_local  # type: ignore[method-assign]


def run(argv: list[str]) -> None:
    """Run the mode the arguments name (see the module docstring)."""
    url, push_batch, pull_batch, pull_circulation, mode = argv[:5]
    local = open_database(url)
    ident = sync.identity(local)
    if ident is None:
        raise SystemExit(f"{url} has not joined a desk")
    desk = sync.open_desk(ident.desk_url)
    # (an idle kiosk, as this one is, would otherwise take PULL_IDLE_BATCH at a time)
    sync.PULL_CIRCULATION_BATCH = sync.PULL_IDLE_BATCH = int(pull_circulation)
    instrument(int(push_batch), int(pull_batch))
    if mode == "die":
        point, nth = argv[5], int(argv[6])
        if point not in POINTS:
            raise SystemExit(f"unknown point {point}")
        install_killer(local, desk, point, nth)
    say(f"ready {os.getpid()}")
    while True:
        report = sync.sync_once(local, desk, ident)
        say(f"synced {report.seconds:.4f}")
        if mode == "once":
            return
        if not (report.pushed or report.pulled):
            time.sleep(0.02)  # nothing left: do not hammer the desk with connections


def serve() -> None:
    """Fork one kiosk per line of arguments read from stdin; report how each ended.

    Importing the kiosk's code costs a quarter of a second of CPU; a test that starts
    and kills a kiosk a dozen times pays it once this way. Each kiosk is still a
    process of its own, with its own connections, killed alone.
    """
    say("serving")
    while line := sys.stdin.readline():
        pid = os.fork()
        if pid == 0:
            code = 1
            try:
                run(line.split())
                code = 0
            except BaseException as error:
                traceback.print_exc()
                say(f"error {error!r}")
                raise
            finally:  # a forked kiosk never returns into this loop, whatever happened
                os._exit(code)
        _, status = os.waitpid(pid, 0)
        say(f"exit {os.waitstatus_to_exitcode(status)}")


if __name__ == "__main__":
    if sys.argv[1:] == ["serve"]:
        serve()
    else:
        run(sys.argv[1:])
