"""The hot path's statements on PostgreSQL: prepared on the server once per connection,
and writes held back to travel together (``kiosk.data.core.prepared``), one block per thread
even when threads share a database object (the SIP2 server's database threads)."""

from __future__ import annotations

import threading
from collections.abc import Iterator

import peewee as pw
import pytest

from kiosk.data.core import journal
from kiosk.data.core.db import database, open_database
from kiosk.data.core.facts import to_db_time, utcnow
from kiosk.data.core.library import open_library
from kiosk.data.core.models import SchoolClass, Setting
from kiosk.data.core.prepared import Prepared, execute_held, pipelined

_CLASS_BY_NAME = Prepared(
    lambda name: SchoolClass.select().where(SchoolClass.name == name).limit(1)
)
_ADD_CLASS = Prepared(lambda name: SchoolClass.insert(name=name, grade=1))
_SUM = Prepared(lambda a, b: Setting.select(pw.Value(a, converter=False) + pw.Value(b, converter=False)).limit(1))


@pytest.fixture
def pg(pg_url: str) -> Iterator[pw.Database]:
    db = open_library(pg_url, create=True)
    db.close()
    db = open_database(pg_url, bind=False)
    yield db
    if not db.is_closed():
        db.close()


def prepared_names(db: pw.Database) -> set[str]:
    return {name for (name,) in db.execute_sql("SELECT name FROM pg_prepared_statements")}


def test_a_statement_is_prepared_once_per_connection(pg: pw.Database) -> None:
    with database.session(pg), pg.atomic():
        _ADD_CLASS.execute("3A")
        assert _CLASS_BY_NAME.first("3A").name == "3A"
        assert _CLASS_BY_NAME.first("3B") is None
        names = prepared_names(pg)
        assert len([n for n in names if n.startswith("kiosk_")]) == 2
    pg.close()
    with database.session(pg):  # a new connection prepares it again
        assert _CLASS_BY_NAME.first("3A").name == "3A"


def test_a_statement_the_server_will_not_prepare_runs_as_plain_sql(pg: pw.Database) -> None:
    with database.session(pg), pg.atomic():
        Setting.insert(key="k", value="v").execute()
        # "unknown + unknown" cannot be planned without types: the savepoint keeps the
        # transaction alive, and the statement runs as it is, with its parameters bound
        assert len(_SUM.rows(2, 3)) == 1
        assert len(_SUM.rows(4, 5)) == 1  # (plain from now on)
        assert Setting.get(Setting.key == "k").value == "v"  # the transaction goes on


class _GiveUp(Exception):
    pass


def test_each_thread_holds_its_own_writes(pg: pw.Database) -> None:
    """Thread A holds a write and rolls back; thread B reads and commits meanwhile on the
    same database object: A's write must not ride on B's connection."""
    held, read = threading.Event(), threading.Event()
    errors: list[BaseException] = []

    def a() -> None:
        try:
            with database.session(pg), pg.atomic(), pipelined(pg):
                _ADD_CLASS.execute("from A")
                held.set()
                read.wait(10)
                raise _GiveUp  # A changes its mind: its held write must go nowhere
        except _GiveUp:
            pass
        except BaseException as error:  # noqa: BLE001 (reported below)
            errors.append(error)

    def b() -> None:
        try:
            held.wait(10)
            with database.session(pg), pg.atomic(), pipelined(pg):
                _ADD_CLASS.execute("from B")
                assert _CLASS_BY_NAME.first("from B") is not None
            read.set()
        except BaseException as error:  # noqa: BLE001 (reported below)
            errors.append(error)
            read.set()

    threads = [threading.Thread(target=a), threading.Thread(target=b)]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join(20)
    assert not errors
    with database.session(pg):
        names = sorted(c.name for c in SchoolClass.select())
    assert names == ["from B"]


def test_the_journal_lock_travels_with_the_writes(pg: pw.Database, pg_url: str) -> None:
    """Inside a block the lock statement waits for the writes, so the lock is held for
    their one round trip and the commit; outside, it is taken at once."""
    import psycopg2  # type: ignore[import-untyped]

    watcher = psycopg2.connect(pg_url)
    watcher.autocommit = True

    def locked() -> bool:
        cursor = watcher.cursor()
        cursor.execute(
            "SELECT count(*) FROM pg_locks l JOIN pg_class c ON c.oid = l.relation "
            "WHERE c.relname = 'journal' AND l.mode = 'ExclusiveLock'"
        )
        return bool(cursor.fetchone()[0])

    try:
        with database.session(pg):
            with pg.atomic():  # prepared on this connection already (see the next test)
                _ADD_CLASS.execute("warm")
                _CLASS_BY_NAME.first("warm")
            with pg.atomic(), pipelined(pg):
                execute_held(pg, "LOCK TABLE journal IN EXCLUSIVE MODE")
                _ADD_CLASS.execute("3A")
                assert not locked()  # not sent yet
                assert _CLASS_BY_NAME.first("3A") is not None  # a read: it all goes now
                assert locked()
            assert not locked()
            with pg.atomic():
                journal.lock_journal()
                assert locked()
    finally:
        watcher.close()


def test_preparing_a_write_never_takes_its_table_before_the_journal_lock(pg: pw.Database) -> None:
    """Two writers each prepare a journal insert for the first time on their connection
    inside a block that holds the journal lock: the lock must be taken first, or each
    holds a row lock on the journal the other's exclusive lock waits for (deadlock)."""
    from kiosk.data.core.models import Journal, new_id

    insert = Prepared(lambda uuid: Journal.insert(
        uuid=uuid, kind="refusal", kiosk="t", wall_time=to_db_time(utcnow()),
        hlc="0", data="{}",
    ))
    both_prepared = threading.Barrier(2, timeout=1.5)
    errors: list[BaseException] = []

    def writer() -> None:
        try:
            with database.session(pg), pg.atomic(), pipelined(pg):
                execute_held(pg, "LOCK TABLE journal IN EXCLUSIVE MODE")
                insert.execute(new_id())
                try:
                    both_prepared.wait()  # (with the lock taken first, the other waits for it)
                except threading.BrokenBarrierError:
                    pass
        except BaseException as error:  # noqa: BLE001 (reported below)
            errors.append(error)

    threads = [threading.Thread(target=writer) for _ in range(2)]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join(30)
    assert errors == []
    with database.session(pg):
        assert Journal.select().where(Journal.kiosk == "t").count() == 2


class _Counting:
    """Counts the statements batches this thread's connection sends (round trips)."""

    def __init__(self, db: pw.Database) -> None:
        self.db, self.sent = db, []
        self._cursor = db.cursor

    def __enter__(self) -> list[str]:
        def cursor(*args: object, **kwargs: object) -> object:
            real = self._cursor(*args, **kwargs)
            sent = self.sent

            class Recording:
                def __getattr__(self, name: str) -> object:
                    return getattr(real, name)

                def execute(self, sql: object, *rest: object) -> object:
                    text = sql.decode() if isinstance(sql, bytes) else str(sql)
                    sent.append(" ".join(text.split())[:60])
                    return real.execute(sql, *rest)

                def __iter__(self):  # type: ignore[no-untyped-def]
                    return iter(real)

            return Recording()

        self.db.cursor = cursor  # type: ignore[method-assign]
        return self.sent

    def __exit__(self, *exc: object) -> None:
        del self.db.cursor


def committed(pg_url: str) -> list[str]:
    """The classes another connection sees (what was committed)."""
    import psycopg2  # type: ignore[import-untyped]

    other = psycopg2.connect(pg_url)
    try:
        cursor = other.cursor()
        cursor.execute('SELECT "name" FROM "school_class" ORDER BY 1')
        return [name for (name,) in cursor.fetchall()]
    finally:
        other.close()


def test_begin_rides_with_the_first_statement_and_commit_with_the_last_writes(
    pg: pw.Database, pg_url: str
) -> None:
    with database.session(pg):
        with pg.atomic():  # prepared on this connection first (counted apart)
            _ADD_CLASS.execute("warm")
            _CLASS_BY_NAME.first("warm")
        with _Counting(pg) as sent, pg.atomic():
            pass
        assert sent == []  # a transaction that says nothing sends nothing
        with _Counting(pg) as sent, pg.atomic(), pipelined(pg, commit=True):
            assert _CLASS_BY_NAME.first("3A") is None
            _ADD_CLASS.execute("3A")
        assert len(sent) == 2  # BEGIN + the read; the write + COMMIT
        assert sent[0].startswith("BEGIN; EXECUTE kiosk_") and sent[1].endswith("COMMIT")
        assert committed(pg_url) == ["3A", "warm"]
        with pytest.raises(_GiveUp), _Counting(pg) as sent, pg.atomic(), pipelined(pg, commit=True):
            _ADD_CLASS.execute("never")
            raise _GiveUp
        assert sent == []  # nothing was sent, so nothing to roll back
        with pg.atomic() as outer:  # a block inside a savepoint: the outer one commits
            with pg.atomic(), pipelined(pg, commit=True):
                _ADD_CLASS.execute("inner")
            assert _CLASS_BY_NAME.first("inner") is not None
            outer.rollback()
        assert committed(pg_url) == ["3A", "warm"]


def test_a_transaction_on_a_closed_connection_connects_first(pg: pw.Database) -> None:
    """peewee connects as it begins; connecting resets the thread's transactions, so a
    deferred BEGIN must connect at once, not with the first statement."""
    assert pg.is_closed()
    with database.using(pg), pg.atomic():
        SchoolClass.create(name="3A")
    with database.session(pg):
        assert [c.name for c in SchoolClass.select()] == ["3A"]


_CLASSES_AS = {
    "models": Prepared(lambda grade: SchoolClass.select().where(SchoolClass.grade == grade)
                       .order_by(SchoolClass.name)),
    "tuples": Prepared(lambda grade: SchoolClass.select(SchoolClass.name, SchoolClass.grade)
                       .where(SchoolClass.grade == grade).order_by(SchoolClass.name).tuples()),
    "dicts": Prepared(lambda grade: SchoolClass.select().where(SchoolClass.grade == grade)
                      .order_by(SchoolClass.name).dicts()),
    "namedtuples": Prepared(lambda grade: SchoolClass.select(SchoolClass.name)
                            .where(SchoolClass.grade == grade).order_by(SchoolClass.name)
                            .namedtuples()),
}


@pytest.mark.parametrize("where", ["sqlite", "postgresql"])
@pytest.mark.parametrize("shape", sorted(_CLASSES_AS))
def test_rows_convert_as_peewee_would_every_time(
    request: pytest.FixtureRequest, where: str, shape: str
) -> None:
    """The column work done for the first result is lent to later ones: the second and
    third results (other rows, none) still come back exactly as peewee's own query gives
    them, on SQLite and PostgreSQL."""
    statement = _CLASSES_AS[shape]
    library = request.getfixturevalue("library" if where == "sqlite" else "pg")
    with database.session(library):
        for grade, names in ((1, ["1A", "1B"]), (2, ["2A"])):
            for name in names:
                SchoolClass.create(name=name, grade=grade)

        def by_peewee(grade: int) -> list[object]:
            query = statement._build(grade)
            return [
                row.__data__ if isinstance(row, pw.Model) else row for row in query
            ]

        for grade in (1, 2, 3, 1):
            got = statement.rows(grade)
            assert [row.__data__ if isinstance(row, pw.Model) else row for row in got] == \
                by_peewee(grade)
        assert statement.first(3) is None
        first = statement.first(2)
        assert (first.name if hasattr(first, "name") else first[0] if isinstance(first, tuple)
                else first["name"]) == "2A"
