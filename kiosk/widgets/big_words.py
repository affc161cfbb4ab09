"""Big words: a shelf's code in block letters five lines high, read from across the room.

A helper returning a pile of books looks up from the scanner for a moment: the shelf a
book goes to ("I", "K", "TP3") is drawn in a 3×5 block font, each dot two cells wide, so
it reads at a glance. Words the font has no letters for (Chinese) and words too wide for
the box are shown as they are, in bold: never cut, never wrong.
"""

from __future__ import annotations

from rich.text import Text
from textual.widgets import Static

FONT: dict[str, tuple[str, ...]] = {
    "A": ("###", "#.#", "###", "#.#", "#.#"), "B": ("##.", "#.#", "##.", "#.#", "##."),
    "C": ("###", "#..", "#..", "#..", "###"), "D": ("##.", "#.#", "#.#", "#.#", "##."),
    "E": ("###", "#..", "##.", "#..", "###"), "F": ("###", "#..", "##.", "#..", "#.."),
    "G": ("###", "#..", "#.#", "#.#", "###"), "H": ("#.#", "#.#", "###", "#.#", "#.#"),
    "I": ("###", ".#.", ".#.", ".#.", "###"), "J": ("..#", "..#", "..#", "#.#", "###"),
    "K": ("#.#", "#.#", "##.", "#.#", "#.#"), "L": ("#..", "#..", "#..", "#..", "###"),
    "M": ("#.#", "###", "###", "#.#", "#.#"), "N": ("##.", "#.#", "#.#", "#.#", "#.#"),
    "O": ("###", "#.#", "#.#", "#.#", "###"), "P": ("###", "#.#", "###", "#..", "#.."),
    "Q": ("###", "#.#", "#.#", "###", "..#"), "R": ("##.", "#.#", "##.", "#.#", "#.#"),
    "S": ("###", "#..", "###", "..#", "###"), "T": ("###", ".#.", ".#.", ".#.", ".#."),
    "U": ("#.#", "#.#", "#.#", "#.#", "###"), "V": ("#.#", "#.#", "#.#", "#.#", ".#."),
    "W": ("#.#", "#.#", "###", "###", "#.#"), "X": ("#.#", "#.#", ".#.", "#.#", "#.#"),
    "Y": ("#.#", "#.#", ".#.", ".#.", ".#."), "Z": ("###", "..#", ".#.", "#..", "###"),
    "0": ("###", "#.#", "#.#", "#.#", "###"), "1": (".#.", "##.", ".#.", ".#.", "###"),
    "2": ("###", "..#", "###", "#..", "###"), "3": ("###", "..#", "###", "..#", "###"),
    "4": ("#.#", "#.#", "###", "..#", "..#"), "5": ("###", "#..", "###", "..#", "###"),
    "6": ("###", "#..", "###", "#.#", "###"), "7": ("###", "..#", "..#", "..#", "..#"),
    "8": ("###", "#.#", "###", "#.#", "###"), "9": ("###", "#.#", "###", "..#", "###"),
    "-": ("...", "...", "###", "...", "..."), ".": ("...", "...", "...", "...", ".#."),
    "/": ("..#", "..#", ".#.", "#..", "#.."), " ": ("...", "...", "...", "...", "..."),
}
"""Each character as five rows of three dots (``#`` ink, ``.`` paper)."""

HEIGHT = 5
"""Lines the block letters take."""


def block_letters(words: str) -> list[str] | None:
    """``words`` in block letters (five lines), or None when the font lacks a letter."""
    letters = [FONT.get(char) for char in words.upper()]
    if not letters or any(letter is None for letter in letters):
        return None
    lines = []
    for row in range(HEIGHT):
        dots = " ".join(letter[row] for letter in letters if letter is not None)
        lines.append("".join("██" if dot == "#" else "  " for dot in dots).rstrip())
    return lines


class BigWords(Static):
    """A few words as big as the box allows: block letters, else bold text."""

    ROOM = 0.5
    """The share of its container's width the box may take beside the message."""
    PADDING = 2
    """Columns of padding on each side of the letters."""

    DEFAULT_CSS = """
    BigWords { width: auto; max-width: 50%; height: auto; min-height: 5; padding: 0 2;
               text-style: bold; content-align: center middle; }
    """

    def __init__(self, **kwargs: object) -> None:
        super().__init__("", markup=False, **kwargs)  # type: ignore[arg-type]
        self.words = ""
        self.big = False
        """Whether the words are drawn in block letters (else as plain bold text)."""

    def show(self, words: str) -> None:
        """Show ``words`` (a shelf code, a destination), big where they fit."""
        self.words = words
        self._draw()

    def on_resize(self) -> None:
        self._draw()

    def _draw(self) -> None:
        lines = block_letters(self.words)
        # the room the box may take: its share of its container (the letters set its width)
        parent = self.parent
        whole = parent.content_size.width if parent is not None else self.app.size.width
        room = int(whole * self.ROOM) - 2 * self.PADDING
        self.big = bool(lines) and max(len(line) for line in lines or [""]) <= room
        text = "\n".join(lines) if self.big and lines else self.words
        self.update(Text(text, no_wrap=self.big))
