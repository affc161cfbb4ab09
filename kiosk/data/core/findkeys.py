"""The search keys of a title: what "find a book" matches a child's typing against.

Children type what they can: the first letters of a title's pinyin (``cfz`` for
草房子), the whole pinyin (``caofangzi``), the characters, an English word, the
author, the series, or the ISBN. Converting Chinese to pinyin costs about 30 µs a
title, far too much to do to a whole catalogue on each keystroke, so the keys are
made once, when a title is saved (every path that saves one calls
:func:`title_keys`: the desk's imports and master data, a kiosk's pull of the
desk's titles, the demo, migration 0006 for the titles saved before it) and kept in
the title's row. A search then only compares plain strings (:func:`query_terms`).

A key is one line of lower-case words, each field's forms separated by spaces:

* the text's words, with punctuation and case folded away (``harry potter and the``),
  and the same run together (``哈利波特与魔法石``, ``harrypotter...``) so typing
  across punctuation or spaces still matches;
* for text with Chinese characters, its pinyin run together (``caofangzi``) and its
  initials (``cfz``), digits and Latin letters kept in place (``米小圈1`` gives
  ``mxq1``); ü is written ``v``, as pinyin keyboards type it;
* the ISBN's digits (and X).

The title's own forms come first and end with :data:`TITLE_END`, so a search can rank
a match in the title above a match in the author or series.

The pinyin comes from pypinyin, whose phrase dictionary gives the reading of a
character in its word (长大 is *zhang da*, 长城 *chang cheng*); one reading is kept per
character, the one pypinyin gives in context.
"""

from __future__ import annotations

import re
import unicodedata
from functools import lru_cache

TITLE_END = "\x1d"
"""Ends the title's own forms in a key (the group separator: never typed, never
in a word)."""

KEY_LENGTH = 2000
"""The longest key kept (a title of a few hundred characters, with its pinyin)."""

_HAN = re.compile(r"[\u3400-\u4dbf\u4e00-\u9fff\uf900-\ufaff\U00020000-\U0003134f]+")
"""Runs of Chinese characters (the CJK unified ideographs and their extensions)."""
_NOT_WORD = re.compile(r"[\W_]+")
"""What separates words: anything that is neither a letter nor a digit."""


def fold(text: str) -> str:
    """``text`` as keys and queries compare it: compatibility forms unified (full-width
    ``ＡＢＣ１`` is ``abc1``), case folded, apostrophes dropped, other punctuation turned
    into spaces, words single-spaced."""
    text = unicodedata.normalize("NFKC", text).casefold()
    text = text.replace("'", "").replace("\u2019", "")  # philosopher's: philosophers
    return " ".join(_NOT_WORD.sub(" ", text).split())


@lru_cache(maxsize=4096)
def _pinyin(han: str) -> tuple[str, ...]:
    """The pinyin syllables of a run of Chinese characters, read as words."""
    from pypinyin import Style, lazy_pinyin  # imported when first needed: 0.13 s

    return tuple(
        syllable.replace("ü", "v")
        for syllable in lazy_pinyin(han, style=Style.NORMAL, errors="ignore", v_to_u=False)
    )


def pinyin_forms(text: str) -> tuple[str, str] | None:
    """The pinyin of folded ``text`` run together, and its initials (``None``: no Chinese).

    Latin letters and digits between the characters stay as they are, in both forms.
    """
    if not _HAN.search(text):
        return None
    whole: list[str] = []
    initials: list[str] = []
    position = 0
    for run in _HAN.finditer(text):
        other = text[position : run.start()].replace(" ", "")
        whole.append(other)
        initials.append(other)
        syllables = _pinyin(run.group())
        whole.extend(syllables)
        initials.extend(syllable[:1] for syllable in syllables)
        position = run.end()
    other = text[position:].replace(" ", "")
    whole.append(other)
    initials.append(other)
    return "".join(whole), "".join(initials)


def field_forms(text: str) -> list[str]:
    """Every form of one field (title, series or author) a child may type; see the
    module's description."""
    words = fold(text)
    if not words:
        return []
    forms = [words]
    joined = words.replace(" ", "")
    if joined != words:
        forms.append(joined)
    pinyin = pinyin_forms(words)
    if pinyin is not None:
        forms.extend(pinyin)
    return forms


def isbn_digits(isbn: str | None) -> str:
    """An ISBN's digits (and check character X), without hyphens or spaces."""
    return "".join(c for c in (isbn or "").casefold() if c.isdigit() or c == "x")


def title_keys(title: str, author: str = "", series: str = "", isbn: str | None = "") -> str:
    """The search key of a title (what :class:`~kiosk.data.core.models.Title` keeps)."""
    own = field_forms(title)
    other = [*field_forms(series), *field_forms(author)]
    digits = isbn_digits(isbn)
    if digits:
        other.append(digits)
    key = " " + " ".join(own) + " " + TITLE_END + " " + " ".join(other) + " "
    return key[:KEY_LENGTH]


WORD_LENGTH = 24
"""The longest word indexed (a longer term is looked up by its first letters)."""

SUFFIXES = 12
"""The most word parts indexed from one Chinese word or its initials (see :func:`title_words`)."""

RANKS = {"title": 0, "series": 1, "author": 2, "isbn": 3}
"""Where a word comes from, best first: a search ranks a title found by its own words
above one found by its series or author."""


def _parts(text: str) -> list[str]:
    """``text`` and its ends: 青铜葵花, 铜葵花, 葵花, 花 (at most :data:`SUFFIXES`)."""
    return [text[start:] for start in range(min(len(text), SUFFIXES))]


def field_words(text: str) -> set[str]:
    """The words of one field that a search looks up by their beginnings.

    Each word (``harry``, ``potter``); for a word with Chinese characters, every part
    of it to its end too (``葵花`` is found in 青铜葵花, as children remember a title by
    any of its words), its pinyin (``qingtongkuihua``) and its initials with their ends
    (``qtkh``, ``tkh``, ``kh``: initials from any character on, two letters at least).
    """
    words: set[str] = set()
    for word in fold(text).split():
        pinyin = pinyin_forms(word)
        if pinyin is None:
            words.add(word)
            continue
        words.update(_parts(word))
        words.add(pinyin[0])
        words.add(pinyin[1])
        # (initials' ends of one letter: a fifth of all words, and one letter typed
        # finds plenty by the words that begin with it)
        words.update(part for part in _parts(pinyin[1]) if len(part) > 1)
    return {word[:WORD_LENGTH] for word in words}


def title_words(
    title: str, author: str = "", series: str = "", isbn: str | None = ""
) -> dict[str, int]:
    """Every word a title is looked up by, with its rank (:data:`RANKS`, the best one
    when a word comes from several fields). What :mod:`kiosk.data.core.title_index`
    keeps for each title beside its :func:`title_keys`."""
    ranked: dict[str, int] = {}
    fields = (("isbn", ""), ("author", author), ("series", series), ("title", title))
    for name, text in fields:
        for word in field_words(text) if name != "isbn" else ():
            ranked[word] = RANKS[name]
    digits = isbn_digits(isbn)
    if digits:
        ranked.setdefault(digits, RANKS["isbn"])
    return ranked


def query_terms(query: str) -> list[str]:
    """The terms of what was typed, each to be found in a title's key.

    Folded as keys are; an ISBN typed with hyphens (``978-7-5346-…``) is one term of
    its digits; at most eight terms (nobody types more, and each costs a comparison).
    """
    terms = fold(query.replace("-", "")).split()
    return list(dict.fromkeys(terms))[:8]
