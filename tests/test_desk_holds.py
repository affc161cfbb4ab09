"""Pilot tests: the librarian at ``kiosk desk`` reserves a class set for a teacher, sees
the reservations and cancels one; a kiosk receives it all at its next sync.

On an SQLite desk in English and a PostgreSQL desk in Chinese.
"""

from __future__ import annotations

from pathlib import Path

import pytest
import synckit as sk
from conftest import FakeClock
from textual.widgets import Input
from uikit import FakeMonotonic, on_screen, screen_text, wait_until

from kiosk.config import Config
from kiosk.data.core import library, masterdata
from kiosk.data.core.security import hash_pin
from kiosk.data.core.store import Store
from kiosk.data.lending.circulation import Circulation
from kiosk.data.lending.holds import Holds
from kiosk.locale import set_language
from kiosk.screens.desk import DeskApp
from kiosk.widgets.row_table import RowTable


@pytest.fixture(autouse=True)
def _language():
    yield
    set_language("zh_CN")


@pytest.fixture(params=[("sqlite", "en"), ("postgresql", "zh_CN")], ids=["sqlite-en", "pg-zh"])
def setup(request, tmp_path: Path, clock: FakeClock):
    backend, language = request.param
    url = f"sqlite:///{tmp_path / 'desk.sqlite'}" if backend == "sqlite" else (
        request.getfixturevalue("pg_url"))
    site = sk.make_site(url, tmp_path, clock)
    with sk.on(site.desk), site.desk.atomic():
        masterdata.save("patron_saved", patron="L0001", name="Ms Lin", kind="librarian",
                        pin_hash=hash_pin("2468"))
        masterdata.save("patron_saved", patron="T001", name="Teacher Wang", kind="teacher")
        library.issue_card("L0001", when=clock())
    hall = site.add_kiosk("hall")
    hall.circulation.checkout("S0001", "B00001")  # B00002 stays on shelf I
    hall.sync(site.desk)
    yield site, hall, language
    hall.db.close()
    site.desk.close()


WORDS = {
    "en": {"placed": "Reserved 2 × “Book 0” for T001.", "fetch": "fetch from I",
           "waiting": "waiting, no. 2", "day": "Thu 20 Mar",
           "cancelled": "Reservation of “Book 0” cancelled.", "none": "No open reservations."},
    "zh_CN": {"placed": "已为 T001 预约《Book 0》2 本。", "fetch": "到 I 取书",
              "waiting": "等书，第 2 位", "day": "3月20日（周四）",
              "cancelled": "已取消预约：《Book 0》。", "none": "没有未完成的预约。"},
}


async def test_the_librarian_reserves_a_class_set_and_cancels_it(setup, clock):
    site, hall, language = setup
    words = WORDS[language]
    app = DeskApp(Circulation(Store(site.desk, "desk", clock=clock)),
                  Config(language=language), monotonic=FakeMonotonic())
    async with app.run_test(size=(120, 36)) as pilot:
        await on_screen(pilot, "DeskLogin")
        app.screen.query_one("#card", Input).value = "L0001"
        app.screen.query_one("#pin", Input).focus()
        await pilot.press(*"2468", "enter")
        await on_screen(pilot, "DeskScreen")
        await pilot.press("f11")
        await on_screen(pilot, "DeskHoldsScreen")
        holds_screen = app.screen
        await wait_until(pilot, lambda: holds_screen.filled >= 1)
        assert words["none"] in screen_text(pilot)
        await pilot.press("f2")
        await on_screen(pilot, "TeacherReserveModal")
        form = app.screen
        form.query_one("#teacher", Input).value = "T999"
        form.query_one("#book", Input).value = "B00001"
        form.query_one("#count", Input).value = "2"
        form.query_one("#day", Input).value = "2025-03-20"
        form.query_one("#day", Input).focus()
        await pilot.press("enter")
        await wait_until(pilot, lambda: "T999" in screen_text(pilot))  # no such teacher
        form.query_one("#teacher", Input).value = "T001"
        form.query_one("#day", Input).value = "20.3."
        await pilot.click("#form-ok")
        await wait_until(pilot, lambda: "2025-03-20" in screen_text(pilot))  # bad day
        form.query_one("#day", Input).value = "2025-03-20"
        form.query_one("#day", Input).focus()
        await pilot.press("enter")
        await on_screen(pilot, "DeskHoldsScreen")
        await wait_until(pilot, lambda: holds_screen.filled >= 2)
        assert words["placed"] in screen_text(pilot)
        rows = app.screen.query_one(RowTable).rows
        assert [row[0] for row in rows] == ["T001", "T001"]
        assert [row[3:5] for row in rows] == [
            (words["fetch"], words["day"]), (words["waiting"], words["day"])
        ]
        app.screen.query_one(RowTable).focus()
        await pilot.press("f8")
        await on_screen(pilot, "ConfirmModal")
        await pilot.press("f2")
        await wait_until(pilot, lambda: holds_screen.filled >= 3)
        assert words["cancelled"] in screen_text(pilot)
        assert app.screen.query_one(RowTable).rows == []
    hall.sync(site.desk)
    with sk.on(hall.db):
        kinds = [k for (k,) in hall.db.execute_sql(
            "SELECT kind FROM journal WHERE kind IN ('class_set', 'hold_cancelled') ORDER BY seq"
        ).fetchall()]
    assert kinds == ["class_set", "hold_cancelled"]
    assert Holds(hall.circulation).of_patron("T001") == ()
    assert sk.state(hall.db) == sk.state(site.desk)
