"""Pilot tests: finding a book (找书) through the real screens, in both languages.

The library holds a few titles saved the desk's way (so they carry their search keys),
copies on shelves, one lent, one lost; the kiosk is driven with keys, the on-screen
letter pad and scans, as a child at a touch screen or a keyboard would.
"""

from __future__ import annotations

import asyncio
import time

import pytest
from uikit import (
    FakeMonotonic,
    click,
    make_app,
    on_screen,
    post_scan,
    scan_to,
    screen_name,
    screen_text,
    wait_until,
)

from kiosk.data.core import masterdata
from kiosk.data.core.kinds import Kind
from kiosk.data.core.models import Title, new_key
from kiosk.screens.find import FindScreen, ResultTable
from kiosk.widgets.letter_pad import BACKSPACE, CLEAR, SPACE, LetterPad


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


def find_screen(pilot) -> FindScreen:
    screen = pilot.app.screen
    assert isinstance(screen, FindScreen), type(screen).__name__
    return screen


async def tap(pilot, value: str) -> None:
    """Touch the pad's key ``value`` where it is drawn."""
    pad = pilot.app.screen.query_one(LetterPad)
    await wait_until(pilot, lambda: bool(pad.region))
    assert await pilot.click(LetterPad, offset=pad.key_offset(value))


async def open_find(pilot) -> FindScreen:
    await pilot.press("f5")
    await on_screen(pilot, "FindScreen")
    return find_screen(pilot)


async def test_pinyin_initials_find_the_title_its_shelf_and_copies_in_chinese(
    circulation, shelves
):
    app = make_app(circulation, language="zh_CN")
    async with app.run_test(size=(80, 24)) as pilot:
        await open_find(pilot)
        await pilot.press("c", "f", "z")
        await wait_until(pilot, lambda: titles_shown(pilot) == ["草房子"])
        text = screen_text(pilot)
        assert "草房子  ·  作者：曹文轩" in text
        assert "在 文学A 书架，索书号 I287.45。 有 1 本在馆，去书架上拿吧。" in text
        assert "找到 1 本" in text
        table = find_screen(pilot).query_one(ResultTable)
        assert list(table.rows[0]) == ["草房子", "I287.45", "文学A", "1/2 本", ""]


async def test_all_copies_out_says_when_the_first_comes_back_in_english(circulation, shelves):
    app = make_app(circulation, language="en")
    async with app.run_test(size=(80, 24)) as pilot:
        await open_find(pilot)
        await pilot.press(*"qtkh")
        await wait_until(pilot, lambda: titles_shown(pilot) == ["青铜葵花"])
        text = screen_text(pilot)
        assert "青铜葵花  ·  by 曹文轩" in text
        assert "All out: the first is due back Wed 26 Mar." in text
        row = find_screen(pilot).query_one(ResultTable).rows[0]
        assert (row[3], row[4]) == ("0 of 1", "Wed 26 Mar")


async def test_the_letter_pad_types_takes_back_and_clears_without_a_keyboard(
    circulation, shelves
):
    app = make_app(circulation, language="en")
    async with app.run_test(size=(80, 24)) as pilot:
        screen = await open_find(pilot)
        field = screen.query_one("#query")
        for key in "webx":
            await tap(pilot, key)
        assert field.value == "webx"
        await wait_until(pilot, lambda: "Nothing found for “webx”" in screen_text(pilot))
        await tap(pilot, BACKSPACE)
        await wait_until(pilot, lambda: titles_shown(pilot) == ["Charlotte's Web"])
        assert "Shelf I, call number I712.84. 1 in: take one from the shelf." in screen_text(pilot)
        assert find_screen(pilot).query_one(ResultTable).rows[0][3] == "1 of 1"  # one lost
        await tap(pilot, SPACE)
        await tap(pilot, "w")
        assert field.value == "web w"
        await wait_until(pilot, lambda: titles_shown(pilot) == ["Charlotte's Web"])
        await tap(pilot, CLEAR)
        await wait_until(pilot, lambda: field.value == "" and screen.result.query == "")
        assert "Type or touch the letters" in screen_text(pilot)
        assert screen.focused is field  # touching keys never moved the focus away


async def test_several_titles_the_arrow_keys_and_a_touch_choose_one(circulation, shelves):
    app = make_app(circulation, language="en")
    chosen: list[object] = []

    def hook(message: object) -> None:
        if isinstance(message, FindScreen.TitleChosen):
            chosen.append(message.found)

    async with app.run_test(size=(80, 24), message_hook=hook) as pilot:
        screen = await open_find(pilot)
        await pilot.press(*"cwx")
        await wait_until(pilot, lambda: titles_shown(pilot) == ["草房子", "青铜葵花"])
        assert screen.chosen.title == "草房子" and "2 found" in screen_text(pilot)
        await pilot.press("down")
        await wait_until(pilot, lambda: "All out" in screen_text(pilot))
        assert screen.chosen.title == "青铜葵花"
        assert chosen[-1] == screen.chosen and chosen[-1].title_id == screen.chosen.title_id
        await pilot.press("up")
        await wait_until(pilot, lambda: "1 in: take one" in screen_text(pilot))
        table = screen.query_one(ResultTable)
        await pilot.click(ResultTable, offset=(3, 2))  # the second row (the first is the heading)
        await wait_until(pilot, lambda: screen.chosen.title == "青铜葵花")
        assert screen.focused is screen.query_one("#query") and table.cursor == 1


async def test_a_reference_book_and_an_isbn_typed_with_hyphens(circulation, shelves):
    app = make_app(circulation, language="en")
    async with app.run_test(size=(80, 24)) as pilot:
        screen = await open_find(pilot)
        await pilot.press(*"xhzd")
        await wait_until(pilot, lambda: titles_shown(pilot) == ["新华字典"])
        assert "The library has no copy of this book" in screen_text(pilot)
        screen.query_one("#query").value = "978-0-06440"
        await wait_until(pilot, lambda: titles_shown(pilot) == ["Charlotte's Web"])


async def test_a_scanned_book_shows_its_title_and_a_card_opens_its_page(circulation, shelves):
    app = make_app(circulation, language="en")
    async with app.run_test(size=(80, 24)) as pilot:
        screen = await open_find(pilot)
        post_scan(pilot, "B3")  # a copy's label (the camera's way)
        await wait_until(pilot, lambda: titles_shown(pilot) == ["青铜葵花"])
        assert screen.query_one("#query").value == "B3"
        await scan_to(pilot, shelves["card"], "PatronScreen")
        assert [type(s).__name__ for s in app.screen_stack][1:] == ["AttractScreen", "PatronScreen"]
        assert "王小明" in screen_text(pilot)


async def test_a_card_typed_by_a_wedge_scanner_into_the_search_field(circulation, shelves):
    app = make_app(circulation, language="en")
    async with app.run_test(size=(80, 24)) as pilot:
        await open_find(pilot)
        await pilot.press(*shelves["card"], "enter")
        await on_screen(pilot, "PatronScreen")
        assert "王小明" in screen_text(pilot)


async def test_from_the_patron_page_and_back_and_another_childs_card(circulation, shelves):
    app = make_app(circulation, language="zh_CN")
    async with app.run_test(size=(80, 24)) as pilot:
        await scan_to(pilot, shelves["card"], "PatronScreen")
        await click(pilot, "#find")
        screen = find_screen(pilot)
        assert screen.patron is not None and screen.patron.number == "S1"
        await pilot.press("c", "f", "z")
        await wait_until(pilot, lambda: titles_shown(pilot) == ["草房子"])
        await pilot.press("f2")
        await on_screen(pilot, "PatronScreen")
        assert "王小明" in screen_text(pilot)
        await pilot.press("f5")
        await on_screen(pilot, "FindScreen")
        await scan_to(pilot, shelves["card"], "PatronScreen")  # the same child: back
        assert "王小明" in screen_text(pilot)
        await pilot.press("f5")
        await on_screen(pilot, "FindScreen")
        post_scan(pilot, shelves["other"])
        await wait_until(pilot, lambda: screen_name(pilot) == "PatronScreen"
                         and "李华" in screen_text(pilot))
        assert [type(s).__name__ for s in app.screen_stack][1:] == ["AttractScreen", "PatronScreen"]
        assert "王小明" not in screen_text(pilot)


async def test_the_idle_timeout_leaves_the_find_screen_too(circulation, shelves):
    clock = FakeMonotonic()
    app = make_app(circulation, monotonic=clock)
    async with app.run_test(size=(80, 24)) as pilot:
        await scan_to(pilot, shelves["card"], "PatronScreen")
        await pilot.press("f5")
        await on_screen(pilot, "FindScreen")
        await pilot.press("c")
        clock.advance(46)
        app.check_timeout()
        await wait_until(pilot, lambda: screen_name(pilot) == "AttractScreen")
        assert [type(s).__name__ for s in app.screen_stack][1:] == ["AttractScreen"]


async def test_a_stale_result_never_replaces_a_newer_one(circulation, shelves):
    """Keys typed while the database thread is busy: only the newest text is searched
    next, and what an older search found is never shown."""
    app = make_app(circulation, language="en")
    async with app.run_test(size=(80, 24)) as pilot:
        screen = await open_find(pilot)
        shown: list[str] = []
        show = screen.show_result
        screen.show_result = lambda result: (shown.append(result.query), show(result))
        busy = asyncio.ensure_future(app.run_db(time.sleep, 0.5))  # a sync write, say
        await pilot.press("c")  # its search waits behind the busy thread
        await pilot.press("w", "x")
        await busy
        await wait_until(pilot, lambda: titles_shown(pilot) == ["草房子", "青铜葵花"])
        await pilot.pause(0.1)
        assert shown == ["cwx"]
        assert screen.searches == 2  # "c" (already asked), then "cwx"; never "cw"


async def test_hostile_text_is_shown_as_text(circulation, shelves, library):
    with library.connection_context(), library.atomic():
        masterdata.save(Kind.TITLE_SAVED, key="evil", title="[b]Bold[/b] \x1b[31mred",
                        author="[link=x]me")
    app = make_app(circulation, language="en")
    async with app.run_test(size=(80, 24)) as pilot:
        screen = await open_find(pilot)
        screen.query_one("#query").value = "[b]bold"
        await wait_until(pilot, lambda: len(titles_shown(pilot)) == 1)
        assert "[b]Bold[/b]" in screen_text(pilot) and "by [link=x]me" in screen_text(pilot)


@pytest.mark.parametrize("size", [(80, 24), (120, 40)])
@pytest.mark.parametrize("language", ["zh_CN", "en"])
async def test_everything_fits_on_the_screen(circulation, shelves, size, language):
    """A Pilot test passes while a widget is hidden off screen: check the regions."""
    app = make_app(circulation, language=language)
    async with app.run_test(size=size) as pilot:
        await pilot.press("f5")
        await on_screen(pilot, "FindScreen")
        await pilot.press("c")
        await wait_until(pilot, lambda: len(titles_shown(pilot)) >= 2)
        await pilot.pause()
        screen = find_screen(pilot)
        width, height = size
        for selector in ("#query", "#find-state", "#results", "#find-detail", "#pad", "#back"):
            region = screen.query_one(selector).region
            assert region.width and region.height, selector
            assert region.right <= width and region.bottom <= height, (selector, region)
        table = screen.query_one(ResultTable)
        assert table.region.height >= (4 if height == 24 else 12)
        pad = screen.query_one(LetterPad)
        back = screen.query_one("#back").region
        for key in ("q", "p", "a", "l", "z", "m", BACKSPACE, SPACE, CLEAR):
            spot = pad.region.offset + pad.key_offset(key)
            assert pad.region.contains_point(spot) and not back.contains_point(spot), key
            assert pad.key_at(pad.key_offset(key)) == key
        assert pad.roomy == (height >= 36)
        if pad.roomy:
            assert pad.key_at(pad.key_offset("1")) == "1"
        else:
            with pytest.raises(KeyError):
                pad.key_offset("1")


@pytest.mark.parametrize("language", ["zh_CN", "en"])
async def test_the_find_buttons_are_on_screen_beside_the_others(circulation, make, language):
    teacher = make.card(make.patron("T1", name="张老师", kind="teacher"))
    app = make_app(circulation, language=language)
    async with app.run_test(size=(80, 24)) as pilot:
        await on_screen(pilot, "AttractScreen")
        for selector in ("#return", "#language", "#find"):
            region = app.screen.query_one(selector).region
            assert region.width and region.right <= 80 and region.bottom <= 24, selector
        await scan_to(pilot, teacher, "PatronScreen")
        for selector in ("#finish", "#class-visit", "#find"):
            region = app.screen.query_one(selector).region
            assert region.width and region.right <= 80 and region.bottom <= 24, selector
        await click(pilot, "#find")
        await on_screen(pilot, "FindScreen")
        assert find_screen(pilot).patron.kind == "teacher"


async def test_a_teacher_reserves_the_title_found_and_a_student_may_not_here(
    circulation, shelves, make
):
    teacher = make.card(make.patron("T1", name="张老师", kind="teacher"))
    app = make_app(circulation, language="en")
    async with app.run_test(size=(80, 24)) as pilot:
        await scan_to(pilot, teacher, "PatronScreen")
        await pilot.press("f5")
        await on_screen(pilot, "FindScreen")
        screen = find_screen(pilot)
        await pilot.press(*"qtkh")
        await wait_until(pilot, lambda: titles_shown(pilot) == ["青铜葵花"])
        await wait_until(pilot, lambda: screen.query_one("#reserve").display
                         and bool(screen.query_one("#reserve").region))
        await pilot.press("f3")
        await wait_until(pilot, lambda: screen_name(pilot) == "ReserveModal")
        await pilot.press("f2")
        await wait_until(pilot, lambda: screen_name(pilot) == "FindScreen"
                         and "青铜葵花" in (screen.query_one("#verdict").render().plain
                                         if screen.query_one("#verdict").display else ""))
    with circulation.store.connected():
        from kiosk.data.core.models import Hold

        (hold,) = Hold.select()
        assert (hold.patron.number, hold.title.title) == ("T1", "青铜葵花")
    app = make_app(circulation, language="en")
    async with app.run_test(size=(80, 24)) as pilot:  # students may not reserve by default
        await scan_to(pilot, shelves["card"], "PatronScreen")
        await pilot.press("f5")
        await on_screen(pilot, "FindScreen")
        await pilot.press(*"qtkh")
        await wait_until(pilot, lambda: titles_shown(pilot) == ["青铜葵花"])
        await pilot.pause(0.2)
        assert not find_screen(pilot).query_one("#reserve").display
