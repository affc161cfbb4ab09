"""What the camera sees, in half-block characters, with the code it found outlined."""

from __future__ import annotations

import re
from collections.abc import Sequence

import cv2
import numpy as np
from rich.color import Color
from rich.segment import Segment
from rich.style import Style
from textual.strip import Strip
from textual.widget import Widget

from kiosk.locale import t

Polygon = Sequence[tuple[int, int]]

SEEN_SECONDS = 1.2
"""How long the preview shows the green "seen" signal after a scan."""

_OUTLINE = (0, 230, 0)  # BGR green


class CameraPreview(Widget):
    """A small live picture from the camera: two pixels a character cell (``▀``).

    The app sets :meth:`show` with each preview frame (a downscaled BGR image and
    the outlines of the codes found in it, in that image's coordinates) and
    :meth:`seen` when a scan was read; while the camera is away the preview says so
    calmly instead, and the kiosk goes on working with the scanner.
    """

    DEFAULT_CSS = """
    CameraPreview {
        width: 34; height: 11;
        border: round $primary-lighten-1;
        border-title-align: center;
        color: $text-muted;
    }
    CameraPreview.-seen { border: heavy $success; border-title-color: $success; }
    CameraPreview.-away { border: round $warning-darken-1; }
    """

    def __init__(self, **kwargs: object) -> None:
        super().__init__(**kwargs)  # type: ignore[arg-type]
        self._frame: np.ndarray | None = None
        self._outlines: list[Polygon] = []
        self._strips: list[Strip] = []
        self._message = t("camera.starting")
        self._seen_timer = None
        self.frames_shown = 0

    def on_mount(self) -> None:
        self.border_title = t("camera.title")

    def show(self, frame: np.ndarray, outlines: Sequence[Polygon] = ()) -> None:
        """Draw a new frame with the given code outlines."""
        self._frame, self._outlines = frame, list(outlines)
        self._message = ""
        self.remove_class("-away")
        self._strips = []
        self.frames_shown += 1
        self.refresh()

    def away(self, message: str) -> None:
        """No picture: say why, calmly (the camera is starting, or unplugged)."""
        self._frame, self._message, self._strips = None, message, []
        self.add_class("-away")
        self.refresh()

    def seen(self) -> None:
        """The green "read it" signal, for a moment."""
        self.add_class("-seen")
        self.border_title = t("camera.seen")
        if self._seen_timer is not None:
            self._seen_timer.stop()
        self._seen_timer = self.set_timer(SEEN_SECONDS, self._unseen)

    def _unseen(self) -> None:
        self.remove_class("-seen")
        self.border_title = t("camera.title")

    def on_resize(self) -> None:
        self._strips = []

    def render_line(self, y: int) -> Strip:
        width, height = self.content_size
        if width <= 0 or height <= 0:
            return Strip.blank(width)
        if self._frame is None:
            return self._text_line(y, width, height)
        if len(self._strips) != height:
            self._strips = _half_blocks(self._frame, self._outlines, width, height)
        return self._strips[y] if y < len(self._strips) else Strip.blank(width)

    def _text_line(self, y: int, width: int, height: int) -> Strip:
        words = _wrap(self._message, width)
        top = max(0, (height - len(words)) // 2)
        if top <= y < top + len(words):
            line = words[y - top]
            pad = max(0, (width - _cells(line)) // 2)
            return Strip([Segment(" " * pad + line)]).adjust_cell_length(width)
        return Strip.blank(width)


def _half_blocks(
    frame: np.ndarray, outlines: Sequence[Polygon], width: int, height: int
) -> list[Strip]:
    """The frame scaled to ``width`` x ``2*height`` pixels, as rows of ``▀`` cells."""
    source_h, source_w = frame.shape[:2]
    image = frame if frame.ndim == 3 else cv2.cvtColor(frame, cv2.COLOR_GRAY2BGR)
    small = cv2.resize(image, (width, height * 2), interpolation=cv2.INTER_AREA)
    scale_x, scale_y = width / max(1, source_w), height * 2 / max(1, source_h)
    for outline in outlines:
        points = np.array(
            [(round(x * scale_x), round(y * scale_y)) for x, y in outline], dtype=np.int32
        )
        if len(points) >= 2:
            cv2.polylines(small, [points], isClosed=True, color=_OUTLINE, thickness=1)
        elif len(points) == 1:
            cv2.circle(small, tuple(int(v) for v in points[0]), 1, _OUTLINE, -1)
    # 16 levels a channel: a preview needs no more, and few distinct colours keep the
    # styles cached and the terminal output short.
    rgb = (small[:, :, ::-1] >> 4).astype(np.int32)
    codes = (rgb[:, :, 0] << 8) | (rgb[:, :, 1] << 4) | rgb[:, :, 2]
    strips = []
    for row in range(height):
        segments = [
            Segment("▀", _style(int(top), int(bottom)))
            for top, bottom in zip(codes[2 * row], codes[2 * row + 1])
        ]
        strips.append(Strip(segments, width).simplify())
    return strips


_STYLES: dict[tuple[int, int], Style] = {}


def _colour(code: int) -> Color:
    red, green, blue = (code >> 8) & 15, (code >> 4) & 15, code & 15
    return Color.from_rgb(red * 17, green * 17, blue * 17)


def _style(top: int, bottom: int) -> Style:
    """The ``▀`` style for two 12-bit colours (cached: a preview reuses few of them)."""
    style = _STYLES.get((top, bottom))
    if style is None:
        if len(_STYLES) > 65_536:
            _STYLES.clear()
        style = _STYLES[(top, bottom)] = Style(color=_colour(top), bgcolor=_colour(bottom))
    return style


def _cells(text: str) -> int:
    from rich.cells import cell_len

    return cell_len(text)


_TOKENS = re.compile(r"[\u3000-\u9fff\uff00-\uffef]|[^\s\u3000-\u9fff\uff00-\uffef]+\s*|\s+")


def _wrap(text: str, width: int) -> list[str]:
    """``text`` in lines of at most ``width`` cells: English breaks between words,
    Chinese between characters (which are two cells wide)."""
    lines: list[str] = []
    for paragraph in text.splitlines() or [""]:
        line = ""
        for token in _TOKENS.findall(paragraph):
            if line and _cells(line + token.rstrip()) > width:
                lines.append(line.rstrip())
                line = token.lstrip()
            else:
                line += token
            while _cells(line) > width:  # a word longer than the line
                lines.append(line[:width])
                line = line[width:]
        lines.append(line.rstrip())
    return lines
