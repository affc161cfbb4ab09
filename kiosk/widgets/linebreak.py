"""Where a line of Chinese (or mixed) text may break, by the rules of Chinese typesetting.

Textual and Rich break lines only at spaces; a Chinese sentence has none, so it is one
long "word" folded at whatever character meets the edge: a line then starts with
"。" or "”。", and a due date is cut in two ("12月30日（" / "周三）"). The rules here
are those of the W3C's *Requirements for Chinese Text Layout* (clreq, 3.1.7 and 3.1.8)
and GB/T 15834, kept small:

* a line may break between two Chinese characters, and at a space;
* no line starts with closing punctuation (。，、；：？！”’）》」』】 and the like) and
  none ends with opening punctuation (“‘（《「『【 ...): such a character goes to the
  next line with its neighbour ("push out");
* a dash (——) or an ellipsis (……) is never split;
* a date (``12月30日（周三）``, ``2026年1月5日``) and a number with its measure word
  (``13 天``, ``2 本``) stay together;
* Latin words are never split inside; text with no Chinese in it is left to Rich's own
  rule, exactly as before.

:func:`break_offsets` has the contract of ``rich._wrap.divide_line`` (the function
Textual's ``Content`` wraps with), so :mod:`kiosk.widgets.text_wrap` can hand it to
Textual. It is pure: no Textual here.
"""

from __future__ import annotations

import re
from collections.abc import Iterator

from rich._wrap import divide_line
from rich.cells import cell_len, chop_cells

NO_START = frozenset(
    "。．，、；：？！）〕］｝〉》」』】〗〙”’»›…—‥·・〜～％‰℃°"
    "ぁぃぅぇぉっゃゅょゎゕゖァィゥェォッャュョヮヵヶ々〻ー"
    ".,;:?!)]}%"
)
"""Characters that never start a line (closing punctuation, the interpunct, small kana)."""

NO_END = frozenset("（〔［｛〈《「『【〖〘“‘«‹([{")
"""Characters that never end a line (opening punctuation)."""

INSEPARABLE = frozenset("—…‥")
"""Two of these in a row (the dash ——, the ellipsis ……) are one mark: never split."""

KEEP_TOGETHER = re.compile(
    r"(?:\d{2,4}\s?年\s?)?\d{1,2}\s?月\s?\d{1,2}\s?[日号](?:\s?[（(][^）)\s]{1,4}[）)])?"
    r"|\d+(?:\.\d+)?\s?(?:分钟|小时|[本天次个条件人位页册岁元周年月日期])"
)
"""Runs never broken: dates with their weekday, a number with its measure word."""


def is_cjk(char: str) -> bool:
    """Whether ``char`` is written in the Chinese way (ideographs, kana, hangul, CJK and
    full-width punctuation), so that a line may break beside it."""
    code = ord(char)
    return (
        0x2E80 <= code <= 0x9FFF  # radicals, CJK punctuation, kana, ideographs
        or 0xAC00 <= code <= 0xD7AF  # hangul
        or 0xF900 <= code <= 0xFAFF  # compatibility ideographs
        or 0xFE30 <= code <= 0xFE4F  # vertical forms
        or 0xFF00 <= code <= 0xFFEF  # full-width forms
        or 0x20000 <= code <= 0x3FFFF  # ideographs beyond the basic plane
        or char in "“”‘’…—·"  # the punctuation Chinese text shares with others
    )


def has_cjk(text: str) -> bool:
    """Whether ``text`` holds any Chinese (or Japanese, Korean) character."""
    return any(is_cjk(char) for char in text)


def _kept(text: str) -> list[bool]:
    """For each position ``i``: whether a break before ``text[i]`` falls inside a run that
    stays together."""
    inside = [False] * (len(text) + 1)
    for match in KEEP_TOGETHER.finditer(text):
        for index in range(match.start() + 1, match.end()):
            inside[index] = True
    return inside


def may_break(text: str, index: int, kept: list[bool] | None = None) -> bool:
    """Whether a line of ``text`` may end just before ``text[index]``."""
    if index <= 0 or index >= len(text):
        return False
    before, after = text[index - 1], text[index]
    if after.isspace():
        return False  # spaces stay at the end of the line they follow
    if after in NO_START or before in NO_END:
        return False
    if before in INSEPARABLE and after in INSEPARABLE:
        return False
    if (kept if kept is not None else _kept(text))[index]:
        return False
    if before.isspace():
        return True
    return is_cjk(before) or is_cjk(after)


def units(text: str) -> Iterator[tuple[int, int]]:
    """The runs of ``text`` between break opportunities, as ``(start, end)``; a run keeps
    the spaces that follow it."""
    kept = _kept(text)
    start = 0
    for index in range(1, len(text)):
        if may_break(text, index, kept):
            yield start, index
            start = index
    if text:
        yield start, len(text)


def break_offsets(text: str, width: int, fold: bool = True) -> list[int]:
    """Where to break ``text`` into lines of at most ``width`` cells: the index of the
    first character of each line after the first (``rich._wrap.divide_line``'s contract).

    A run longer than a whole line is folded by cells (``fold``) or left to overflow.
    """
    if not has_cjk(text):
        return divide_line(text, width, fold=fold)
    breaks: list[int] = []
    offset = 0  # cells used on the current line
    for start, end in units(text):
        unit = text[start:end]
        needed = cell_len(unit.rstrip())
        if offset + needed <= width:
            offset += cell_len(unit)
            continue
        if needed <= width or not fold:
            if offset and start:
                breaks.append(start)
            offset = cell_len(unit)
            continue
        # longer than a line: fold it by cells
        if offset and start:
            breaks.append(start)
        pieces = _fold(unit, max(2, width))
        for piece in pieces[:-1]:
            start += len(piece)
            breaks.append(start)
        offset = cell_len(pieces[-1])
    return breaks


def _fold(unit: str, width: int) -> list[str]:
    """``unit`` cut into pieces of at most ``width`` cells, a closing mark kept with the
    character before it where the piece has room to give it up."""
    pieces = chop_cells(unit, width)
    for index in range(1, len(pieces)):
        piece = pieces[index]
        before = pieces[index - 1]
        while piece and piece[0] in NO_START and len(before) > 1:
            piece, before = before[-1] + piece, before[:-1]
            if cell_len(piece) > width:  # pushing on would overflow this piece
                break
        if cell_len(piece) <= width:
            pieces[index - 1], pieces[index] = before, piece
    return [piece for piece in pieces if piece]


def wrap(text: str, width: int) -> list[str]:
    """``text`` broken into lines of at most ``width`` cells (trailing spaces dropped), for
    the tests and for text laid out outside Textual."""
    lines = []
    for line in text.split("\n"):
        cuts = [0, *break_offsets(line, width), len(line)]
        lines.extend(line[a:b].rstrip() for a, b in zip(cuts, cuts[1:], strict=False))
    return lines
