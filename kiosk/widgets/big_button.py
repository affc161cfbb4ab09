"""The kiosk's buttons: large, clicked or touched, never focused."""

from __future__ import annotations

from textual.content import Content
from textual.widgets import Button

from kiosk.locale import key_name


class BigButton(Button, can_focus=False):
    """A button that works by touch or mouse and never takes the keyboard focus.

    The focus must stay in the scan field: a focused button would swallow a
    scanner's keys, and the scanner's Enter would press it. For a kiosk with a
    keyboard and no touch screen, ``key`` names the function key that presses it
    (bound by the screen) and is shown on the button as its keycap reads (``Esc``,
    ``F3``), in every language.

    The label is plain text, never markup: it may hold a class or shelf name from an
    imported roster (``3[A]`` stays ``3[A]``, and ``[/b]`` cannot break the screen).
    """

    def __init__(self, label: str, *, key: str = "", **kwargs: object) -> None:
        text = f"{label}  {key_name(key)}" if key else label
        super().__init__(Content(text), **kwargs)  # type: ignore[arg-type]
        self.key = key

    DEFAULT_CSS = """
    BigButton { min-width: 16; height: 3; margin: 0 2; text-style: bold; }
    """
