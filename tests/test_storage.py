"""Storage failures: a locked, vanished, unreadable or full database is a StorageError.

The kiosk must say "try again" rather than crash, and a failed write must leave
nothing behind: no fact, no loan, no half of either.
"""

from __future__ import annotations

import os
import shutil
import sqlite3
import threading
import time
from pathlib import Path
from typing import Any

import peewee as pw
import pytest

from kiosk.data.core.db import DatabaseMissing, KioskSqliteDatabase, database, sqlite_path
from kiosk.data.core.errors import StorageError
from kiosk.data.core.library import open_library
from kiosk.data.core.models import Copy, Journal, Loan
from kiosk.data.core.store import Store
from kiosk.data.lending.circulation import Circulation

BUSY_MS = 200
"""The busy timeout of the impatient test database (the kiosk's own is 5 s)."""


def impatient(url: str, **pragmas: Any) -> pw.SqliteDatabase:
    """The library at ``url`` opened as the kiosk opens it, but waiting only 0.2 s for locks."""
    path = sqlite_path(url)
    assert path is not None and path.exists()
    db = KioskSqliteDatabase(path, timeout=BUSY_MS / 1000, pragmas=pragmas)
    database.initialize(db)
    return db


def counts(db: pw.Database) -> tuple[int, int]:
    with db.connection_context():
        return Journal.select().count(), Loan.select().count()


def files_of(url: str) -> list[Path]:
    path = sqlite_path(url)
    assert path is not None
    return [path, path.with_name(path.name + "-wal"), path.with_name(path.name + "-shm")]


@pytest.fixture
def stocked(library: pw.Database, make: Any, clock: Any) -> dict[str, Any]:
    """A student with a card and two copies, one of them on loan."""
    student = make.patron()
    lent, free = make.copy(), make.copy()
    card = make.card(student)
    Circulation(Store(library, "setup", clock=clock)).checkout(student.number, lent.barcode)
    return {"number": student.number, "card": card, "lent": lent.barcode, "free": free.barcode}


# -- locked ---------------------------------------------------------------------------


def test_write_locked_by_another_connection_is_storage_locked(library_url, stocked, clock):
    db = impatient(library_url)
    circulation = Circulation(Store(db, "kiosk-1", clock=clock))
    before = counts(db)
    holder = sqlite3.connect(str(sqlite_path(library_url)), isolation_level=None)
    holder.execute("BEGIN IMMEDIATE")
    try:
        started = time.monotonic()
        with pytest.raises(StorageError) as info:
            circulation.checkout(stocked["number"], stocked["free"])
        waited = time.monotonic() - started
        assert info.value.key == "storage.locked"
        assert BUSY_MS / 1000 * 0.5 <= waited < 2.0
        for write in (
            lambda: circulation.checkin(stocked["lent"]),
            lambda: circulation.open_card(stocked["card"][:-2] + "ZZ"),  # forged: recorded
            lambda: circulation.checkout(stocked["number"], "NO-SUCH-COPY"),  # a refusal
        ):
            with pytest.raises(StorageError, match="storage.locked"):
                write()
        # Readers are not blocked by a writer (WAL): the patron's page still shows, and a
        # good card opens it (a card is read, not written: only a refusal is recorded).
        assert len(circulation.patron(stocked["number"]).loans) == 1
        assert circulation.open_card(stocked["card"]).number == stocked["number"]
    finally:
        holder.execute("ROLLBACK")
        holder.close()
    assert counts(db) == before  # nothing was recorded, not even a refusal
    assert circulation.checkout(stocked["number"], stocked["free"]).loan.barcode == stocked["free"]
    db.close()


def test_a_short_lock_is_waited_for_not_failed(circulation, stocked, library_url):
    """Within the kiosk's busy timeout another writer's short transaction is no error."""
    holder = sqlite3.connect(
        str(sqlite_path(library_url)), isolation_level=None, check_same_thread=False
    )
    holder.execute("BEGIN IMMEDIATE")
    release = threading.Timer(0.3, lambda: holder.execute("COMMIT"))
    release.start()
    try:
        started = time.monotonic()
        result = circulation.checkout(stocked["number"], stocked["free"])
        assert time.monotonic() - started >= 0.2
        assert result.loan.barcode == stocked["free"]
    finally:
        release.join()
        holder.close()


# -- gone -----------------------------------------------------------------------------


def test_database_file_removed_is_a_storage_error(circulation, stocked, library_url, library):
    assert library.is_closed()
    for path in files_of(library_url):
        path.unlink(missing_ok=True)
    for call in (
        lambda: circulation.checkout(stocked["number"], stocked["free"]),
        lambda: circulation.checkin(stocked["lent"]),
        lambda: circulation.open_card(stocked["card"]),
        lambda: circulation.patron(stocked["number"]),
        lambda: circulation.returns_only(),
    ):
        with pytest.raises(StorageError) as info:
            call()
        assert info.value.key == "storage.failed"


def test_file_deleted_under_an_open_connection_is_noticed(library_url, stocked, clock):
    """SQLite would go on writing into the deleted file: every loan would vanish."""
    db = impatient(library_url)
    circulation = Circulation(Store(db, "kiosk-1", clock=clock))
    db.connect()  # the kiosk's database thread holds its connection open
    try:
        circulation.checkin(stocked["lent"])
        for path in files_of(library_url):
            path.unlink(missing_ok=True)
        for _ in range(2):
            with pytest.raises(StorageError) as info:
                circulation.checkout(stocked["number"], stocked["free"])
            assert info.value.key == "storage.failed"
    finally:
        db.close()
    # and the library is not quietly recreated empty, with a new card secret
    assert not sqlite_path(library_url).exists()
    with pytest.raises(DatabaseMissing):
        open_library(library_url)


@pytest.mark.parametrize("read", ["open_card", "patron"])
def test_a_read_from_a_file_deleted_under_an_open_connection_fails(
    library_url, stocked, clock, read
):
    """A card read from the deleted file would open a ghost page (found by review)."""
    db = impatient(library_url)
    circulation = Circulation(Store(db, "kiosk-1", clock=clock))
    db.connect()
    try:
        for path in files_of(library_url):
            path.unlink(missing_ok=True)
        with pytest.raises(StorageError) as info:
            if read == "open_card":
                circulation.open_card(stocked["card"])
            else:
                circulation.patron(stocked["number"])
        assert info.value.key == "storage.failed"
    finally:
        db.close()


def test_database_path_taken_by_a_folder_is_a_storage_error(circulation, stocked, library_url):
    for path in files_of(library_url):
        path.unlink(missing_ok=True)
    files_of(library_url)[0].mkdir()
    with pytest.raises(StorageError) as info:
        circulation.checkout(stocked["number"], stocked["free"])
    assert info.value.key == "storage.failed"
    with pytest.raises(StorageError):
        circulation.patron(stocked["number"])


@pytest.mark.skipif(os.name != "posix" or os.geteuid() == 0, reason="root reads any folder")
def test_unreadable_folder_is_a_storage_error(tmp_path, clock, stocked, library_url):
    folder = tmp_path / "locked-away"
    folder.mkdir()
    for path in files_of(library_url):
        if path.exists():
            shutil.move(str(path), folder / path.name)
    db = impatient(f"sqlite:///{folder / 'library.sqlite'}")
    circulation = Circulation(Store(db, "kiosk-1", clock=clock))
    folder.chmod(0)
    try:
        with pytest.raises(StorageError):
            circulation.checkin("T000001")
        with pytest.raises(StorageError):
            circulation.patron("1001")
    finally:
        folder.chmod(0o700)


# -- full -----------------------------------------------------------------------------


def test_full_database_is_a_storage_error_and_records_nothing(library_url, stocked, clock, make):
    barcode = make.copy().barcode
    teacher = make.patron(kind="teacher").number
    probe = impatient(library_url)
    with probe.connection_context():
        pages = probe.execute_sql("PRAGMA page_count").fetchone()[0]
    probe.close()
    db = impatient(library_url, max_page_count=pages + 2)
    circulation = Circulation(Store(db, "kiosk-1", clock=clock))
    failures = 0
    for attempt in range(400):
        before = counts(db)
        try:
            if attempt % 2 == 0:
                circulation.checkout(teacher, barcode)
            else:
                circulation.checkin(barcode)
        except StorageError as error:
            assert error.key == "storage.failed"
            assert counts(db) == before
            failures += 1
            if failures == 5:
                break
    assert failures == 5, "the database never filled up"
    with db.connection_context():
        open_loans = Loan.select().where(Loan.returned_at.is_null()).count()
        on_loan = Copy.get(Copy.barcode == barcode).status == "on_loan"
    assert open_loans == 1 + on_loan  # the stocked loan, and this copy's if it is out
    db.close()


def test_the_write_gate_lets_a_scan_go_before_the_sync():
    """A sync batch waits while a scan writes and for a quiet moment after, never for ever."""
    import threading
    import time

    from kiosk.data.core.db import WriteGate

    gate = WriteGate(quiet=0.05)
    order: list[str] = []
    scanning = threading.Event()

    def scan() -> None:
        with gate.foreground():
            scanning.set()
            time.sleep(0.1)
            order.append("scan")

    thread = threading.Thread(target=scan)
    thread.start()
    scanning.wait()
    started = time.monotonic()
    with gate.background():
        order.append("sync")
    waited = time.monotonic() - started
    thread.join()
    assert order == ["scan", "sync"]
    assert waited >= 0.1  # the scan's write, then the quiet moment
    with gate.foreground():  # a scan that never ends does not stop the sync for ever
        started = time.monotonic()
        with gate.background(timeout=0.2):
            pass
        assert 0.2 <= time.monotonic() - started < 1.0
