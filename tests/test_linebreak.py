"""Chinese lines break by the rules of Chinese typesetting (issue 14, point 8): no line
starts with closing punctuation or ends with opening punctuation, a date and a number
with its measure word stay together, English text wraps as Rich wraps it."""

from __future__ import annotations

import textual.content
from hypothesis import given, settings
from hypothesis import strategies as st
from rich._wrap import divide_line
from rich.cells import cell_len
from textual.content import Content

from kiosk.locale import format_date, set_language, t
from kiosk.widgets import text_wrap
from kiosk.widgets.linebreak import NO_END, NO_START, break_offsets, wrap

RETURN = "还书成功：《哈利·波特与魔法石》有同学预约了，请放到预约架（陈诗涵）。"
DUE = "借书成功：《青铜葵花》，请在12月30日（周三）之前还。"


def assert_by_the_rules(lines: list[str], width: int) -> None:
    for number, line in enumerate(lines):
        assert cell_len(line) <= width, (line, width)
        if number:
            assert line[:1] not in NO_START, lines
        if number < len(lines) - 1:
            assert line[-1:] not in NO_END, lines


def test_no_line_starts_with_closing_punctuation():
    for width in range(12, 60):
        lines = wrap(RETURN, width)
        assert "".join(lines) == RETURN
        assert_by_the_rules(lines, width)
    # the report's case: Rich folds "不能借出。" so that "。" starts a line
    text = "《哈利·波特与魔法石》已经被别的同学预约了，不能借出。"
    assert [line[0] for line in wrap(text, 48 // 2 * 2 - 4)[1:]] != ["。"]
    assert wrap("不能借出。", 8) == ["不能借", "出。"]  # not "不能借出" / "。"
    assert wrap("不能借出。", 9) == ["不能借", "出。"]
    assert wrap("他说：“借出。”", 12) == ["他说：“借", "出。”"]


def test_a_date_stays_together():
    for width in range(18, 60):
        lines = wrap(DUE, width)
        assert any("12月30日（周三）" in line for line in lines), (width, lines)
        assert_by_the_rules(lines, width)
    set_language("zh_CN")
    day = format_date(__import__("datetime").date(2026, 12, 30))
    assert day == "12月30日（周三）"
    assert wrap(f"请在{day}前还书", 17) == ["请在", "12月30日（周三）", "前还书"]


def test_a_number_keeps_its_measure_word_and_dashes_are_whole():
    assert wrap("超期 13 天了", 6) == ["超期", "13 天", "了"]
    assert wrap("等一等……好", 5) == ["等一", "等……", "好"]
    assert "——" in "".join(line for line in wrap("好——再见", 5) if "—" in line)


def test_english_wraps_as_rich_wraps_it():
    text = "Going back to the start in 9 s. Touch the screen to stay."
    for width in range(5, 40):
        assert break_offsets(text, width) == divide_line(text, width)


@settings(max_examples=300, deadline=None)
@given(st.text(alphabet="借书还请的了，。、：“”（）《》·12 ab", max_size=60),
       st.integers(min_value=6, max_value=40))
def test_any_text_keeps_every_character_and_fits(text, width):
    lines = wrap(text, width)
    assert "".join(lines).replace(" ", "") == text.replace(" ", "")
    for line in lines:
        assert cell_len(line) <= width


def test_textual_wraps_by_these_rules_once_installed():
    """The apps install the rule; Textual still wraps through the name it is put in."""
    from kiosk.app import KioskApp  # noqa: F401  (the apps install it as they start)

    assert hasattr(textual.content, "divide_line")
    text_wrap.install()
    assert text_wrap.installed()
    lines = [line.plain for line in Content("不能借出。").wrap(8)]
    assert lines == ["不能借", "出。"]
    set_language("zh_CN")
    message = t("checkout.ok", title="青铜葵花", due="12月30日（周三）")
    for width in range(20, 50):
        lines = [line.plain.rstrip() for line in Content(message).wrap(width)]
        assert_by_the_rules(lines, width)
