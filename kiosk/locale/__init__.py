"""Translations: every string a user reads goes through :func:`t`.

The catalogues are TOML files beside this module: ``<language>.toml`` for the kiosk
itself and ``<area>.<language>.toml`` for each further area (``desk.en.toml``), so
each part of the program keeps its strings together. Both languages have the same
keys (a test checks that both are complete), and no key is defined twice. Values use ``str.format`` fields:
``t("patron.may_borrow", count=2)``.
"""

from __future__ import annotations

import logging
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
        return text.format(**params)
    except (KeyError, IndexError, ValueError):
        log.error("bad parameters %r for translation %s", params, key)
        return text


def format_date(day: date, language: str | None = None) -> str:
    """A due date as a child reads it: ``12月9日（周三）`` or ``Wed 9 Dec`` (in ``language``,
    else the current one)."""
    speak = language or _current
    weekday = translate(speak, "date.weekdays").split(",")[day.weekday()]
    month = translate(speak, "date.months").split(",")[day.month - 1]
    return translate(speak, "date.format", day=day.day, month=month, weekday=weekday)
