"""``kiosk desk``: the librarian's tabs on the desk's database, after card + PIN.

A real SQLite desk with two kiosks that lent the same book offline (a real sync
case), the sign-in (a wrong PIN and a student's card refused), the cases tab, the
system tab listing the kiosks, and the command line's answers for a wrong database.
"""

from __future__ import annotations

from pathlib import Path

import pytest
import synckit as sk
from conftest import FakeClock
from textual.widgets import Input
from uikit import FakeMonotonic, on_screen, screen_name, screen_text, wait_until

from kiosk import cli
from kiosk.config import Config
from kiosk.data.core import library, masterdata
from kiosk.data.core.models import SyncCase
from kiosk.data.core.security import hash_pin
from kiosk.data.core.store import Store
from kiosk.data.lending.circulation import Circulation
from kiosk.locale import set_language
from kiosk.screens.desk import DeskApp
from kiosk.screens.librarian_panel import LibrarianPanel
from kiosk.widgets.row_table import RowTable


@pytest.fixture(autouse=True)
def _language():
    yield
    set_language("zh_CN")


@pytest.fixture
def site(tmp_path: Path, clock: FakeClock):
    """A desk with a librarian (PIN 2468) where two kiosks lent B00001 twice offline."""
    site = sk.make_site(f"sqlite:///{tmp_path / 'desk.sqlite'}", tmp_path, clock)
    with sk.on(site.desk), site.desk.atomic():
        masterdata.save("patron_saved", patron="L0001", name="Ms Lin", kind="librarian",
                        pin_hash=hash_pin("2468"))
        library.issue_card("L0001", when=clock())
    hall, room = site.add_kiosk("hall"), site.add_kiosk("room")
    room.circulation.checkout("S0002", "B00001")
    clock.advance(minutes=30)
    hall.circulation.checkout("S0001", "B00001")
    hall.sync(site.desk)
    room.sync(site.desk)
    yield site
    for kiosk in site.kiosks.values():
        kiosk.db.close()
    site.desk.close()


def desk_app(site, clock, **settings) -> DeskApp:
    return DeskApp(Circulation(Store(site.desk, "desk", clock=clock)), Config(language="en", **settings))


async def sign_in(pilot, card: str, pin: str) -> None:
    pilot.app.screen.query_one("#card", Input).value = card
    pilot.app.screen.query_one("#pin", Input).focus()
    await pilot.press(*pin, "enter")


async def test_a_wrong_pin_or_a_students_card_is_refused(site, clock):
    code = sk.card_code(site, "L0001")
    app = desk_app(site, clock)
    async with app.run_test(size=(100, 30)) as pilot:
        await on_screen(pilot, "DeskLogin")
        await sign_in(pilot, code, "1111")
        await wait_until(pilot, lambda: "Wrong PIN." in screen_text(pilot))
        assert screen_name(pilot) == "DeskLogin"
        await sign_in(pilot, sk.card_code(site, "S0001"), "2468")
        await wait_until(pilot, lambda: "for the librarian only" in screen_text(pilot))
        await sign_in(pilot, "NOBODY", "2468")
        await wait_until(pilot, lambda: "We cannot find this reader" in screen_text(pilot))
        await sign_in(pilot, code, "2468")
        await on_screen(pilot, "DeskScreen")
        assert "Signed in: Ms Lin" in screen_text(pilot)


async def test_the_desk_reviews_a_sync_case_and_sees_its_kiosks(site, clock, tmp_path):
    app = desk_app(site, clock, export_dir=str(tmp_path / "out"))
    async with app.run_test(size=(120, 36)) as pilot:
        await on_screen(pilot, "DeskLogin")
        await sign_in(pilot, "L0001", "2468")  # the card's number, typed
        await on_screen(pilot, "DeskScreen")
        panel = app.screen.query_one(LibrarianPanel)
        await wait_until(pilot, lambda: panel.loaded)
        await app.workers.wait_for_complete()
        assert len([e for e in panel.entries if e.kind == "checkout"]) == 2
        await pilot.press("f9")
        await wait_until(pilot, lambda: panel.tab_ready == "tab-cases")
        [case] = panel.cases
        assert case.kind == "lent_twice"
        rows = app.screen.query_one("#cases-table", RowTable).rows
        assert rows[0][-1] == "Lent while still on loan to another reader: the later loan stands"
        app.screen.query_one("#cases-table", RowTable).focus()
        await pilot.press("enter")
        await on_screen(pilot, "CopyModal")
        await wait_until(pilot, lambda: "Lent to Student S0001 (S0001)" in screen_text(pilot))
        await pilot.press("escape")
        await on_screen(pilot, "DeskScreen")
        await pilot.press("f7")
        await on_screen(pilot, "ConfirmModal")
        await pilot.press("f2")
        await wait_until(pilot, lambda: not panel.cases)
        panel.show_tab("tab-system")
        await wait_until(pilot, lambda: panel.tab_ready == "tab-system")
        text = screen_text(pilot)
        assert "This is the library desk." in text
        assert "Kiosk hall: last seen" in text and "Kiosk room: last seen" in text
        await pilot.press("f3")
        await on_screen(pilot, "DeskLogin")
    assert sk.cases(site.desk) == [("lent_twice", "S0002", "B00001")]
    with sk.on(site.desk):
        assert SyncCase.get().resolved_by == "L0001"


def test_kiosk_desk_says_what_is_wrong_with_the_database(tmp_path, capsys, library_url, library):
    assert cli.main(["desk", "--db", f"sqlite:///{tmp_path / 'none.sqlite'}"]) == 2
    assert "没有馆员台数据库" in capsys.readouterr().err  # one language for both
    library.close()
    assert cli.main(["desk", "--db", library_url]) == 1
    assert "不是图书馆的馆员台" in capsys.readouterr().err  # the default language


async def test_the_desk_signs_out_after_quiet_minutes(site, clock):
    monotonic = FakeMonotonic()
    app = DeskApp(Circulation(Store(site.desk, "desk", clock=clock)),
                  Config(language="en", desk_idle_minutes=10), monotonic=monotonic)
    async with app.run_test(size=(120, 36)) as pilot:
        await on_screen(pilot, "DeskLogin")
        monotonic.advance(3600)  # nobody signed in: nothing to sign out of
        await pilot.pause(0.6)
        assert screen_name(pilot) == "DeskLogin"
        await sign_in(pilot, "L0001", "2468")
        await on_screen(pilot, "DeskScreen")
        panel = app.screen.query_one(LibrarianPanel)
        await wait_until(pilot, lambda: panel.loaded)
        await app.workers.wait_for_complete()
        monotonic.advance(9 * 60)
        await pilot.press("f9")  # the librarian is still here: the cases tab
        await wait_until(pilot, lambda: panel.tab_ready == "tab-cases")
        monotonic.advance(9 * 60)
        await pilot.pause(0.6)
        assert screen_name(pilot) == "DeskScreen"
        await pilot.press("f7")  # a question left open does not keep the desk signed in
        await on_screen(pilot, "ConfirmModal")
        monotonic.advance(10 * 60)
        await on_screen(pilot, "DeskLogin")
        assert "Signed out after 10 quiet minutes" in screen_text(pilot)
        assert len(app.screen_stack) == 2
    assert sk.cases(site.desk) == [("lent_twice", "S0002", "B00001")]
    with sk.on(site.desk):
        assert SyncCase.get().resolved_by is None, "nothing was done for the librarian"
