"""Privacy for children (issue 14): with ``[kiosk] given_names_only`` the kiosk's pages
show only the given name; the librarian still sees the full name."""

from __future__ import annotations

import pytest
from uikit import click_to, make_app, scan_and_wait, scan_to, screen_text

from kiosk.config import load_config
from kiosk.locale.names import given_name, set_given_names_only


@pytest.fixture(autouse=True)
def _full_names_after():
    yield
    set_given_names_only(False)


@pytest.mark.parametrize(("name", "given"), [
    ("张晨曦", "晨曦"), ("欧阳小明", "小明"), ("周月", "月"), ("林", "林"),
    ("Emma Brown", "Emma"), ("Brown, Emma", "Emma"), ("约翰·史密斯", "约翰"), ("Emma", "Emma"),
])
def test_given_name(name, given):
    assert given_name(name) == given


def test_the_setting_is_read_from_the_settings_file(tmp_path):
    path = tmp_path / "kiosk.toml"
    path.write_text("[kiosk]\ngiven_names_only = true\n", encoding="utf-8")
    assert load_config(path).given_names_only


async def test_pages_show_only_the_given_name(circulation, make):
    child = make.patron(name="张晨曦", school_class="三年级2班")
    other = make.patron(name="欧阳小明")
    copy = make.copy(shelf="I")
    circulation.checkout(child.number, copy.barcode)
    make.hold(other, copy)
    app = make_app(circulation, given_names_only=True)
    async with app.run_test(size=(80, 24)) as pilot:
        await scan_to(pilot, make.card(child), "PatronScreen")
        text = screen_text(pilot)
        assert "Hello, 晨曦!" in text and "张晨曦" not in text
        await click_to(pilot, "#finish", "ReceiptScreen")
        assert "晨曦" in screen_text(pilot) and "张晨曦" not in screen_text(pilot)
        await click_to(pilot, "#ok", "AttractScreen")
        await click_to(pilot, "#return", "ReturnScreen")
        said = await scan_and_wait(pilot, copy.barcode)
        assert "小明" in said and "欧阳" not in said  # the hold shelf's name, too


async def test_full_names_by_default(circulation, make):
    child = make.patron(name="张晨曦")
    app = make_app(circulation)
    async with app.run_test(size=(80, 24)) as pilot:
        await scan_to(pilot, make.card(child), "PatronScreen")
        assert "Hello, 张晨曦!" in screen_text(pilot)
