"""A kiosk process for the crash-safety tests: it lends and returns until it is killed.

Usage::

    python tests/crash_child.py URL loop SEED
    python tests/crash_child.py URL die KIND POINT

``loop`` lends and returns copies at random (seeded) for ever; the test kills it with
SIGKILL at a random moment. ``die`` performs one ``KIND`` fact (``checkout`` or
``checkin``) and kills itself with SIGKILL at ``POINT`` inside that fact's transaction:

* ``before-apply``: the journal row is inserted, the loan is not;
* ``loan-created``: the journal row and the loan are inserted, the copy not yet updated;
* ``after-apply``: the journal row and all its state are written, not yet committed.

The process prints ``ready`` once it is about to write (``loop``: once its first loan
is committed), and ``dying UUID`` just
before it kills itself, so the test knows what must not be found afterwards.
"""

from __future__ import annotations

import os
import random
import signal
import sys
from typing import Any

from kiosk.data.core import kinds, projection
from kiosk.data.core.db import open_database
from kiosk.data.core.errors import KioskError
from kiosk.data.core.models import Copy, Patron
from kiosk.data.core.store import Store
from kiosk.data.lending.circulation import Circulation


def die(fact_uuid: str) -> None:
    """Say which fact dies with us, then die the hardest way there is."""
    sys.stdout.write(f"dying {fact_uuid}\n")
    sys.stdout.flush()
    os.kill(os.getpid(), signal.SIGKILL)


def install_killer(kind: str, point: str) -> None:
    """Make the next ``kind`` fact kill the process at ``point`` of its transaction."""
    original_apply = kinds.apply
    current: dict[str, Any] = {}

    def apply(fact: Any, known: Any = None) -> Any:
        if fact.kind != kind:
            return original_apply(fact, known)
        current["uuid"] = fact.uuid
        if point == "before-apply":
            die(fact.uuid)
        result = original_apply(fact, known)
        if point == "after-apply":
            die(fact.uuid)
        return result

    kinds.apply = apply
    if point == "loan-created":
        insert_loan = projection._INSERT_LOAN
        original_execute = insert_loan.execute

        def execute(*values: Any) -> Any:
            cursor = original_execute(*values)
            die(current.get("uuid", values[0]))  # the loan row exists, uncommitted
            return cursor

        insert_loan.execute = execute  # type: ignore[method-assign]


def main(argv: list[str]) -> None:
    """Run the mode the arguments name (see the module docstring)."""
    url, mode = argv[0], argv[1]
    db = open_database(url)
    circulation = Circulation(Store(db, f"crash-{os.getpid()}"))
    with db.connection_context():
        patrons = [p.number for p in Patron.select().order_by(Patron.number)]
        barcodes = [c.barcode for c in Copy.select().order_by(Copy.barcode)]

    if mode == "die":
        kind, point = argv[2], argv[3]
        if kind == "checkin":
            circulation.checkout(patrons[0], barcodes[0])
        install_killer(kind, point)
        sys.stdout.write("ready\n")
        sys.stdout.flush()
        if kind == "checkout":
            circulation.checkout(patrons[0], barcodes[0])
        else:
            circulation.checkin(barcodes[0])
        sys.stdout.write("survived\n")
        return

    rng = random.Random(int(argv[2]))
    said_ready = False
    while True:
        barcode = rng.choice(barcodes)
        try:
            if rng.random() < 0.55:
                circulation.checkout(rng.choice(patrons), barcode)
                lent = True
            else:
                circulation.checkin(barcode)
                lent = False
        except KioskError:
            continue
        if lent and not said_ready:
            # "ready" after the first loan is committed: on a busy machine a kill soon
            # after the start could land before any work, and the round check nothing
            sys.stdout.write("ready\n")
            sys.stdout.flush()
            said_ready = True

if __name__ == "__main__":
    main(sys.argv[1:])
