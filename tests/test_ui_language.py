"""Pilot and static tests: Chinese and English, switchable, every string translated."""

from __future__ import annotations

import ast
import logging
import re
import string
from pathlib import Path

import pytest
from uikit import click, click_to, make_app, post_scan, scan_to, screen_text, wait_until

import kiosk
from kiosk.locale import LANGUAGES, catalogue, set_language

PACKAGE = Path(kiosk.__file__).parent


@pytest.fixture(autouse=True)
def _reset_language():
    yield
    set_language("zh_CN")


def test_catalogues_have_the_same_keys_and_fields():
    english, chinese = catalogue("en"), catalogue("zh_CN")
    assert set(english) == set(chinese)
    formatter = string.Formatter()
    for key in english:
        fields_en = {f for _, f, _, _ in formatter.parse(english[key]) if f}
        fields_zh = {f for _, f, _, _ in formatter.parse(chinese[key]) if f}
        assert fields_en == fields_zh, key
        assert chinese[key].strip() and english[key].strip(), key


def _keys_used_in_code() -> set[str]:
    """Every literal translation key in the package: t("..."), errors, title keys."""
    keys: set[str] = set()
    for path in PACKAGE.rglob("*.py"):
        tree = ast.parse(path.read_text(encoding="utf-8"))
        for node in ast.walk(tree):
            if isinstance(node, ast.Call) and node.args:
                name = getattr(node.func, "id", getattr(node.func, "attr", ""))
                first = node.args[0]
                if name in {"t", "Refused", "CardRefused", "NotFound", "StorageError",
                            "KioskError"} and isinstance(first, ast.Constant):
                    keys.add(first.value)
            if isinstance(node, ast.Assign) and isinstance(node.value, ast.Constant):
                if any(getattr(t, "id", "") == "title_key" for t in node.targets):
                    keys.add(node.value.value)
    return keys


def test_every_key_in_the_code_is_translated():
    used = _keys_used_in_code()
    assert len(used) > 60  # the scan really found the kiosk's messages
    for language in LANGUAGES:
        missing = used - set(catalogue(language))
        assert not missing, f"{language} lacks {sorted(missing)}"
    # keys built at run time: receipt lines
    for action in ("borrowed", "returned", "renewed"):
        assert f"receipt.{action}" in catalogue("en")


def test_no_chinese_left_in_english_and_no_untranslated_chinese():
    han = re.compile(r"[\u4e00-\u9fff]")
    for key, text in catalogue("en").items():
        if key != "language.switch":
            assert not han.search(text), key
    untranslated = [k for k, v in catalogue("zh_CN").items()
                    if v == catalogue("en")[k] and not k.startswith(("language.", "key."))]
    assert not untranslated


async def test_language_button_switches_attract_screen(circulation):
    app = make_app(circulation, language="zh_CN")
    async with app.run_test(size=(80, 24)) as pilot:
        assert "请出示借书证借书" in screen_text(pilot)
        await click(pilot, "#language")
        await wait_until(pilot, lambda: "Show your library card" in screen_text(pilot))
        assert "请出示" not in screen_text(pilot)
        await click(pilot, "#language")
        await wait_until(pilot, lambda: "请出示借书证借书" in screen_text(pilot))


async def test_a_whole_visit_in_chinese_logs_no_missing_translation(circulation, make, caplog):
    patron = make.patron(name="王小明")
    code = make.card(patron)
    make.copy(make.title("草房子"), barcode="10000001")
    caplog.set_level(logging.ERROR, logger="kiosk.locale")
    app = make_app(circulation, language="zh_CN")
    async with app.run_test(size=(80, 24)) as pilot:
        await scan_to(pilot, code, "PatronScreen")
        assert "王小明，你好！" in screen_text(pilot)
        post_scan(pilot, "10000001")
        await wait_until(pilot, lambda: "借书成功：《草房子》" in screen_text(pilot))
        assert "3月26日（周三）" in screen_text(pilot)
        post_scan(pilot, "NOPE")
        await wait_until(pilot, lambda: "查不到这本书（NOPE）" in screen_text(pilot))
        await click_to(pilot, "#finish", "ReceiptScreen")
        assert "借出  草房子" in screen_text(pilot)
    assert not caplog.records


async def test_the_next_visitor_starts_in_the_kiosk_language(circulation, make):
    code = make.card(make.patron(name="王小明"))
    app = make_app(circulation, language="zh_CN")
    async with app.run_test(size=(80, 24)) as pilot:
        await click(pilot, "#language")
        await wait_until(pilot, lambda: "Show your library card" in screen_text(pilot))
        post_scan(pilot, code)
        await wait_until(pilot, lambda: "Hello, 王小明!" in screen_text(pilot))
        await click_to(pilot, "#finish", "ReceiptScreen")
        await click(pilot, "#ok")
        await wait_until(pilot, lambda: "请出示借书证借书" in screen_text(pilot))
