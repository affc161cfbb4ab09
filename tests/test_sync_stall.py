"""A stalled link to the desk ends a sync in bounded time, loses nothing, and the next
sync starts cleanly (issue 12, point 4).

The link is a real TCP proxy (``tcpproxy.TcpProxy``) in front of the real PostgreSQL
server: stalled, it keeps every connection open and passes nothing, as a NAT that
silently drops a flow does. The timeouts are the ``[sync]`` settings, short here.
"""

from __future__ import annotations

import asyncio
import threading
import time
from collections.abc import Callable
from pathlib import Path

import peewee as pw
import psycopg2
import pytest
import synckit as sk
from tcpproxy import proxied
from textual.widgets import Label
from uikit import make_app, scan_and_wait, scan_to, until, wait_until

from kiosk.cli import main
from kiosk.data import sync
from kiosk.data.core import journal, library, network
from kiosk.data.core.db import database, open_database
from kiosk.data.core.errors import CardRefused
from kiosk.data.core.models import Journal, Loan
from kiosk.data.core.network import DeskTimeouts
from kiosk.data.core.store import Store
from kiosk.data.lending.circulation import Circulation
from kiosk.data.sync.worker import SyncWorker

FAST = DeskTimeouts(connect=1.0, reply=1.0, deadline=8.0)


def kiosk_config(tmp_path: Path, name: str, **sync_settings: float) -> Path:
    config = tmp_path / f"{name}.toml"
    lines = [
        "[database]", f'url = "sqlite:///{tmp_path / (name + ".sqlite")}"',
        "[kiosk]", f'id = "{name}"', f'log_file = "{tmp_path / (name + ".log")}"',
        'language = "en"',
        "[sync]", *(f"{key} = {value}" for key, value in sync_settings.items()),
    ]
    config.write_text("\n".join(lines) + "\n", encoding="utf-8")
    return config


class Command:
    """``kiosk ARGV`` running in a thread, so that a test can watch it hang."""

    def __init__(self, argv: list[str]) -> None:
        self.status: int | None = None
        self.started = time.monotonic()
        self.seconds = 0.0
        self._thread = threading.Thread(target=self._run, args=(argv,), daemon=True)
        self._thread.start()

    def _run(self, argv: list[str]) -> None:
        self.status = main(argv)
        self.seconds = time.monotonic() - self.started

    def wait(self, seconds: float) -> int | None:
        """Its exit status, or ``None`` if it still runs after ``seconds``."""
        self._thread.join(seconds)
        return self.status


def run_bounded(argv: list[str], seconds: float) -> tuple[int | None, float]:
    """``kiosk ARGV``; its exit status (``None``: still running after ``seconds``) and how
    long it took."""
    command = Command(argv)
    return command.wait(seconds), command.seconds


def stall_mid_answer(proxy, url: str, table: str, start: Callable[[], object]) -> object:
    """Stall the link while the kiosk waits for the desk's answer, after connecting.

    The test locks ``table`` at the desk, starts the kiosk (``start``), waits until the
    kiosk's query waits for that lock, stalls the link and lets the lock go: the
    desk's answer then stays in the proxy, as behind a NAT that dropped the flow.
    """
    holder = psycopg2.connect(url)
    watcher = psycopg2.connect(url)
    watcher.autocommit = True
    try:
        with holder.cursor() as cur:
            cur.execute(f'LOCK TABLE "{table}" IN ACCESS EXCLUSIVE MODE')
        started = start()
        give_up = time.monotonic() + 10
        with watcher.cursor() as cur:
            while True:
                cur.execute(
                    "SELECT count(*) FROM pg_stat_activity WHERE datname = current_database()"
                    " AND application_name = 'library-kiosk' AND wait_event_type = 'Lock'"
                )
                if cur.fetchone()[0]:
                    break
                assert time.monotonic() < give_up, "the kiosk never asked the desk"
                time.sleep(0.005)
        proxy.stall()
        holder.rollback()
        return started
    finally:
        holder.close()
        watcher.close()


def record_refusal(url: str, kiosk: str) -> None:
    """One fact made at the kiosk (a card that is not a card, refused and recorded)."""
    db = library.open_library(url)
    try:
        refuse_a_card(Circulation(Store(db, kiosk)))
    finally:
        db.close()


def refuse_a_card(circulation: Circulation) -> None:
    with pytest.raises(CardRefused):
        circulation.open_card("LK.NOBODY.1.FORGED")


def unsent(url: str) -> int:
    db = library.open_library(url)
    with database.session(db):
        count = Journal.select().where(Journal.pushed_at.is_null()).count()
    db.close()
    return count


@pytest.mark.slow
def test_kiosk_sync_over_a_stalled_link_ends_says_so_and_the_next_one_works(
    make_pg_url, tmp_path, capsys
):
    url = make_pg_url()
    with proxied(url) as (proxy, through):
        hall = kiosk_config(tmp_path, "hall", connect_timeout=1, reply_timeout=1, deadline=8)
        assert main(["--config", str(hall), "desk", "init", url, "--pin", "2468"]) == 0
        assert main(["--config", str(hall), "join", through]) == 0
        kiosk_url = f"sqlite:///{tmp_path / 'hall.sqlite'}"
        record_refusal(kiosk_url, "hall")
        capsys.readouterr()

        # The link stalls while the kiosk waits for the desk's first answer.
        command = stall_mid_answer(
            proxy, url, "kiosk_registration", lambda: Command(["--config", str(hall), "sync"])
        )
        assert command.wait(20) == 1, "kiosk sync hung on a stalled link"
        assert command.seconds < 6
        err = capsys.readouterr().err
        assert "the desk cannot be reached" in err
        assert "the desk did not answer within 1 s" in err
        assert "Nothing is lost: 1 record waits here" in err
        assert unsent(kiosk_url) == 1

        # Stalled before it connects, in Chinese.
        proxy.stall()
        hall.write_text(hall.read_text().replace('language = "en"', 'language = "zh_CN"'))
        status, _ = run_bounded(["--config", str(hall), "sync"], 20)
        assert status == 1
        err = capsys.readouterr().err
        assert "连不上馆员台" in err and "没有丢失任何记录：1 条记录" in err

        proxy.restore()
        status, _ = run_bounded(["--config", str(hall), "sync"], 20)
        assert status == 0
        assert "发送 1 条" in capsys.readouterr().out
        assert unsent(kiosk_url) == 0


@pytest.mark.slow
def test_connecting_over_a_stalled_link_is_bounded(make_pg_url):
    url = make_pg_url()
    sync.init_desk(url).close()
    with proxied(url) as (proxy, through):
        proxy.stall()
        start = time.monotonic()
        with pytest.raises(pw.OperationalError) as raised:
            sync.open_desk(through, timeouts=FAST)
        assert time.monotonic() - start < 5
        assert network.silence(raised.value) is not None


def test_the_deadline_bounds_the_whole_sync(make_pg_url, tmp_path, clock):
    """A desk that answers, but too slowly for the whole sync, is given up at the
    deadline even though no single reply took too long."""
    url = make_pg_url()
    site = sk.make_site(url, tmp_path, clock)
    hall = site.add_kiosk("hall")
    desk = sync.open_desk(url, timeouts=DeskTimeouts(connect=2, reply=5, deadline=60))
    with database.using(desk), desk.connection_context(), network.deadline(0.5):
        start = time.monotonic()
        with pytest.raises(pw.OperationalError) as raised:
            desk.execute_sql("SELECT pg_sleep(1)")
    silent = network.silence(raised.value)
    assert silent is not None and silent.what == "deadline"
    assert time.monotonic() - start < 1.5
    assert sync.sync_once(hall.db, desk, hall.ident, deadline=10).pushed == 0  # and again
    desk.close()
    site.desk.close()


@pytest.mark.slow
def test_a_kiosk_gone_silent_inside_a_transaction_does_not_hold_up_the_desk(
    make_pg_url, tmp_path, clock
):
    """A kiosk whose link stalls in the middle of a push holds the journal's lock: the
    desk ends its session (idle_in_transaction_session_timeout), so every other kiosk's
    push goes on within seconds."""
    url = make_pg_url()
    site = sk.make_site(url, tmp_path, clock)
    room = site.add_kiosk("room")
    with proxied(url) as (proxy, through):
        stalled = sync.open_desk(through, timeouts=FAST)
        with database.using(stalled), stalled.connection_context():
            with pytest.raises(pw.PeeweeException) as raised, stalled.atomic():
                journal.lock_journal()
                proxy.stall()
                stalled.execute_sql("SELECT 1")
            assert network.silence(raised.value) is not None
        refuse_a_card(room.circulation)
        desk = sync.open_desk(url, timeouts=DeskTimeouts(connect=2, reply=10, deadline=20))
        start = time.monotonic()
        report = sync.sync_once(room.db, desk, room.ident, deadline=20)
        desk.close()
        assert report.pushed == 1 and time.monotonic() - start < 5


# -- the kiosk's background sync ------------------------------------------------------


def sync_label(pilot) -> str:
    return str(pilot.app.screen.query_one("#sync", Label).render())


def desk_loans(url: str) -> int:
    desk = open_database(url, bind=False)
    with database.session(desk):
        count = Loan.select().count()
    desk.close()
    return count


@pytest.mark.slow
async def test_scans_go_on_while_the_background_sync_is_stalled(make_pg_url, tmp_path, clock):
    url = make_pg_url()
    site = sk.make_site(url, tmp_path, clock)
    with proxied(url) as (proxy, through):
        db = library.open_library(f"sqlite:///{tmp_path / 'hall.sqlite'}", create=True)
        ident = sync.join(db, through, "hall")
        sync.sync_once(db, site.desk, ident)
        circulation = Circulation(Store(db, "hall", clock=clock))
        worker = SyncWorker(circulation.store.db, ident, settings_changed=circulation.reload, interval=0.1,
                            timeouts=DeskTimeouts(connect=2, reply=2, deadline=8))
        app = make_app(circulation, sync=worker)
        async with app.run_test(size=(100, 30)) as pilot:
            await wait_until(pilot, lambda: "Desk connected" in sync_label(pilot))
            await scan_to(pilot, sk.card_code(site, "S0001"), "PatronScreen")
            assert "Borrowed" in await scan_and_wait(pilot, "B00001")
            await until(lambda: desk_loans(url) == 1)

            proxy.stall()
            stalled_at = time.monotonic()
            # a sync that began on the stalled link and waits there
            await until(lambda: (worker.syncing_since or 0) > stalled_at)
            waiting_since = worker.syncing_since
            started = time.monotonic()
            assert "Borrowed" in await scan_and_wait(pilot, "B00002")  # lending goes on
            assert time.monotonic() - started < 1.0
            assert worker.syncing_since == waiting_since  # that sync waited all along
            await wait_until(pilot, lambda: "Offline since" in sync_label(pilot), timeout=10)
            await wait_until(pilot, lambda: "1 to send" in sync_label(pilot))

            proxy.restore()
            await wait_until(
                pilot, lambda: sync_label(pilot).strip() == "⇅ Desk connected", timeout=10
            )
            await until(lambda: desk_loans(url) == 2)
        await asyncio.sleep(0)
    site.desk.close()
