"""Counts in their language's plural forms: "1 overdue book", "2 overdue books", "超期 1 天"."""

from __future__ import annotations

import re
import string

import pytest
from textual.widgets import DataTable
from uikit import make_app, scan_to, screen_text

from kiosk.locale import (
    LANGUAGES,
    PLURAL_CATEGORIES,
    catalogue,
    plural_category,
    plural_choices,
    translate,
)


def test_english_has_one_and_other_chinese_only_other():
    assert [plural_category("en", n) for n in (0, 1, 2, 21)] == ["other", "one", "other", "other"]
    assert plural_category("en", "1") == "one"  # a count given as digits
    assert plural_category("en", 1.0) == "other"  # CLDR: "1.0 books"
    assert plural_category("en", True) == "other"
    assert {plural_category("zh_CN", n) for n in (0, 1, 2)} == {"other"}


def test_counts_take_the_plural_form_of_their_number():
    assert translate("en", "loan.overdue", days=1) == "1 day overdue"
    assert translate("en", "loan.overdue", days=14) == "14 days overdue"
    assert translate("en", "patron.overdue", count=1).startswith(
        "You have 1 overdue book. Please return it first")
    assert translate("en", "patron.overdue", count=3).startswith(
        "You have 3 overdue books. Please return them first")
    assert translate("en", "print.cards.done", count=1, pages=1, path="x.pdf") == (
        "Wrote 1 card on 1 page to x.pdf")
    assert translate("en", "sync.cli.unreachable", reason="r", count=1).endswith(
        "1 record waits here for the next sync.")
    assert translate("zh_CN", "loan.overdue", days=1) == "超期 1 天"
    # an ordinary format spec is still one
    assert plural_choices(">3") is None and plural_choices("one=x") is None


def _specs(text: str) -> list[tuple[str, str]]:
    return [(field, spec) for _, field, spec, _ in string.Formatter().parse(text)
            if field and spec]


@pytest.mark.parametrize("language", LANGUAGES)
def test_no_message_writes_a_plural_as_s_in_brackets(language):
    for key, text in catalogue(language).items():
        assert not re.search(r"\w\(s\)", text), key
        for _field, spec in _specs(text):
            choices = plural_choices(spec)
            assert choices is not None, (key, spec)  # a spec that is no plural is a typo
            assert set(choices) <= set(PLURAL_CATEGORIES) and "other" in choices, key


def test_english_counts_of_nouns_have_plural_forms():
    """A number followed by a counted noun ("{count} books") says "1 books" for one."""
    nouns = re.compile(r"\{(\w+)\} (?:[a-z]+ ){0,2}(books|days|minutes|students|records|"
                       r"loans|copies|titles|people|changes|cards|labels|pages|sheets|"
                       r"visits|shifts|checks)\b")
    for key, text in catalogue("en").items():
        assert not nouns.search(text), (key, text)


async def test_one_overdue_book_one_day_late_in_english(circulation, make, clock):
    patron = make.patron(name="王小明")
    code = make.card(patron)
    circulation.checkout(patron.number, make.copy(make.title("昆虫记")).barcode)
    clock.advance(days=15)  # due on Wednesday 26 March; Thursday 27 March
    app = make_app(circulation, language="en")
    async with app.run_test(size=(80, 24)) as pilot:
        await scan_to(pilot, code, "PatronScreen")
        assert "You have 1 overdue book. Please return it first" in screen_text(pilot)
        row = app.screen.query_one(DataTable).get_row_at(0)
        assert str(row[2]) == "1 day overdue"
