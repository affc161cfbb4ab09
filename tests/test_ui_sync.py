"""The kiosk syncs in the background and says so: online, offline since when, rows waiting.

A real desk (an SQLite file) and a real sync thread: the desk is taken away (its file
moved) and brought back while a student borrows, and the status bar follows; the
scans never wait for the desk.
"""

from __future__ import annotations

import asyncio
from pathlib import Path

import pytest
import synckit as sk
from textual.widgets import Label
from uikit import make_app, scan_and_wait, scan_to, until, wait_until

from kiosk.data import sync
from kiosk.data.core.models import Loan
from kiosk.data.sync.worker import SyncWorker


def sync_label(pilot) -> str:
    return str(pilot.app.screen.query_one("#sync", Label).render())


def desk_loans(site: sk.Site) -> int:
    with sk.on(site.desk):
        return Loan.select().count()


@pytest.fixture
def site(tmp_path: Path, clock) -> sk.Site:
    return sk.make_site(f"sqlite:///{tmp_path / 'desk.sqlite'}", tmp_path, clock)


async def test_the_status_bar_follows_the_desk_going_away_and_coming_back(site, tmp_path):
    hall = site.add_kiosk("hall")
    worker = SyncWorker(hall.circulation.store.db, hall.ident, interval=0.1,
                        settings_changed=hall.circulation.reload)
    app = make_app(hall.circulation, sync=worker)
    desk_file = tmp_path / "desk.sqlite"
    away = tmp_path / "desk-away.sqlite"
    async with app.run_test(size=(100, 30)) as pilot:
        await wait_until(pilot, lambda: "Desk connected" in sync_label(pilot))
        await scan_to(pilot, sk.card_code(site, "S0001"), "PatronScreen")
        assert "Borrowed" in await scan_and_wait(pilot, "B00001")
        await until(lambda: desk_loans(site) == 1)

        desk_file.rename(away)  # the network is down
        await wait_until(pilot, lambda: "Offline since" in sync_label(pilot))
        assert "Borrowed" in await scan_and_wait(pilot, "B00002")  # lending goes on
        await wait_until(pilot, lambda: "1 to send" in sync_label(pilot))

        away.rename(desk_file)  # and back
        await wait_until(pilot, lambda: sync_label(pilot).strip() == "⇅ Desk connected")
        await until(lambda: desk_loans(site) == 2)
    await asyncio.sleep(0)
    assert not worker._thread.is_alive()  # the app stopped its sync thread


def test_a_kiosk_the_desk_no_longer_knows_says_so(site, tmp_path):
    hall = site.add_kiosk("hall")
    impostor = sync.Identity("hall", "wrong-token", hall.ident.desk_url)
    worker = SyncWorker(hall.circulation.store.db, impostor)
    status = worker.run_once()
    assert (status.online, status.problem) == (False, "sync.not_registered")
    ok = SyncWorker(hall.circulation.store.db, hall.ident).run_once()
    assert ok.online and ok.waiting == 0


def test_a_status_bar_not_yet_built_ignores_updates():
    """A screen can close while its status bar is still being built: the clock's tick and
    the sync and camera news must not find its labels missing and stop the kiosk."""
    from kiosk.widgets.status_bar import StatusBar

    bar = StatusBar()
    bar._tick()
    bar.watch_camera("reading")
    bar.watch_returns_only(True)
    bar.watch_library("阳光小学")
