"""Hard, varied photos of codes (and of look-alike scenes without any), made from seeds.

The real-photo corpus (``shared/corpus/real-dev``) is read 59/59 and no longer tells a
better decoder from a worse one. These photos are made as hard as real ones get: QR
cards in GB18030, Shift_JIS, Big5 or UTF-8 (with and without an ECI), small codes,
defocus and motion blur, 1D codes tilted and turned, glare, low light, heavy JPEG,
perspective, and scenes that look like codes but hold none (striped spines, printed
lines, tiled patterns, cards without a code). Nothing is stored: a split and a count
make the same photos again.

Two splits, made with different seeds *and* different recipes (:data:`SPLITS`):
``tune`` is the one to look at while choosing; ``held-out`` is only measured, to say
whether a choice made on ``tune`` holds on photos it was not chosen on.
"""

from __future__ import annotations

import dataclasses
import string
from collections.abc import Iterator
from dataclasses import dataclass

import cv2
import numpy as np

from kiosk.devices.simulated.scene import (
    Pose,
    background,
    bar_label,
    motion_kernel,
    place,
    qr_card,
)

KINDS = ("qr", "qr-charset", "ean13", "code128", "code39", "nocode")
"""The kinds of photo, each a folder of the benchmark's report."""


@dataclass(frozen=True)
class Photo:
    """One generated photo: its kind, a name, the BGR picture and the text in it (``None``: none).

    ``conditions`` records how it was made (module size, tilt, blur...), to tell which
    conditions the misses have in common.
    """

    kind: str
    name: str
    image: np.ndarray
    text: str | None
    conditions: dict[str, float] = dataclasses.field(default_factory=dict)


@dataclass(frozen=True)
class Recipe:
    """How hard a split's photos are: the ranges every photo's parameters are drawn from.

    Sizes, blur and motion are in units of the code's module (its narrowest bar, or
    one square of a QR code) as the camera sees it, facing it: what makes a code hard
    to read is how few pixels it gets and how far they are smeared.
    """

    sizes: tuple[tuple[int, int], ...]  # frame sizes (a webcam's and a phone's)
    qr_px: tuple[float, float]  # pixels per QR module
    bar_px: tuple[float, float]  # pixels per narrow bar
    tilt: float  # most degrees out of the camera's plane
    turn: float  # most degrees turned in the plane
    blur: tuple[float, float]  # defocus sigma, in modules
    motion: float  # most motion blur, in modules (half the photos have none)
    noise: tuple[float, float]  # sensor noise sigma, grey levels
    jpeg: tuple[int, int]  # JPEG quality
    glare: float  # share of photos with a glare spot
    dark: float  # share of photos in low light
    mix: tuple[float, ...]  # share of each of :data:`KINDS`


TUNE = Recipe(
    sizes=((640, 480), (1280, 720), (960, 1280)),
    qr_px=(1.6, 7.0),
    bar_px=(1.2, 4.0),
    tilt=50.0,
    turn=40.0,
    blur=(0.05, 0.35),
    motion=1.0,
    noise=(2.0, 10.0),
    jpeg=(35, 92),
    glare=0.25,
    dark=0.2,
    mix=(0.2, 0.15, 0.2, 0.15, 0.1, 0.2),
)
"""The photos to tune on."""

HELD_OUT = Recipe(
    sizes=((640, 480), (800, 600), (1920, 1080), (1080, 1440)),
    qr_px=(1.5, 8.0),
    bar_px=(1.1, 4.5),
    tilt=55.0,
    turn=90.0,
    blur=(0.03, 0.4),
    motion=1.2,
    noise=(1.0, 12.0),
    jpeg=(30, 95),
    glare=0.3,
    dark=0.25,
    mix=(0.18, 0.17, 0.2, 0.15, 0.1, 0.2),
)
"""Harder in places, differently mixed, from other seeds: never looked at while choosing."""

SPLITS = {"tune": (TUNE, 1_000), "held-out": (HELD_OUT, 7_000_000)}
"""Split name -> its recipe and the first seed of its photos."""

BASE32 = string.ascii_uppercase + "234567"

NAMES = {  # what a card in another charset says: a pupil's name and class, a book
    "gb18030": ["借书卡 王小明 三年二班", "鲁迅", "李娜 五年级", "图书馆 张伟", "草房子"],
    "shift_jis": ["図書カード 山田太郎", "佐藤花子 3年", "こんにちは", "吾輩は猫である"],
    "big5": ["借書證 陳大文 三年二班", "圖書館 林志明", "學生證 張偉"],
    "utf-8": ["借书卡 王小明", "Müller Zoë", "刘洋 四年级 2班"],
}


def photos(split: str, count: int, start: int = 0) -> Iterator[Photo]:
    """``count`` photos of ``split`` (see :data:`SPLITS`), from its ``start``-th on."""
    recipe, first_seed = SPLITS[split]
    for index in range(start, start + count):
        yield make_photo(recipe, first_seed + index, f"{split}-{index:04d}")


def make_photo(recipe: Recipe, seed: int, name: str) -> Photo:
    """One photo drawn from ``recipe`` with ``seed``."""
    rng = np.random.default_rng(seed)
    kind = KINDS[int(rng.choice(len(KINDS), p=np.array(recipe.mix) / sum(recipe.mix)))]
    size = recipe.sizes[int(rng.integers(len(recipe.sizes)))]
    scene = background(size, rng)
    _lookalikes(scene, rng, int(rng.integers(0, 3)))
    text: str | None = None
    module_px = float(rng.uniform(*(recipe.qr_px if kind.startswith("qr") else recipe.bar_px)))
    conditions = {"module_px": module_px}
    if kind == "nocode":
        if rng.random() < 0.5:  # a card or label held up, without any code on it
            scene = place(scene, _blank_card(rng), _pose(recipe, rng, 0.3, conditions))
    else:
        card, module, text = _card(kind, rng)
        # the card's width in the frame that gives the code module_px pixels per module
        scale = module_px * card.shape[1] / (module * size[0])
        scene = place(scene, card, _pose(recipe, rng, min(0.95, scale), conditions))
    image = _camera(scene, recipe, rng, module_px, conditions)
    return Photo(kind, f"{name}-{kind}", image, text, conditions)


# -- what is shown ---------------------------------------------------------------------


def _card(kind: str, rng: np.random.Generator) -> tuple[np.ndarray, int, str]:
    """A card or label of ``kind``, its pixels per module, and the text of its code."""
    if kind == "qr":
        number = f"{int(rng.integers(2015, 2026))}{int(rng.integers(0, 10**6)):06d}"
        mac = "".join(BASE32[int(i)] for i in rng.integers(0, 32, 16))
        text = f"LK.{number}.{int(rng.integers(1, 4))}.{mac}"
        return _qr_card(_qr_matrix(text.encode(), None), text)
    if kind == "qr-charset":
        charset = ("gb18030", "shift_jis", "big5", "utf-8")[int(rng.integers(4))]
        choices = NAMES[charset]
        text = choices[int(rng.integers(len(choices)))]
        eci = bool(rng.random() < 0.3)
        return _qr_card(_qr_matrix(text.encode(charset), charset if eci else None), text)
    from barcode import EAN13, Code39, Code128  # type: ignore[import-untyped]

    if kind == "ean13":
        body = "978" + "".join(str(int(d)) for d in rng.integers(0, 10, 9))
        text = EAN13(body).get_fullcode()
        pattern = EAN13(body).build()[0]
    elif kind == "code128":
        text = _accession(rng)
        pattern = Code128(text).build()[0]
    else:
        text = _accession(rng, letters=False)[:6] if rng.random() < 0.5 else _accession(rng)
        pattern = Code39(text, add_checksum=False).build()[0]
    module = int(rng.integers(2, 5))  # the label printer's pixels per module
    return bar_label(pattern, text, _shelf_mark(rng), module, quiet=12), module, text


def _qr_card(matrix: np.ndarray, text: str) -> tuple[np.ndarray, int, str]:
    """A library card with the QR code ``matrix``, its pixels per module, and ``text``."""
    return qr_card(matrix), max(4, 240 // len(matrix)), text


def _qr_matrix(data: bytes, eci_charset: str | None) -> np.ndarray:
    """The modules (True = dark, quiet zone included) of a QR code of ``data`` in byte mode.

    With ``eci_charset`` the symbol says its charset with an ECI designator (segno
    writes that; qrcode cannot).
    """
    if eci_charset is not None:
        import segno

        code = segno.make_qr(data.decode(eci_charset), encoding=eci_charset, eci=True,
                             mode="byte", error="m")  # fmt: skip
        return np.array([[bool(v) for v in row] for row in code.matrix_iter(border=4)])
    import qrcode  # type: ignore[import-untyped]

    qr = qrcode.QRCode(error_correction=qrcode.constants.ERROR_CORRECT_M, border=4)
    qr.add_data(data)  # bytes: byte mode, no ECI
    qr.make(fit=True)
    return np.array(qr.get_matrix(), dtype=bool)


def _accession(rng: np.random.Generator, letters: bool = True) -> str:
    """An accession number as libraries print them: digits, sometimes after a letter or two."""
    digits = "".join(str(int(d)) for d in rng.integers(0, 10, int(rng.integers(6, 10))))
    if letters and rng.random() < 0.4:
        return "".join(string.ascii_uppercase[int(i)] for i in rng.integers(0, 26, 2)) + digits
    return digits


def _shelf_mark(rng: np.random.Generator) -> str:
    """A shelf mark such as I287.45 (CLC class letter and number)."""
    letter = "ABIKTG"[int(rng.integers(6))]
    return f"{letter}{int(rng.integers(100, 999))}.{int(rng.integers(1, 99))}"


def _blank_card(rng: np.random.Generator) -> np.ndarray:
    """A card or label with print but no code: a bookmark, a library leaflet."""
    card = np.full((260, 420, 3), int(rng.integers(200, 255)), np.uint8)
    for line in range(int(rng.integers(3, 8))):
        y = 30 + line * 30
        width = int(rng.integers(120, 380))
        words = "".join(rng.choice(list("library books read ")) for _ in range(width // 14))
        cv2.putText(card, words, (20, y), cv2.FONT_HERSHEY_SIMPLEX, 0.6, (40, 40, 40), 1,
                    cv2.LINE_AA)  # fmt: skip
    if rng.random() < 0.5:  # a tiled logo: squares like a QR code's modules, no finder patterns
        cells = rng.random((9, 9)) < 0.5
        tile = np.where(np.repeat(np.repeat(cells, 8, 0), 8, 1), 30, 245).astype(np.uint8)
        card[150:222, 300:372] = tile[:, :, None]
    return card


def _lookalikes(scene: np.ndarray, rng: np.random.Generator, count: int) -> None:
    """Things in the scene that look like codes: striped spines, lines of print, tiles."""
    height, width = scene.shape[:2]
    for _ in range(count):
        x, y = int(rng.integers(0, width - 60)), int(rng.integers(0, height - 60))
        w = int(rng.integers(40, max(41, width // 4)))
        h = int(rng.integers(30, max(31, height // 4)))
        patch = scene[y : y + h, x : x + w]
        h, w = patch.shape[:2]
        choice = rng.random()
        if choice < 0.4:  # stripes of random widths (a spine's pattern, a radiator)
            edges = np.cumsum(rng.integers(1, 7, w))
            dark = (np.searchsorted(edges, np.arange(w)) % 2).astype(bool)
            patch[:, dark] = rng.integers(10, 80)
            patch[:, ~dark] = rng.integers(180, 250)
        elif choice < 0.7:  # lines of small print
            patch[:] = rng.integers(200, 250)
            for row in range(6, h - 4, 12):
                cv2.line(patch, (4, row), (int(rng.integers(10, w)), row), (40, 40, 40), 3)
        else:  # a tiled pattern of squares
            cells = rng.random((h // 6 + 1, w // 6 + 1)) < 0.5
            tile = np.where(np.repeat(np.repeat(cells, 6, 0), 6, 1), 25, 240).astype(np.uint8)
            patch[:] = tile[:h, :w, None]


def _pose(
    recipe: Recipe, rng: np.random.Generator, scale: float, conditions: dict[str, float]
) -> Pose:
    """Where a card ``scale`` of the frame wide is held: tilted and turned, anywhere."""
    pose = Pose.random(float(rng.uniform(0, recipe.tilt)), scale, rng)
    pose = dataclasses.replace(pose, turn=float(rng.uniform(-recipe.turn, recipe.turn)))
    conditions.update(tilt=pose.tilt, turn=abs(pose.turn))
    return pose


# -- the camera --------------------------------------------------------------------------


def _camera(
    scene: np.ndarray,
    recipe: Recipe,
    rng: np.random.Generator,
    module_px: float,
    conditions: dict[str, float],
) -> np.ndarray:
    """What a cheap camera makes of ``scene``: light, glare, focus, motion, noise, JPEG.

    Defocus and motion are drawn in modules of the code (``module_px`` pixels each).
    """
    height, width = scene.shape[:2]
    xs = np.linspace(-0.5, 0.5, width, dtype=np.float32)
    ys = np.linspace(-0.5, 0.5, height, dtype=np.float32)
    gx, gy = rng.uniform(-0.3, 0.3, 2)
    light = 1.0 + gx * xs[None, :] + gy * ys[:, None]
    dark = rng.random() < recipe.dark
    if dark:  # low light: less contrast, gained up, so more noise
        gain, offset, noise_boost = float(rng.uniform(0.35, 0.6)), float(rng.uniform(0, 15)), 1.6
    else:
        gain, offset, noise_boost = float(rng.uniform(0.75, 1.15)), float(rng.uniform(-25, 25)), 1.0
    light *= gain
    add = np.full((height, width), offset, np.float32)
    glare = rng.random() < recipe.glare
    if glare:  # a lamp's reflection: a washed-out spot
        cx, cy = rng.uniform(0, width), rng.uniform(0, height)
        radius = float(rng.uniform(0.05, 0.25)) * width
        across = np.exp(-((np.arange(width, dtype=np.float32) - cx) ** 2) / (2 * radius**2))
        down = np.exp(-((np.arange(height, dtype=np.float32) - cy) ** 2) / (2 * radius**2))
        add += np.outer(down, across) * float(rng.uniform(120, 260))
    out = cv2.merge([c.astype(np.float32) * light + add for c in cv2.split(scene)])
    sigma = max(0.3, float(rng.uniform(*recipe.blur)) * module_px)
    if sigma > 0.3:
        out = cv2.GaussianBlur(out, (0, 0), sigma)
    length = float(rng.uniform(0, recipe.motion)) * module_px if rng.random() < 0.5 else 0.0
    if length >= 2:
        out = cv2.filter2D(out, -1, motion_kernel(length, float(rng.uniform(0, 180))))
    noise = np.empty_like(out)
    cv2.setRNGSeed(int(rng.integers(2**31)))
    grain = float(rng.uniform(*recipe.noise)) * noise_boost
    cv2.randn(noise, 0.0, grain)
    frame = np.clip(out + noise, 0, 255).astype(np.uint8)
    quality = int(rng.integers(*recipe.jpeg))
    conditions.update(blur=sigma / module_px, motion=length / module_px, noise=grain,
                      jpeg=quality, dark=float(dark), glare=float(glare))  # fmt: skip
    ok, encoded = cv2.imencode(".jpg", frame, [cv2.IMWRITE_JPEG_QUALITY, quality])
    return np.asarray(cv2.imdecode(encoded, cv2.IMREAD_COLOR)) if ok else frame

