"""Webcam-like pictures of library cards and book labels, made on the fly (test equipment).

The demo's simulated camera, the tests and the benchmarks need pictures a cheap webcam
would take of a child holding up a card or a book: a real QR code or barcode printed on a
card (:func:`render_card`), held up in some pose (:class:`Pose`) in front of a cluttered
shelf (:func:`background`), under uneven light, out of focus, with sensor noise and the
JPEG compression of an MJPEG webcam (:func:`expose`). :func:`make_frame` does all of it
for one frame. The kiosk itself never draws a picture: nothing here is on its path.
"""

from __future__ import annotations

import dataclasses
import functools
import math
from dataclasses import dataclass

import cv2
import numpy as np


def _barcode_modules(code: str) -> tuple[str, str] | None:
    """The bar pattern ('1' = black module) and symbology for a digits-only code.

    A 13-digit code with a valid EAN check digit (an ISBN) is printed as EAN-13, any
    other run of digits as Code 128; ``None`` when python-barcode is not installed or the
    code is not digits (then the code is printed as a QR code).
    """
    if not code.isdigit() or not code.isascii():
        return None
    try:
        from barcode import EAN13, Code128  # type: ignore[import-untyped]
    except ImportError:
        return None
    if len(code) == 13:
        digits = [int(c) for c in code]
        check = (10 - sum(d * (3 if i % 2 else 1) for i, d in enumerate(digits[:12])) % 10) % 10
        if check == digits[12]:
            return EAN13(code[:12]).build()[0], "EAN13"
    return Code128(code).build()[0], "CODE128"


def _qr_modules(code: str) -> np.ndarray:
    """The QR code for ``code`` as a boolean matrix (True = black), quiet zone included."""
    import qrcode  # type: ignore[import-untyped]
    from qrcode.constants import ERROR_CORRECT_M  # type: ignore[import-untyped]

    qr = qrcode.QRCode(error_correction=ERROR_CORRECT_M, border=4)
    qr.add_data(code)
    qr.make(fit=True)
    return np.array(qr.get_matrix(), dtype=bool)


def _text(
    image: np.ndarray, text: str, org: tuple[int, int], size: float, shade: int, room: int = 0
) -> None:
    """Print ``text`` on ``image`` (a card's small print), smaller if it needs more than ``room`` px."""
    font = cv2.FONT_HERSHEY_SIMPLEX
    thickness = max(1, round(size * 2))
    if room > 0:
        width = cv2.getTextSize(text, font, size, thickness)[0][0]
        if width > room:
            size *= room / width
            thickness = max(1, round(size * 2))
    cv2.putText(image, text, org, font, size, (shade,) * 3, thickness, cv2.LINE_AA)


@functools.lru_cache(maxsize=64)
def render_card(code: str) -> np.ndarray:
    """A white card or label with ``code`` printed on it, as a BGR image (about 480 px wide).

    Card-like payloads become a library card: a QR code beside a few lines of text.
    Digits become a book label: the library's name, the barcode and the digits under it.
    """
    bars = _barcode_modules(code)
    if bars is not None:
        pattern, symbology = bars
        card = bar_label(pattern, code, "I287.45" if symbology == "CODE128" else None)
    else:
        card = qr_card(_qr_modules(code))
    card.flags.writeable = False  # cached: shared by every frame that shows it
    return card


def bar_label(
    pattern: str, caption: str, note: str | None = None, module: int = 4, quiet: int = 10
) -> np.ndarray:
    """A book label: "SCHOOL LIBRARY", the bars of ``pattern`` ('1' = black), ``caption`` under.

    ``note`` is printed top right (a shelf mark); ``quiet`` modules of white on each side
    (EAN-13 asks for 11 on the left, 7 on the right).
    """
    width = (len(pattern) + 2 * quiet) * module + 24
    height = int(width * 0.55)
    card = np.full((height, width, 3), 250, np.uint8)
    row = np.array([c == "1" for c in pattern], dtype=bool)
    bar_w = len(row) * module
    left = (width - bar_w) // 2
    top, bottom = int(height * 0.22), int(height * 0.78)
    strip = np.repeat(row, module)
    card[top:bottom, left : left + bar_w][:, strip] = 20
    _text(card, "SCHOOL LIBRARY", (left, int(height * 0.15)), 0.8, 60)
    at = left + bar_w // 4
    _text(card, caption, (at, int(height * 0.93)), 1.1, 30, width - at)
    if note:
        _text(card, note, (width - 130, int(height * 0.15)), 0.7, 90)
    return card


def qr_card(matrix: np.ndarray) -> np.ndarray:
    """A library card (86 x 54 mm proportions): the QR code ``matrix`` beside its small print."""
    module = max(4, 240 // len(matrix))
    qr = np.where(np.repeat(np.repeat(matrix, module, 0), module, 1), 20, 250).astype(np.uint8)
    side = qr.shape[0]
    height = side + 40
    width = int(height * 1.586)  # an ID-1 card: 86 x 54 mm
    card = np.full((height, width, 3), 250, np.uint8)
    card[20 : 20 + side, 12 : 12 + side] = qr[:, :, None]
    x = 12 + side + 10
    room = width - x - 14
    _text(card, "LIBRARY CARD", (x, 60), 0.9, 40, room)
    _text(card, "Name ________", (x, 130), 0.75, 90, room)
    _text(card, "Class ______", (x, 180), 0.75, 90, room)
    _text(card, "Return books on time", (x, height - 40), 0.5, 110, room)
    cv2.rectangle(card, (x, 80), (width - 20, 86), (60, 120, 200), -1)
    return card


def background(size: tuple[int, int], rng: np.random.Generator) -> np.ndarray:
    """A cluttered, textured scene: blotchy light, shelves of book spines, a desk edge."""
    width, height = size
    cells = (max(2, height // 40), max(2, width // 40), 1)
    wall = (
        rng.uniform(70, 200, cells)
        + rng.uniform(-15, 15, (1, 1, 3))
        + rng.normal(0, 6, cells[:2] + (3,))
    )
    scene = cv2.resize(wall.astype(np.float32), (width, height), interpolation=cv2.INTER_CUBIC)
    x = 0
    top = int(rng.uniform(0.05, 0.3) * height)
    shelf = int(rng.uniform(0.45, 0.7) * height)
    while x < width:  # book spines on a shelf
        spine = int(rng.uniform(8, 40))
        colour = rng.uniform(30, 220, 3)
        spine_top = top + int(rng.uniform(0, 0.15) * height)
        cv2.rectangle(scene, (x, spine_top), (x + spine - 2, shelf), colour.tolist(), -1)
        x += spine
    cv2.rectangle(scene, (0, shelf), (width, shelf + 12), (70, 90, 120), -1)
    desk = int(rng.uniform(0.8, 0.95) * height)
    cv2.rectangle(scene, (0, desk), (width, height), rng.uniform(90, 170, 3).tolist(), -1)
    grain = rng.normal(0, 10, (height // 2, width // 2, 1)).astype(np.float32)
    scene = scene + np.asarray(cv2.resize(grain, (width, height)))[:, :, None]
    return np.clip(scene, 0, 255).astype(np.uint8)


@dataclass(frozen=True)
class Pose:
    """Where a card is held: out-of-plane tilt, its axis, in-plane turn, size and centre."""

    tilt: float  # degrees away from facing the camera
    axis: float  # direction (degrees) of the axis the card is tilted about
    turn: float  # in-plane rotation, degrees
    scale: float  # card width / frame width, before tilting
    x: float  # centre, as a fraction of the free room across (0..1)
    y: float

    @classmethod
    def random(cls, tilt: float, scale: float, rng: np.random.Generator) -> Pose:
        """A pose with the given tilt and a random axis, turn and place."""
        return cls(
            tilt=tilt,
            axis=float(rng.uniform(0, 180)),
            turn=float(rng.uniform(-15, 15)),
            scale=scale,
            x=float(rng.uniform(0, 1)),
            y=float(rng.uniform(0, 1)),
        )

    def jitter(self, rng: np.random.Generator) -> Pose:
        """The same pose a moment later, moved a little by a hand."""
        return dataclasses.replace(
            self,
            tilt=max(0.0, self.tilt + float(rng.normal(0, 1.0))),
            turn=self.turn + float(rng.normal(0, 0.7)),
            x=min(1.0, max(0.0, self.x + float(rng.normal(0, 0.01)))),
            y=min(1.0, max(0.0, self.y + float(rng.normal(0, 0.01)))),
        )


def corners(card_shape: tuple[int, ...], pose: Pose, size: tuple[int, int]) -> np.ndarray:
    """The card's four corners in the frame, seen through a pinhole camera (~62 deg wide)."""
    width, height = size
    card_h, card_w = card_shape[:2]
    focal = 0.85 * width
    half_w = pose.scale * width / 2
    half_h = half_w * card_h / card_w
    axis = math.radians(pose.axis)
    rotation_vector = np.array([math.cos(axis), math.sin(axis), 0.0]) * math.radians(pose.tilt)
    tilt, _ = cv2.Rodrigues(rotation_vector)
    turn = math.radians(pose.turn)
    spin = np.array(
        [[math.cos(turn), -math.sin(turn), 0], [math.sin(turn), math.cos(turn), 0], [0, 0, 1]]
    )
    flat = np.array([[-half_w, -half_h, 0], [half_w, -half_h, 0], [half_w, half_h, 0],
                     [-half_w, half_h, 0]])  # fmt: skip
    points = flat @ (spin @ tilt).T + np.array([0.0, 0.0, focal])
    projected = points[:, :2] * (focal / points[:, 2:3])
    low, high = projected.min(0), projected.max(0)
    room = np.array([width, height], float) - (high - low) - 8
    shrink = 1.0
    if (room < 0).any():  # too big to fit: hold it further away
        shrink = float(min((np.array([width, height]) - 8) / (high - low)))
        projected *= shrink
        low, high = low * shrink, high * shrink
        room = np.maximum(np.array([width, height], float) - (high - low) - 8, 0)
    offset = 4 + room * np.array([pose.x, pose.y]) - low
    return (projected + offset).astype(np.float32)


def place(scene: np.ndarray, card: np.ndarray, pose: Pose) -> np.ndarray:
    """``scene`` with ``card`` held up in front of it in ``pose`` (a new image)."""
    height, width = scene.shape[:2]
    return place_at(scene, card, corners(card.shape, pose, (width, height)))


def place_at(
    scene: np.ndarray, card: np.ndarray, quad: np.ndarray, smear: np.ndarray | None = None
) -> np.ndarray:
    """``scene`` with ``card`` warped onto the four points ``quad`` (a new image).

    ``smear`` is a motion-blur kernel applied to the card alone (it moved, the shelf
    behind it did not).
    """
    height, width = scene.shape[:2]
    card_h, card_w = card.shape[:2]
    source = np.array([[0, 0], [card_w, 0], [card_w, card_h], [0, card_h]], np.float32)
    matrix = cv2.getPerspectiveTransform(source, quad.astype(np.float32))
    warped = cv2.warpPerspective(card, matrix, (width, height), flags=cv2.INTER_LINEAR)
    mask = cv2.warpPerspective(
        np.full((card_h, card_w), 255, np.uint8), matrix, (width, height), flags=cv2.INTER_LINEAR
    )
    if smear is not None:  # the warped card is black around it: smeared, it stays weighted
        warped = cv2.filter2D(warped.astype(np.float32), -1, smear)
        alpha = (cv2.filter2D(mask.astype(np.float32), -1, smear) / 255.0)[:, :, None]
        return np.clip(warped + scene * (1.0 - alpha), 0, 255).astype(np.uint8)
    alpha = (mask.astype(np.float32) / 255.0)[:, :, None]
    return (warped * alpha + scene * (1.0 - alpha)).astype(np.uint8)


def motion_kernel(length: float, degrees: float) -> np.ndarray:
    """A line of ``length`` px at ``degrees``: the smear of a hand moving during exposure."""
    size = int(np.ceil(length)) | 1
    kernel = np.zeros((size, size), np.float32)
    centre = size // 2
    dx, dy = math.cos(math.radians(degrees)), math.sin(math.radians(degrees))
    half_x, half_y = dx * length / 2, dy * length / 2
    start = (round(centre - half_x), round(centre - half_y))
    cv2.line(kernel, start, (round(centre + half_x), round(centre + half_y)), 1.0, 1)
    return kernel / max(float(kernel.sum()), 1.0)


def lighting(size: tuple[int, int], rng: np.random.Generator) -> tuple[np.ndarray, float, float]:
    """Uneven light across the frame, and the exposure's contrast and brightness."""
    width, height = size
    gx, gy = rng.uniform(-0.2, 0.2, 2)
    xs = np.linspace(-0.5, 0.5, width, dtype=np.float32)
    ys = np.linspace(-0.5, 0.5, height, dtype=np.float32)
    field = 1.0 + gx * xs[None, :] + gy * ys[:, None]
    return field[:, :, None], float(rng.uniform(0.75, 1.15)), float(rng.uniform(-25, 25))


def expose(
    image: np.ndarray,
    light: tuple[np.ndarray | float, float, float],
    blur: float,
    noise: np.ndarray | None,
    jpeg_quality: int,
) -> np.ndarray:
    """What the sensor makes of ``image``: light, focus blur, sensor noise, MJPEG artefacts."""
    field, contrast, brightness = light
    out: np.ndarray = image.astype(np.float32) * field * contrast + brightness
    if blur > 0:
        out = np.asarray(cv2.GaussianBlur(out, (0, 0), blur))
    if noise is not None:
        out += noise
    frame = np.clip(out, 0, 255).astype(np.uint8)
    ok, encoded = cv2.imencode(".jpg", frame, [cv2.IMWRITE_JPEG_QUALITY, jpeg_quality])
    decoded = cv2.imdecode(encoded, cv2.IMREAD_COLOR) if ok else None
    return frame if decoded is None else np.asarray(decoded)


def make_frame(
    code: str | None,
    *,
    size: tuple[int, int] = (640, 480),
    tilt: float = 0.0,
    blur: float = 1.0,
    noise: float = 8.0,
    scale: float = 0.45,
    rng: np.random.Generator | int | None = None,
) -> np.ndarray:
    """One webcam-like BGR frame of a card or label with ``code``, for tests and benches.

    The card (see :func:`render_card`; ``None`` or ``""`` shows no card) is ``scale`` of
    the frame's width, tilted ``tilt`` degrees out of the camera's plane about a random
    axis, turned up to 15 degrees and put anywhere it fits, in front of a cluttered
    scene; then uneven light, exposure, a gaussian blur of ``blur`` pixels (sigma), sensor
    noise of ``noise`` grey levels (sigma) and the JPEG compression of an MJPEG webcam.
    """
    rng = rng if isinstance(rng, np.random.Generator) else np.random.default_rng(rng)
    scene = background(size, rng)
    if code:
        scene = place(scene, render_card(code), Pose.random(tilt, scale, rng))
    width, height = size
    grain = rng.standard_normal((height, width, 3), np.float32) * noise if noise > 0 else None
    return expose(scene, lighting(size, rng), blur, grain, int(rng.integers(70, 92)))
