"""Shared fixtures for every test: an isolated environment, a library, a clock, factories.

* Every test runs with ``KIOSK_CONFIG`` pointing at a file that does not exist, the
  XDG folders inside its ``tmp_path``, no other ``KIOSK_*`` variable and ``TZ=UTC``, so
  neither a developer's own settings, database or time zone nor another test's language
  leaks into a result.
* ``library`` is a real, migrated SQLite file in ``tmp_path`` (the models are bound to
  it); ``clock`` is a clock the test sets and moves; ``circulation`` is the real
  service on both; ``make`` adds classes, patrons, titles, copies, cards, rules, closed
  days and holds in a line each; ``facts`` reads the journal back.
* ``pg_url`` is a fresh, empty PostgreSQL database (dropped afterwards) on the server
  at ``KIOSK_TEST_PG_URL``; the test is skipped when the server is unreachable, except
  under ``CI=true``, where that is a failure.
"""

from __future__ import annotations

import itertools
import os
import time
import uuid
from collections.abc import Callable, Iterator
from datetime import UTC, date, datetime, timedelta
from pathlib import Path
from typing import Any
from urllib.parse import urlparse

import peewee as pw
import pytest

from kiosk.data.core import journal, settings
from kiosk.data.core.facts import Fact, HybridClock, new_fact
from kiosk.data.core.library import issue_card, open_library
from kiosk.data.core.models import ClosedDay, Copy, Journal, LoanRule, Patron, SchoolClass, Title
from kiosk.data.core.store import Store
from kiosk.data.lending.circulation import Circulation
from kiosk.locale import LANGUAGES, set_language

KIOSK_ID = "kiosk-test"
"""The kiosk identity the ``circulation`` fixture writes into every fact."""

START = datetime(2025, 3, 12, 10, 0, tzinfo=UTC)
"""Where the ``clock`` fixture starts: Wednesday 12 March 2025, 10:00 UTC."""

DEFAULT_PG_URL = "postgresql://postgres@127.0.0.1:5432/test"


# -- environment ----------------------------------------------------------------------


@pytest.fixture(autouse=True)
def _isolated_environment(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> Iterator[None]:
    """Keep the developer's config, data folders and time zone out of every test."""
    for name in list(os.environ):
        if name.startswith("KIOSK_") and name != "KIOSK_TEST_PG_URL":
            monkeypatch.delenv(name)
    monkeypatch.setenv("KIOSK_CONFIG", str(tmp_path / "no-such-kiosk.toml"))
    # the command line speaks the system's language when the settings name none: the
    # developer's own locale stays out (a test that wants one sets LANG)
    monkeypatch.delenv("LC_ALL", raising=False)
    monkeypatch.delenv("LC_MESSAGES", raising=False)
    monkeypatch.setenv("LANG", "C.UTF-8")
    xdg = tmp_path / "xdg"
    for name, folder in (
        ("XDG_CONFIG_HOME", "config"),
        ("XDG_DATA_HOME", "data"),
        ("XDG_CACHE_HOME", "cache"),
        ("XDG_STATE_HOME", "state"),
    ):
        monkeypatch.setenv(name, str(xdg / folder))
    set_language(LANGUAGES[0])  # a test that switched the language leaves it for no other
    old_tz = os.environ.get("TZ")
    os.environ["TZ"] = "UTC"
    time.tzset()
    try:
        yield
    finally:
        if old_tz is None:
            os.environ.pop("TZ", None)
        else:
            os.environ["TZ"] = old_tz
        time.tzset()


# -- clock ----------------------------------------------------------------------------


class FakeClock:
    """A clock that stands still until the test moves it; call it for the time.

    It returns aware UTC datetimes, as :func:`kiosk.data.core.facts.utcnow` does, so it
    can be given to :class:`~kiosk.data.lending.circulation.Circulation` as its ``clock``.
    """

    def __init__(self, now: datetime = START) -> None:
        if now.tzinfo is None:
            raise ValueError("FakeClock needs an aware datetime")
        self.now = now

    def __call__(self) -> datetime:
        return self.now

    def set(self, moment: datetime) -> datetime:
        """Jump to ``moment`` (aware)."""
        if moment.tzinfo is None:
            raise ValueError("FakeClock needs an aware datetime")
        self.now = moment
        return self.now

    def advance(
        self, *, days: float = 0, hours: float = 0, minutes: float = 0, seconds: float = 0
    ) -> datetime:
        """Move the clock forward (or back, with negative values) and return the new time."""
        self.now += timedelta(days=days, hours=hours, minutes=minutes, seconds=seconds)
        return self.now

    @property
    def today(self) -> date:
        """The date the kiosk sees (tests run in UTC)."""
        return self.now.date()


@pytest.fixture
def clock() -> FakeClock:
    """A fixed clock at :data:`START` that the test can move."""
    return FakeClock(START)


# -- library --------------------------------------------------------------------------


@pytest.fixture
def library_url(tmp_path: Path) -> str:
    """The URL of this test's library file (not created until ``library`` is used)."""
    return f"sqlite:///{tmp_path / 'library.sqlite'}"


@pytest.fixture
def library(library_url: str) -> Iterator[pw.Database]:
    """A new, migrated SQLite library file in ``tmp_path``; the models are bound to it."""
    db = open_library(library_url, create=True)
    yield db
    if not db.is_closed():
        if db.in_transaction():
            db.rollback()
        db.close()


@pytest.fixture
def circulation(library: pw.Database, clock: FakeClock) -> Circulation:
    """The real circulation service on ``library``, running on ``clock``."""
    return Circulation(Store(library, KIOSK_ID, clock=clock))


class Factory:
    """Small helpers that add master data (and holds) to the bound library.

    Every helper runs in its own transaction and returns the new row (or, for cards,
    the card's QR payload). Numbers and barcodes are generated when not given:
    patrons ``1001, 1002, ...`` (digits, so they also work as plain cards), copies
    ``T000001, ...``.
    """

    def __init__(self, db: pw.Database, clock: Callable[[], datetime]) -> None:
        self.db = db
        self.clock = clock
        self._numbers = itertools.count(1001)
        self._barcodes = itertools.count(1)
        self._names = itertools.count(1)

    def school_class(self, name: str | None = None, *, grade: int | None = 3) -> SchoolClass:
        """A class of the school."""
        with self.db.connection_context(), self.db.atomic():
            return SchoolClass.create(name=name or f"Class {next(self._names)}", grade=grade)

    def patron(
        self,
        number: str | None = None,
        *,
        name: str | None = None,
        kind: str = "student",
        school_class: SchoolClass | str | None = None,
        active: bool = True,
        blocked_reason: str | None = None,
    ) -> Patron:
        """A patron (a student unless ``kind`` says otherwise)."""
        number = number or str(next(self._numbers))
        with self.db.connection_context(), self.db.atomic():
            if isinstance(school_class, str):
                school_class, _ = SchoolClass.get_or_create(name=school_class)
            return Patron.create(
                number=number,
                name=name or f"{kind.title()} {number}",
                kind=kind,
                school_class=school_class,
                active=active,
                blocked_reason=blocked_reason,
            )

    def title(
        self,
        title: str | None = None,
        *,
        kind: str = "book",
        author: str = "Author",
        classification: str = "I247",
        isbn: str | None = None,
        issue_date: date | None = None,
    ) -> Title:
        """A bibliographic record."""
        with self.db.connection_context(), self.db.atomic():
            return Title.create(
                title=title or f"Title {next(self._names)}",
                kind=kind,
                author=author,
                classification=classification,
                isbn=isbn,
                issue_date=issue_date,
            )

    def copy(
        self,
        title: Title | None = None,
        *,
        barcode: str | None = None,
        shelf: str = "",
        status: str = "available",
        reference_only: bool = False,
        kind: str = "book",
        issue_date: date | None = None,
    ) -> Copy:
        """A copy of ``title`` (a new title of ``kind`` when none is given)."""
        if title is None:
            title = self.title(kind=kind, issue_date=issue_date)
        barcode = barcode or f"T{next(self._barcodes):06d}"
        with self.db.connection_context(), self.db.atomic():
            return Copy.create(
                barcode=barcode,
                title=title,
                shelf=shelf,
                status=status,
                reference_only=reference_only,
            )

    def card(self, patron: Patron | str, *, expires_on: date | None = None) -> str:
        """Issue the patron a new card (revoking any older one); return its QR payload."""
        number = patron if isinstance(patron, str) else patron.number
        with self.db.connection_context(), self.db.atomic():
            return issue_card(number, when=self.clock(), expires_on=expires_on)

    def rule(
        self,
        patron_kind: str,
        item_kind: str = "*",
        *,
        loan_days: int,
        max_items: int,
        max_renewals: int = 1,
    ) -> LoanRule:
        """Set (replace) the loan rule for ``patron_kind`` x ``item_kind``."""
        with self.db.connection_context(), self.db.atomic():
            LoanRule.delete().where(
                (LoanRule.patron_kind == patron_kind) & (LoanRule.item_kind == item_kind)
            ).execute()
            return LoanRule.create(
                patron_kind=patron_kind,
                item_kind=item_kind,
                loan_days=loan_days,
                max_items=max_items,
                max_renewals=max_renewals,
            )

    def closed_day(self, day: date, reason: str = "holiday") -> ClosedDay:
        """A day the library is closed."""
        with self.db.connection_context(), self.db.atomic():
            return ClosedDay.create(day=day, reason=reason)

    def setting(self, key: str, value: str) -> None:
        """Store a library setting."""
        with self.db.connection_context(), self.db.atomic():
            settings.put(key, value)

    def hold(self, patron: Patron | str, copy: Copy | str, *, kiosk: str = "desk") -> str:
        """Record a hold fact: ``patron`` reserves the title of ``copy``; return its UUID."""
        number = patron if isinstance(patron, str) else patron.number
        barcode = copy if isinstance(copy, str) else copy.barcode
        with self.db.connection_context(), self.db.atomic():
            clock = HybridClock(kiosk, journal.last_hlc())
            fact = new_fact(
                clock, kiosk, "hold", self.clock(), patron=number, copy=barcode
            )
            journal.record(fact)
            return fact.uuid


@pytest.fixture
def make(library: pw.Database, clock: FakeClock) -> Factory:
    """Factories for the master data of ``library`` (see :class:`Factory`)."""
    return Factory(library, clock)


@pytest.fixture
def facts(library: pw.Database) -> Callable[..., list[Fact]]:
    """A function listing the journal's facts in the order they were written.

    ``facts()`` gives every fact, ``facts("refusal")`` the facts of one kind.
    """

    def read(kind: str | None = None) -> list[Fact]:
        with library.connection_context():
            query = Journal.select().order_by(Journal.seq)
            if kind is not None:
                query = query.where(Journal.kind == kind)
            return [Fact.from_row(row) for row in query]

    return read


# -- PostgreSQL -----------------------------------------------------------------------


def _pg_base_url() -> str:
    return os.environ.get("KIOSK_TEST_PG_URL") or DEFAULT_PG_URL


def _unavailable(reason: str) -> None:
    """Skip, or fail when running in CI, where the server must be there."""
    if os.environ.get("CI", "").lower() == "true":
        pytest.fail(f"PostgreSQL is required in CI: {reason}")
    pytest.skip(f"PostgreSQL not available: {reason}")


@pytest.fixture(scope="session")
def pg_server() -> str:
    """The URL of the test PostgreSQL server's maintenance database, once it answers."""
    url = _pg_base_url()
    try:
        import psycopg2  # type: ignore[import-untyped]
    except ImportError as error:  # pragma: no cover - depends on the environment
        _unavailable(f"psycopg2 is not installed ({error})")
    try:
        conn = psycopg2.connect(url, connect_timeout=3)
    except psycopg2.Error as error:
        _unavailable(f"cannot connect to {url}: {error}".strip())
    conn.close()
    return url


@pytest.fixture
def make_pg_url(pg_server: str) -> Iterator[Callable[[], str]]:
    """Make fresh, empty PostgreSQL databases; every one is dropped after the test."""
    import psycopg2  # type: ignore[import-untyped]

    created: list[str] = []
    admin = psycopg2.connect(pg_server, connect_timeout=3)
    admin.autocommit = True

    def fresh() -> str:
        name = f"kiosk_test_{uuid.uuid4().hex[:16]}"
        with admin.cursor() as cur:
            cur.execute(f'CREATE DATABASE "{name}"')
        created.append(name)
        return urlparse(pg_server)._replace(path="/" + name).geturl()

    try:
        yield fresh
    finally:
        with admin.cursor() as cur:
            for name in created:
                cur.execute(f'DROP DATABASE IF EXISTS "{name}" WITH (FORCE)')
        admin.close()


@pytest.fixture
def pg_url(make_pg_url: Callable[[], str]) -> str:
    """A fresh, empty PostgreSQL database for this test (dropped afterwards)."""
    return make_pg_url()


@pytest.fixture(scope="session")
def password_pg() -> Iterator[Any]:
    """A PostgreSQL server of this test process's own that checks passwords (the shared
    one trusts 127.0.0.1): ``tests/pgserver.py``."""
    from pgserver import password_server

    yield from password_server()
