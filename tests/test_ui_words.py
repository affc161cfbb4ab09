"""Pilot tests of the words and counts a new user met (issue 14, point 9)."""

from __future__ import annotations

from textual.widgets import Button
from uikit import make_app, scan_and_wait, scan_to, screen_name, type_code, verdict, wait_until

from kiosk.data.desk.catalogue import apply_catalogue, parse_catalogue
from kiosk.data.desk.labelprint import TITLE_CHARS, new_labels
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


async def test_a_magazine_issue_from_a_table_keeps_its_issue_on_screen_and_label(
    circulation, make, library, tmp_path
):
    table = tmp_path / "magazines.csv"
    long_name = "一本书名" + "很长" * 16 + "的杂志"
    table.write_text("刊名,期号日期,条码,类型\n我们爱科学,2025年2月,M2,期刊\n"
                     "我们爱科学,2025-03-01,M3,期刊\n"
                     f"{long_name},2025-01-15,M1,期刊\n", encoding="utf-8")
    apply_catalogue(library, parse_catalogue(table))
    with library.connection_context():
        labels = {row.barcode: row.title for row in new_labels()}
    assert labels["M2"] == "我们爱科学（2025年2月）"
    assert labels["M3"] == "我们爱科学（2025年3月）"
    assert labels["M1"].endswith("…（2025年1月15日）") and len(labels["M1"]) <= TITLE_CHARS
    patron = make.patron(name="王小明")
    code = make.card(patron)
    app = make_app(circulation, language="zh_CN")
    async with app.run_test(size=(80, 24)) as pilot:
        await scan_to(pilot, code, "PatronScreen")
        assert "借书成功：《我们爱科学（2025年2月）》" in await scan_and_wait(pilot, "M2")
        # this month's issue stays in the library, and says which issue it is
        assert "《我们爱科学（2025年3月）》是当月期刊" in await scan_and_wait(pilot, "M3")
    set_language("en")
    assert circulation.patron(patron.number).loans[0].title == "我们爱科学 (Feb 2025)"
