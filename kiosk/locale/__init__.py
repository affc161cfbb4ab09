"""Translations: every string a user reads goes through :func:`t`.

The catalogues are TOML files beside this module: ``<language>.toml`` for the kiosk
itself and ``<area>.<language>.toml`` for each further area (``desk.en.toml``), so
each part of the program keeps its strings together. Both languages have the same
keys (a test checks that both are complete), and no key is defined twice. Values use
``str.format`` fields:
``t("patron.may_borrow", count=2)``.

Counts take their language's plural forms, chosen by the count itself (CLDR's plural
categories): a field with a format spec of ``category=words`` choices, ``|``-separated,
is replaced by the words of the count's category, ``other`` when the language has no
such category. ``"{count} overdue {count:one=book|other=books}"`` says "1 overdue book"
and "2 overdue books"; Chinese has no plural forms and writes ``{count} 本``.
"""

from __future__ import annotations

import logging
import string
import tomllib
from datetime import date
from functools import cache
from pathlib import Path
from typing import Any

log = logging.getLogger(__name__)

LANGUAGES = ("zh_CN", "en")
"""The languages the kiosk speaks; the first is the default."""

_current = LANGUAGES[0]


@cache
def catalogue(language: str) -> dict[str, str]:
    """Every message of ``language``, by key."""
    here = Path(__file__).parent
    merged: dict[str, str] = {}
    for path in [here / f"{language}.toml", *sorted(here.glob(f"*.{language}.toml"))]:
        part = tomllib.loads(path.read_text(encoding="utf-8"))
        twice = merged.keys() & part.keys()
        if twice:
            raise ValueError(f"{path.name} defines again: {', '.join(sorted(twice))}")
        merged.update(part)
    return merged


def set_language(language: str) -> None:
    """Make ``language`` the one :func:`t` speaks.

    Raises:
        ValueError: the kiosk has no translation for ``language``.
    """
    global _current
    if language not in LANGUAGES:
        raise ValueError(f"unknown language {language!r}; choose one of {LANGUAGES}")
    _current = language


def language() -> str:
    """The language :func:`t` speaks now."""
    return _current


def other_language() -> str:
    """The language the language button switches to."""
    return LANGUAGES[(LANGUAGES.index(_current) + 1) % len(LANGUAGES)]


PLURAL_CATEGORIES = ("zero", "one", "two", "few", "many", "other")
"""CLDR's plural categories, the names a plural choice may use."""


def plural_category(language: str, count: object) -> str:
    """CLDR's plural category of ``count`` in ``language``: ``one`` or ``other``.

    English: ``one`` for exactly 1 (an integer, not 1.0 or "1.5"), else ``other``;
    Chinese has one form for every number (``other``). A text of digits counts as its
    number; anything else that is not a whole number (a fraction, 1.0) is ``other``.
    """
    if isinstance(count, str) and count.isascii() and count.isdigit():
        count = int(count)
    if language == "en" and isinstance(count, int) and not isinstance(count, bool):
        return "one" if count == 1 else "other"
    return "other"


def plural_choices(spec: str) -> dict[str, str] | None:
    """The choices of a plural format spec (``one=book|other=books``), or None when
    ``spec`` is an ordinary format spec (``>3``, ``.1f``)."""
    if "=" not in spec:
        return None
    choices: dict[str, str] = {}
    for part in spec.split("|"):
        category, equals, words = part.partition("=")
        if not equals or category.strip() not in PLURAL_CATEGORIES:
            return None
        choices[category.strip()] = words
    return choices if "other" in choices else None


class _Formatter(string.Formatter):
    """``str.format`` with plural choices: ``{count:one=book|other=books}``."""

    def __init__(self, language: str) -> None:
        self.language = language

    def format_field(self, value: Any, format_spec: str) -> Any:
        choices = plural_choices(format_spec)
        if choices is None:
            return super().format_field(value, format_spec)
        category = plural_category(self.language, value)
        return choices.get(category, choices["other"])


def t(key: str, **params: Any) -> str:
    """The message ``key`` in the current language, with ``params`` filled in.

    A missing key or parameter never crashes the kiosk: the key itself is shown and
    the problem logged (a test keeps this from happening in a release).
    """
    return translate(_current, key, **params)


def translate(language: str, key: str, **params: Any) -> str:
    """The message ``key`` in ``language`` (one of :data:`LANGUAGES`), as :func:`t` says it.

    For a message said before the language is known (a broken settings file: it is
    said in every language), and for the services that speak to many people at once,
    each in their own language (the SIP2 server's screen messages).
    """
    if language not in LANGUAGES:
        language = LANGUAGES[0]
    text = catalogue(language).get(key)
    if text is None:
        log.error("missing translation %s for %s", key, language)
        return key
    try:
        return _Formatter(language).vformat(text, (), params)
    except (KeyError, IndexError, ValueError, TypeError):
        log.error("bad parameters %r for translation %s", params, key)
        return text


def key_name(key: str) -> str:
    """A key as its keycap shows it, for the labels of buttons: ``Esc``, ``F3``, ``Enter``.

    Keyboards in China carry the same English keycaps, so a Chinese screen names them
    the same way; the words live in the catalogues (``key.escape``) all the same, where
    a language could say otherwise. A key without an entry is written as Textual names
    it, with a capital (``F3``, ``Tab``).
    """
    text = catalogue(_current).get(f"key.{key}")
    if text is not None:
        return text
    return key[:1].upper() + key[1:] if key[:1] != "f" or not key[1:].isdigit() else key.upper()


def format_date(day: date, language: str | None = None) -> str:
    """A due date as a child reads it: ``12月9日（周三）`` or ``Wed 9 Dec`` (in ``language``,
    else the current one)."""
    speak = language or _current
    weekday = translate(speak, "date.weekdays").split(",")[day.weekday()]
    month = translate(speak, "date.months").split(",")[day.month - 1]
    return translate(speak, "date.format", day=day.day, month=month, weekday=weekday)
