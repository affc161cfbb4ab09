"""Pilot tests of the words and counts a new user met (issue 14, point 9)."""

from __future__ import annotations

from textual.widgets import Button
from uikit import make_app, scan_to, screen_name, type_code, verdict, wait_until

from kiosk.locale import key_name, set_language


def _labels(pilot) -> dict[str, str]:
    return {b.id: str(b.label) for b in pilot.app.screen.query(Button) if b.id}


async def test_dialog_keys_read_as_keycaps_in_chinese(circulation, make):
    patron = make.patron(name="王小明")
    code = make.card(patron)
    copy = make.copy(make.title("夏洛的网"))
    circulation.checkout(patron.number, copy.barcode)
    app = make_app(circulation, language="zh_CN")
    async with app.run_test(size=(80, 24)) as pilot:
        await scan_to(pilot, code, "PatronScreen")
        await scan_to(pilot, copy.barcode, "MineModal")
        labels = _labels(pilot)
        assert labels["cancel"] == "取消  Esc"
        assert labels["renew"].endswith("  F3")
        assert "ESCAPE" not in " ".join(labels.values())


def test_key_names():
    set_language("en")
    assert [key_name(k) for k in ("escape", "f3", "f10", "tab")] == ["Esc", "F3", "F10", "Tab"]


async def test_a_word_at_the_start_screen_is_neither_a_book_nor_a_card(circulation, make, facts):
    copy = make.copy(make.title("草房子"))
    app = make_app(circulation, language="zh_CN")
    async with app.run_test(size=(80, 24)) as pilot:
        await type_code(pilot, "hello")
        await wait_until(pilot, lambda: "既不是借书证" in verdict(pilot))
        assert screen_name(pilot) == "AttractScreen"
        assert "“hello”既不是借书证，也不是图书馆的书。" in verdict(pilot)
        # a book's barcode still starts the returns at once
        await scan_to(pilot, copy.barcode, "ReturnScreen")
    assert [f.data["reason"] for f in facts("refusal")] == ["scan.neither"]
