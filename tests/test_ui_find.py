"""Pilot tests: finding a book (找书) through the real screens, in both languages.

The library holds a few titles saved the desk's way (so they carry their search keys),
copies on shelves, one lent, one lost; the kiosk is driven with keys, the on-screen
letter pad and scans, as a child at a touch screen or a keyboard would.
"""

from __future__ import annotations

import pytest
from uikit import click, make_app, on_screen, post_scan, screen_name, screen_text, wait_until

from kiosk.data.core import masterdata
from kiosk.data.core.kinds import Kind
from kiosk.data.core.models import Title, new_key
from kiosk.screens.find import FindScreen, ResultTable


@pytest.fixture
def shelves(library, make, circulation):
    """草房子 (2 copies, one lent), 青铜葵花 (all lent), Charlotte's Web, a dictionary."""
    make.rule("student", loan_days=14, max_items=10)

    def title(name, **fields):
        key = new_key()
        with library.connection_context(), library.atomic():
            masterdata.save(Kind.TITLE_SAVED, key=key, title=name, **fields)
            return Title.get(Title.key == key)

    cfz = title("草房子", author="曹文轩", classification="I287.45")
    qtkh = title("青铜葵花", author="曹文轩", classification="I287.45")
    web = title("Charlotte's Web", author="E. B. White", classification="I712.84",
                isbn="9780064400558")
    title("新华字典", kind="reference", classification="H163")
    make.copy(cfz, barcode="B1", shelf="文学A")
    make.copy(cfz, barcode="B2", shelf="文学A")
    make.copy(qtkh, barcode="B3", shelf="文学A")
    make.copy(web, barcode="B4")
    make.copy(web, barcode="B5", status="lost")
    reader = make.patron("S1", name="王小明", school_class="3A")
    circulation.checkout(reader.number, "B2")
    circulation.checkout(reader.number, "B3")
    return {"card": make.card(reader), "other": make.card(make.patron("S2", name="李华"))}


def titles_shown(pilot) -> list[str]:
    table = pilot.app.screen.query_one(ResultTable)
    return [row[0] for row in table.rows] if table.display else []


async def test_typing_pinyin_initials_finds_the_title_and_its_shelf(circulation, shelves):
    app = make_app(circulation, language="zh_CN")
    async with app.run_test(size=(80, 24)) as pilot:
        await pilot.press("f4")
        await on_screen(pilot, "FindScreen")
        print("FOCUS", pilot.app.screen.focused, pilot.app.focused)
        await pilot.press("c", "f", "z")
        await pilot.pause(0.3)
        print("FOCUS", pilot.app.screen.focused, pilot.app.screen.query_one("#query").value, pilot.app.screen.searches, pilot.app.screen._wanted, pilot.app.screen._shown)
        await wait_until(pilot, lambda: titles_shown(pilot) == ["草房子"])
        text = screen_text(pilot)
        assert "在 文学A 书架，索书号 I287.45。" in text and "有 1 本在馆" in text
