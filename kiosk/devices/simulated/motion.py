"""Short webcam videos of a child holding a card or a book up (test equipment).

What a child feels is the time from holding a code up to the kiosk's "Read!". These
sequences make that measurable: a card or a book label moves into view (smeared by its
motion), is held there by an unsteady hand, while the camera's autofocus hunts or its
exposure settles after a change of light. Each :class:`Sequence` knows the first frame
in which the code is entirely in the picture, the moment the clock starts.
:class:`SequenceSource` plays one to the real :class:`~kiosk.devices.camera.Camera` at
the webcam's frame rate, in real time.
"""

from __future__ import annotations

import math
from collections.abc import Iterator
from dataclasses import dataclass

import cv2
import numpy as np

from kiosk.devices.camera import CameraUnavailable
from kiosk.devices.simulated.photos import BASE32
from kiosk.devices.simulated.scene import (
    Pose,
    background,
    bar_label,
    corners,
    motion_kernel,
    place_at,
    render_card,
)
from kiosk.devices.simulated.sources import StreamSource

KINDS = ("card", "book", "focus", "light")
"""A card held up; a book's label (turned up to 30 degrees); either while autofocus
hunts; either while the exposure settles after the light changed."""

FPS = 15.0
"""The webcam's frame rate (a cheap one indoors)."""


@dataclass(frozen=True)
class Sequence:
    """One short video: its frames, and the first frame with the code fully in view."""

    kind: str
    name: str
    text: str
    frames: list[np.ndarray]
    in_view: int
    fps: float = FPS


def sequences(count: int, seed: int = 0) -> Iterator[Sequence]:
    """``count`` sequences, the kinds in turn, made from ``seed`` onwards."""
    for index in range(count):
        yield make_sequence(KINDS[index % len(KINDS)], seed + index)


def make_sequence(kind: str, seed: int, size: tuple[int, int] = (640, 480)) -> Sequence:
    """A sequence of ``kind`` (see :data:`KINDS`): about 1 s of approach and 3.5 s held."""
    rng = np.random.default_rng(seed)
    width, height = size
    scene = background(size, rng)
    book = kind == "book" or (kind in ("focus", "light") and rng.random() < 0.5)
    if book:
        body = "978" + "".join(str(int(d)) for d in rng.integers(0, 10, 9))
        from barcode import EAN13  # type: ignore[import-untyped]

        text = EAN13(body).get_fullcode()
        card = bar_label(EAN13(body).build()[0], text, "I287.45", 3)
        pose = Pose(tilt=float(rng.uniform(0, 30)), axis=float(rng.uniform(0, 180)),
                    turn=float(rng.uniform(-30, 30)), scale=float(rng.uniform(0.45, 0.7)),
                    x=float(rng.uniform(0.2, 0.8)), y=float(rng.uniform(0.2, 0.8)))  # fmt: skip
    else:
        number = f"{int(rng.integers(2015, 2026))}{int(rng.integers(0, 10**6)):06d}"
        text = f"LK.{number}.1.{''.join(BASE32[int(i)] for i in rng.integers(0, 32, 16))}"
        card = render_card(text)
        pose = Pose(tilt=float(rng.uniform(0, 35)), axis=float(rng.uniform(0, 180)),
                    turn=float(rng.uniform(-15, 15)), scale=float(rng.uniform(0.35, 0.55)),
                    x=float(rng.uniform(0.2, 0.8)), y=float(rng.uniform(0.2, 0.8)))  # fmt: skip
    target = corners(card.shape, pose, size)
    # it comes in from below or from a side, over 0.3 to 0.7 s, slowing down as it arrives
    direction = float(rng.choice([90.0, 0.0, 180.0, 60.0, 120.0]))
    distance = max(width, height) * 0.9
    start = np.array([-math.cos(math.radians(direction)), math.sin(math.radians(direction))])
    lead = int(rng.integers(3, 8))  # frames of empty shelf first
    approach = int(FPS * float(rng.uniform(0.3, 0.7)))
    held = int(FPS * 3.6)
    settle = float(rng.uniform(0.4, 1.0)) * FPS  # frames the autofocus or exposure needs
    focus_from = float(rng.uniform(2.5, 5.0))
    light_from = float(rng.choice([0.35, 1.8]))
    grain = [rng.normal(0, 6, (height + 16, width + 16, 3)).astype(np.float32) for _ in range(3)]
    frames: list[np.ndarray] = []
    in_view = -1
    offset = np.zeros(2)
    previous = None
    for index in range(lead + approach + held):
        moment = index - lead
        if moment < 0:
            quad = None
        else:
            progress = min(1.0, (moment + 1) / approach)
            remaining = (1.0 - progress) ** 2  # eases in
            if progress >= 1.0:  # held: an unsteady hand
                offset = offset + rng.normal(0, 0.8, 2)
            else:
                offset = start * distance * remaining
            quad = target + offset.astype(np.float32)
        smear = None
        if quad is not None and previous is not None:
            step = quad.mean(0) - previous.mean(0)
            length = float(np.hypot(*step)) * 0.5  # the shutter is open half the frame time
            if length >= 2:
                smear = motion_kernel(length, math.degrees(math.atan2(step[1], step[0])))
        frame = scene if quad is None else place_at(scene, card, quad, smear)
        previous = quad
        arrived = quad is not None and moment >= approach - 1
        if in_view < 0 and quad is not None and _inside(quad, size):
            in_view = index
        since = max(0.0, moment - approach + 1) if arrived else 0.0
        sigma, gain = 0.8, 1.0
        if kind == "focus" and arrived and since < settle:  # hunting: blurred, swinging back
            sigma = 0.8 + focus_from * (1 - since / settle) * abs(math.cos(since * 1.3))
        if kind == "light":
            settled = min(1.0, since / settle) if arrived else 0.0
            gain = light_from + (1 - light_from) * settled
        frames.append(_expose(frame, sigma, gain, grain[index % 3], index % 16, rng))
    return Sequence(kind, f"{kind}-{seed}", text, frames, max(in_view, lead + approach - 1))


def _inside(quad: np.ndarray, size: tuple[int, int]) -> bool:
    """Whether every corner of ``quad`` is inside the frame."""
    width, height = size
    return bool((quad[:, 0] >= 0).all() and (quad[:, 0] < width).all()
                and (quad[:, 1] >= 0).all() and (quad[:, 1] < height).all())  # fmt: skip


def _expose(
    frame: np.ndarray,
    sigma: float,
    gain: float,
    grain: np.ndarray,
    shift: int,
    rng: np.random.Generator,
) -> np.ndarray:
    """The sensor's picture: focus blur, exposure gain, noise, MJPEG compression."""
    out = cv2.GaussianBlur(frame.astype(np.float32), (0, 0), sigma) * gain
    height, width = frame.shape[:2]
    out += grain[shift : shift + height, shift : shift + width] * (1.5 if gain < 0.6 else 1.0)
    image = np.clip(out, 0, 255).astype(np.uint8)
    ok, encoded = cv2.imencode(".jpg", image, [cv2.IMWRITE_JPEG_QUALITY, int(rng.integers(70, 90))])
    return np.asarray(cv2.imdecode(encoded, cv2.IMREAD_COLOR)) if ok else image


class SequenceSource(StreamSource):
    """Plays a :class:`Sequence` in real time, then ends (``read`` gives ``None``)."""

    def __init__(self, sequence: Sequence) -> None:
        super().__init__(sequence.fps, realtime=True)
        self.sequence = sequence
        self.name = f"sequence {sequence.name}"
        self.opened_at = 0.0

    def open(self) -> None:
        """Frame 0 is now."""
        if not self.sequence.frames:
            raise CameraUnavailable(f"{self.name} has no frames")
        self._restart_clock()
        self.opened_at = self._origin

    def read(self) -> np.ndarray | None:
        """The frame due now (frames the reader was too slow for are skipped)."""
        index = self._next_index()
        frames = self.sequence.frames
        return frames[index] if index < len(frames) else None

    def time_of(self, index: int) -> float:
        """When frame ``index`` was shown, on the monotonic clock."""
        return self.opened_at + index / self.fps
