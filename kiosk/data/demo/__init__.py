"""The demo library: a believable primary school library to try every screen with.

``kiosk demo`` (and the tests) call :func:`build_demo`, which makes 阳光小学图书馆:
grades 1 to 6 with two or three classes each and about 30 students a class, their
teachers, eight student helpers and one librarian (card + :data:`DEMO_PIN`); about
300 real titles (``assets/demo/titles.csv``: Chinese children's literature, popular
science, translated classics, English readers, dictionaries and three magazines)
in about 2,000 copies with accession barcodes and CLC shelf letters.

Circulation is not faked: every card, loan, return, renewal, the hold and a few
refusals are journal facts recorded through :mod:`kiosk.data.core.journal` with wall
times over the last five weeks, so the state tables are a true projection (and
``journal.rebuild()`` gives the same loans). Relative to the day of the build:

* about 150 copies are out, about 20 of them overdue, plus a history of returns;
* one student is blocked (lost book not paid for), one has left school (inactive),
  one had a card reissued (the old card is revoked);
* one student waits for a title on the hold shelf (a copy came back yesterday), and
  students may reserve; a teacher has a class set reserved for next week;
* each magazine has this month's issue (stays in the library), last month's issue
  (lendable) and an older one; the dictionaries and atlases are reference-only.

:func:`export_codes` writes every card payload and copy barcode to a CSV, the
interesting cases first, so a tester can print or show them to the camera.
"""

from __future__ import annotations

import logging
import os
import random
import tempfile
import time
from collections.abc import Iterator
from contextlib import contextmanager
from datetime import date
from pathlib import Path

import peewee as pw

from kiosk.data.core import files, library, settings
from kiosk.data.core.db import sqlite_path
from kiosk.data.core.models import (
    Copy,
    Journal,
    Patron,
    Title,
)
from kiosk.data.demo.builder import Builder, read_titles
from kiosk.data.demo.codes import export_codes
from kiosk.data.demo.school import (
    BLOCKED_REASON,
    BUILT_SETTING,
    CODES_HEADER,
    DEMO_KIOSK,
    DEMO_LIBRARIAN,
    DEMO_PIN,
    LIBRARY_NAME,
    OLD_CARD_SUFFIX,
)
from kiosk.data.demo.sim import sim_script

__all__ = [
    "BLOCKED_REASON", "BUILT_SETTING", "CODES_HEADER", "DEMO_KIOSK", "DEMO_LIBRARIAN", "DEMO_PIN",
    "LIBRARY_NAME", "OLD_CARD_SUFFIX", "NotADemo", "build_demo", "export_codes", "read_titles",
    "sim_script",
]

log = logging.getLogger(__name__)


class NotADemo(Exception):
    """The demo's file exists and holds another library: it is never overwritten."""

    def __init__(self, path: Path) -> None:
        super().__init__(f"{path} holds a library that is not the demo; not overwriting it")
        self.path = path


def build_demo(url: str, *, today: date | None = None, seed: int = 7) -> pw.Database:
    """Open the demo library at ``url``, building it first if it is not there yet.

    A finished demo (one with the ``demo_built`` setting) is opened as it is. A new
    one is built into a temporary file beside ``url`` and renamed into place when
    complete, so an interrupted build never leaves half a demo behind.

    Args:
        url: an ``sqlite:///`` URL (the demo is always an SQLite file).
        today: the day the demo's loans are relative to (default: the local today).
        seed: the seed of the random choices (names, copies, loans).

    Returns:
        The open database, with the models bound to it.

    Raises:
        NotADemo: the file exists and holds patrons, titles or facts of another library.
        ValueError: ``url`` is not an SQLite URL.
    """
    path = sqlite_path(url)
    if path is None:
        raise ValueError("the demo library is an SQLite file: give an sqlite:/// URL")
    if path.exists():
        db = library.open_library(url)
        with db.connection_context():
            built = settings.get(BUILT_SETTING)
            in_use = _holds_data()
        if built:
            log.info("opened the demo library at %s (built %s)", path, built)
            return db
        db.close()
        if in_use:
            raise NotADemo(path)
        # A migrated but empty library file holds nothing to lose: it is replaced.
    today = today or date.today()
    files.private_folder(path.parent)  # (the library file is made 0600 by open_library)
    started = time.perf_counter()
    with _temporary_beside(path) as building:
        db = library.open_library("sqlite:///" + str(building), create=True)
        with db.connection_context():
            with db.atomic():
                Builder(random.Random(seed), today).build()
            # Fold the write-ahead log into the file, so the rename moves all of it.
            db.execute_sql("PRAGMA journal_mode=DELETE")
        db.close()
        _remove_sidecars(path)
        os.replace(building, path)
    log.info("built the demo library at %s in %.2f s", path, time.perf_counter() - started)
    return library.open_library(url)


def _holds_data() -> bool:
    """Whether the bound library holds anything a librarian made (not a bare new file)."""
    return any(model.select().exists() for model in (Patron, Title, Copy, Journal))


def _remove_sidecars(path: Path) -> None:
    """Remove SQLite's log files of ``path`` (stale ones would be applied to a new file)."""
    for suffix in ("-wal", "-shm", "-journal"):
        Path(str(path) + suffix).unlink(missing_ok=True)


@contextmanager
def _temporary_beside(path: Path) -> Iterator[Path]:
    """A fresh file name next to ``path``; the file (and its logs) go on any failure."""
    handle, name = tempfile.mkstemp(prefix=f".{path.name}.", suffix=".building", dir=path.parent)
    os.close(handle)
    building = Path(name)
    building.unlink()  # the name is ours; the library makes its file, 0600, afresh
    try:
        yield building
    except BaseException:
        building.unlink(missing_ok=True)
        _remove_sidecars(building)
        raise
