"""Reading QR codes and library barcodes in camera frames and photos.

A child holds a card or a book up to an ordinary webcam; the frame comes here and
the codes in it come back as :class:`Detection` values. Three engines are used,
each behind the same small interface: zxing-cpp, libzbar (through pyzbar) and
OpenCV's detectors. They are tried as one chain, cheapest and best first, and the
chain stops at the first step after which a code is confirmed (see below), so the
common case (a sharp QR code) costs one zxing-cpp call on a frame no larger than
:data:`WORK_SIDE`.

Why this order, measured on the real-photo corpus (``kiosk decode-bench``) and on
800 synthetic photos (codes tilted, warped, blurred, noisy, JPEG-compressed, on
cluttered backgrounds; 320 px to 8 MP; 160 of them without a code):

* zxing-cpp first: it read every code of the real-photo corpus alone, and it is
  two to five times faster than libzbar, which alone reads 53 of the 59 and
  misreads a Code 128 with Latin-1 characters (it has no FNC4).
* Then, only for frames where nothing was found yet, preparations that each
  raised the read rate (see :data:`CHAIN` for what each bought and cost):
  sharpening a 640 px copy (defocus), a 480 px copy (blur and noise), a
  median-filtered copy (noise), a 2x copy of small pictures (thin bars), then
  libzbar on the linear symbologies of a 480 px copy (its bar decoder reads other
  damaged barcodes). Steps stop being started after :data:`DEFAULT_BUDGET_MS` of CPU.
* A barcode turned more than about 12 degrees is missed by the row-scanning
  readers: the second step finds the angle and place of the strongest stripes in
  the picture and reads a crop of them turned to stand upright (:func:`_stripes`;
  on the generated tune photos 179 -> 239 of 311 codes, all of the gain barcodes).
* Left out after measuring: a copy turned by a fixed 45 degrees (slanted bars) made a
  wrong, checksum-valid EAN-13; OpenCV's detectors added little at three times the
  cost and misread checksum-valid EAN-13s from Code 39 labels and from pictures
  without any code. OpenCV stays available as an engine of its own.

No false reads from a single picture: a barcode has a check digit at best, and a
transformed copy (or stripes beside the real code) can yield a wrong one whose check
digit holds. So a barcode counts only when a second opinion agrees: another step of
the chain reads it the same, or another engine (or the same one on a sharpened copy)
reads the same text on an upright crop around it (:meth:`Decoder._second_opinion`);
one that reads another text there contradicts it, and it is dropped. QR codes need
none (Reed-Solomon). What this costs: 5 of 311 reads on the tune photos
(measured without the upright step), none of the 59 of real-dev, about 1.7 ms on a
Code 128 frame; the camera confirms the rest with the next frame (``keep_unconfirmed``).

Nothing here raises on a bad picture: every engine call is guarded (OpenCV raises
on some real images) and failures are logged at debug level. A missing engine is
reported in :attr:`Decoder.missing` with a plain-English hint how to install it;
the others go on reading.
"""

from __future__ import annotations

import dataclasses
import logging
import math
import time
from collections.abc import Callable, Sequence
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import cv2
import numpy as np

from kiosk.devices.engines import ENGINES, Engine, code39_text, ean13_valid, load_engine

__all__ = ["ENGINES", "Decoder", "Detection", "code39_text", "ean13_valid", "load_image"]

log = logging.getLogger(__name__)

SYMBOLOGIES = ("QR", "EAN13", "CODE128", "CODE39")
"""The symbologies school libraries use: card QR codes, ISBN barcodes, accession labels."""

WORK_SIDE = 1024
"""Bigger pictures are shrunk to this longest side before anything else.

Real photos can be 3000 px and more; a code a camera can read fills enough of the
picture to survive this. zxing-cpp costs about 60 ms on a 8 MP photo and 8 ms at
this size; its read rate on the synthetic photos was the same at 1000, 1280 and
full size (329, 328 and 327 of 699) and lower at 800 (311).
"""

DEFAULT_BUDGET_MS = 15.0
"""No further fallback step is started once a decode has used this much CPU time.

CPU time of the decoding thread, not wall time: on a kiosk with a core to itself
they are the same, and on a busy machine (tests, benchmarks beside other work) the
chain still runs the same steps and reads the same codes. The first step always runs.
On a webcam the next frame is coming anyway; the budget keeps a picture without any
code (where every step runs) near 30 ms at worst. Measured on real-dev: no budget 30.5 ms p95, 20 ms 28.4, 15 ms 20.5, all
59/59 read; on the synthetic photos 15 ms reads 1% fewer codes than no budget.
"""

Point = tuple[int, int]


@dataclass(frozen=True)
class Detection:
    """One code found in a picture.

    Attributes:
        text: the decoded text; a QR code's in the charset its maker wrote it in
            (its ECI, else the likeliest of UTF-8, GB18030, Shift_JIS, Big5 and
            ISO-8859-1: see :mod:`kiosk.devices.charsets`).
        symbology: one of :data:`SYMBOLOGIES` (the EAN-13 of an ISBN is ``EAN13``).
        polygon: the code's corners in the input picture's pixel coordinates.
        engine: the engine that read it: ``zxing``, ``zbar`` or ``opencv``.
        confirmed: whether the read can be trusted from this one picture: a QR code
            (its error correction rules out a wrong text), or a barcode that a second
            engine or a second preparation of the picture read the same. A decoder
            made with ``keep_unconfirmed=True`` also gives the unconfirmed barcodes,
            for the camera to confirm with the next frame (see :data:`SELF_CHECKED`).
    """

    text: str
    symbology: str
    polygon: tuple[Point, ...]
    engine: str
    confirmed: bool = True


SELF_CHECKED = frozenset({"QR"})
"""Symbologies read from one picture by one engine without a second opinion.

A QR code's Reed-Solomon error correction makes a wrong text practically impossible.
A barcode has at most a check digit: a misread bar passes EAN-13's check one time in
ten, and Code 39 labels usually have none. Every wrong barcode seen while building this
came from one engine on one preparation: the sharpened copy of a scratched small ISBN,
and a wrong ISBN zxing-cpp read beside the real one on a book moving into view, frame
after frame (so frames agreeing is not enough: libzbar read the real ISBN there, and a
read that a second opinion contradicts is dropped). Both are tests. So every barcode
needs a second opinion, and one contradicted is never given.
"""

# -- geometry --------------------------------------------------------------------------

# A step's picture relates to the input picture by an affine map (2x3): the point
# (x, y) in the step's picture is A @ (x, y, 1) in the input's coordinates.
_IDENTITY = np.array([[1.0, 0.0, 0.0], [0.0, 1.0, 0.0]])


def _compose(outer: np.ndarray, inner: np.ndarray) -> np.ndarray:
    """The map that applies ``inner`` and then ``outer``."""
    full = np.vstack([outer, [0.0, 0.0, 1.0]]) @ np.vstack([inner, [0.0, 0.0, 1.0]])
    return full[:2]


def _scaled(image: np.ndarray, factor: float, interpolation: int) -> tuple[np.ndarray, np.ndarray]:
    """``image`` resized by ``factor`` and the map back to ``image``'s coordinates."""
    height, width = image.shape[:2]
    size = (max(1, round(width * factor)), max(1, round(height * factor)))
    resized = cv2.resize(image, size, interpolation=interpolation)
    back = np.array([[width / size[0], 0.0, 0.0], [0.0, height / size[1], 0.0]])
    return resized, back


def _fit(image: np.ndarray, side: int) -> tuple[np.ndarray, np.ndarray]:
    """``image`` shrunk (never enlarged) to at most ``side`` pixels on its longest side.

    Halving with ``pyrDown`` first: an area resize by a fraction costs 12 ms on a
    12 MP photo, halving twice and then resizing costs 3 ms.
    """
    back = _IDENTITY
    while max(image.shape[:2]) >= 2 * side:
        height, width = image.shape[:2]
        image = cv2.pyrDown(image)
        halved = np.array([[width / image.shape[1], 0.0, 0.0], [0.0, height / image.shape[0], 0.0]])
        back = _compose(back, halved)
    longest = max(image.shape[:2])
    if longest <= side:
        return image, back
    resized, last = _scaled(image, side / longest, cv2.INTER_AREA)
    return resized, _compose(back, last)


def _rotated(
    image: np.ndarray, degrees: float, interpolation: int = cv2.INTER_LINEAR
) -> tuple[np.ndarray, np.ndarray]:
    """``image`` turned by ``degrees`` on a canvas that holds all of it (white corners)."""
    height, width = image.shape[:2]
    matrix = cv2.getRotationMatrix2D((width / 2, height / 2), degrees, 1.0)
    cos, sin = abs(matrix[0, 0]), abs(matrix[0, 1])
    new_w, new_h = int(height * sin + width * cos) + 1, int(height * cos + width * sin) + 1
    matrix[0, 2] += new_w / 2 - width / 2
    matrix[1, 2] += new_h / 2 - height / 2
    turned = cv2.warpAffine(image, matrix, (new_w, new_h), flags=interpolation, borderValue=255)
    return turned, cv2.invertAffineTransform(matrix)


def _polygon(points: Sequence[tuple[float, float]], back: np.ndarray) -> tuple[Point, ...]:
    """``points`` of a step's picture as integer points of the input picture."""
    out = []
    for x, y in points:
        px = back[0, 0] * x + back[0, 1] * y + back[0, 2]
        py = back[1, 0] * x + back[1, 1] * y + back[1, 2]
        if math.isfinite(px) and math.isfinite(py):
            out.append((round(float(px)), round(float(py))))
    return tuple(out) or ((0, 0),)


def _bars(text: str) -> str:
    """``text`` as the bars spell it, without Code 128's FNC4 (which libzbar ignores).

    libzbar reads the extended characters of Code 128 ("ó", FNC4 + "s") as the plain
    ones ("s"); it read the same bars as zxing-cpp, so for a second opinion the two agree.
    """
    return "".join(chr(ord(c) - 128) if 128 <= ord(c) < 256 else c for c in text)


def _overlap(one: Detection, other: Detection) -> bool:
    """Whether the bounding boxes of two detections' polygons overlap."""
    a = np.asarray(one.polygon, dtype=float).reshape(-1, 2)
    b = np.asarray(other.polygon, dtype=float).reshape(-1, 2)
    return bool((a.min(0) <= b.max(0)).all() and (b.min(0) <= a.max(0)).all())


def _upright_crop(gray: np.ndarray, polygon: Sequence[Point]) -> np.ndarray | None:
    """The region around a barcode's ``polygon``, turned so its bars stand upright.

    An engine's polygon for a barcode may be a thin band along its scan lines: the
    crop reaches half the code's length above and below it, and a quarter beyond its
    ends (the quiet zones). At most 800 px long.
    """
    points = np.asarray(polygon, dtype=np.float32).reshape(-1, 2)
    if len(points) < 2:
        return None
    (cx, cy), (w, h), angle = cv2.minAreaRect(points)
    if w < h:  # the long side runs along the code
        w, h, angle = h, w, angle + 90.0
    length = max(w, 16.0)
    width, height = int(length * 1.5) + 8, int(max(h, length * 0.5) + length * 0.5) + 8
    matrix = cv2.getRotationMatrix2D((cx, cy), angle, 1.0)
    matrix[0, 2] += width / 2 - cx
    matrix[1, 2] += height / 2 - cy
    crop = cv2.warpAffine(gray, matrix, (width, height), flags=cv2.INTER_LINEAR,
                          borderMode=cv2.BORDER_REPLICATE)  # fmt: skip
    if min(crop.shape) < 8:
        return None
    return _fit(crop, 800)[0]


# -- input -----------------------------------------------------------------------------


def load_image(path: str | Path) -> np.ndarray | None:
    """The picture at ``path`` (png, jpg, webp...) as a BGR array, or None if unreadable."""
    try:
        image = cv2.imread(str(path), cv2.IMREAD_COLOR)
    except (cv2.error, OSError, ValueError) as error:
        log.debug("cannot read %s: %s", path, error)
        return None
    if image is None or image.size == 0:
        return None
    return image


def _gray(image: Any) -> np.ndarray | None:
    """A contiguous 8-bit grayscale copy of a BGR(A) or gray picture, or None if unusable."""
    if not isinstance(image, np.ndarray) or image.dtype != np.uint8:
        return None
    if image.ndim == 3 and image.shape[2] == 1:
        image = image[:, :, 0]
    if image.ndim == 2:
        gray = image
    elif image.ndim == 3 and image.shape[2] in (3, 4):
        code = cv2.COLOR_BGR2GRAY if image.shape[2] == 3 else cv2.COLOR_BGRA2GRAY
        gray = cv2.cvtColor(image, code)
    else:
        return None
    if min(gray.shape) < 8:  # nothing readable fits in fewer pixels
        return None
    return np.ascontiguousarray(gray)

# -- the chain -------------------------------------------------------------------------


def _sharpen(image: np.ndarray) -> np.ndarray:
    """An unsharp mask: bar and module edges of a defocused picture made steeper."""
    blurred = cv2.GaussianBlur(image, (0, 0), 2.0)
    return cv2.addWeighted(image, 1.8, blurred, -0.8, 0)


Prepared = tuple[np.ndarray, np.ndarray] | None
"""A prepared picture and its map back to the working picture (None: step not useful)."""


def _prep_plain(work: np.ndarray) -> Prepared:
    return work, _IDENTITY


def _prep_sharp640(work: np.ndarray) -> Prepared:
    small, back = _fit(work, 640)
    return _sharpen(small), back


def _prep_small480(work: np.ndarray) -> Prepared:
    if max(work.shape) <= 560:  # barely smaller: nothing new to see
        return None
    return _fit(work, 480)


def _prep_median(work: np.ndarray) -> Prepared:
    return cv2.medianBlur(work, 3), _IDENTITY


def _prep_up2(work: np.ndarray) -> Prepared:
    if max(work.shape) > 480:  # only small pictures have codes too thin to read
        return None
    return _scaled(work, 2.0, cv2.INTER_CUBIC)


def _prep_fit480(work: np.ndarray) -> Prepared:
    return _fit(work, 480)


def _prep_rot45(work: np.ndarray) -> Prepared:
    small, back = _fit(work, 640)
    turned, turn_back = _rotated(small, 45.0)
    return turned, _compose(back, turn_back)


def _stripes(work: np.ndarray) -> tuple[float, tuple[int, int, int, int]] | None:
    """Where barcode-like stripes turned off the axes are: their angle (degrees) and box.

    Barcodes are the strongest patches of parallel edges in a picture. The structure
    tensor of a small copy gives, at every pixel, the direction of the local gradient
    and how consistent it is; among strong and consistent pixels, the most common
    direction more than 12 degrees off the axes is the barcode's (one turned that far
    is missed by the row-scanning barcode readers), and the biggest patch of pixels
    with that direction is where it is (box: left, top, right, bottom in ``work``).
    None when the strongest stripes are upright or level already.
    """
    small, back = _fit(work, 320)
    gx = cv2.Sobel(small, cv2.CV_32F, 1, 0, ksize=3)
    gy = cv2.Sobel(small, cv2.CV_32F, 0, 1, ksize=3)
    jxx = cv2.boxFilter(gx * gx, -1, (7, 7))
    jyy = cv2.boxFilter(gy * gy, -1, (7, 7))
    jxy = cv2.boxFilter(gx * gy, -1, (7, 7))
    energy = jxx + jyy
    spread = np.sqrt((jxx - jyy) ** 2 + 4 * jxy**2)
    strong = (spread > 0.85 * energy) & (energy > np.percentile(energy, 90))
    if np.count_nonzero(strong) < 40:
        return None
    angles = np.degrees(0.5 * np.arctan2(2 * jxy, jxx - jyy))
    votes, edges = np.histogram(angles[strong], bins=36, range=(-90, 90), weights=energy[strong])
    centres = (edges[:-1] + edges[1:]) / 2
    off_axis = (np.abs(centres) > 12) & (np.abs(centres) < 78)
    best = int(np.argmax(np.where(off_axis, votes, -1.0)))
    if not off_axis[best] or votes[best] < 0.05 * votes.sum():  # stray edges, no barcode
        return None
    angle = float(centres[best])
    near = strong & (np.abs((angles - angle + 90) % 180 - 90) < 10)
    mask = cv2.dilate(near.astype(np.uint8), np.ones((9, 9), np.uint8))
    count, _, stats, _ = cv2.connectedComponentsWithStats(mask)
    if count < 2:
        return None
    biggest = 1 + int(np.argmax(stats[1:, cv2.CC_STAT_AREA]))
    x, y, w, h = (int(v) for v in stats[biggest, :4])
    sx, sy = back[0, 0], back[1, 1]
    margin = 0.35 * max(w, h)
    box = (max(0, int((x - margin) * sx)), max(0, int((y - margin) * sy)),
           min(work.shape[1], int((x + w + margin) * sx)),
           min(work.shape[0], int((y + h + margin) * sy)))  # fmt: skip
    if box[2] - box[0] < 16 or box[3] - box[1] < 16:
        return None
    return angle, box


def _prep_upright(work: np.ndarray) -> Prepared:
    found = _stripes(work)
    if found is None:
        return None
    angle, (left, top, right, bottom) = found
    crop = np.ascontiguousarray(work[top:bottom, left:right])
    factor = min(2.0, 640 / max(crop.shape))  # a small barcode is enlarged, to 2x at most
    scaled, scale_back = _scaled(crop, factor, cv2.INTER_CUBIC)
    turned, turn_back = _rotated(scaled, angle, cv2.INTER_CUBIC)
    offset = np.array([[1.0, 0.0, left], [0.0, 1.0, top]])
    return turned, _compose(offset, _compose(scale_back, turn_back))


@dataclass(frozen=True)
class Step:
    """One step of the chain: an engine on a prepared copy of the working picture.

    ``quick`` steps ask the engine for its cheaper search (zxing-cpp: no inverted
    and no downscaled passes, which the first step already made).
    """

    name: str
    engine: str
    prepare: Callable[[np.ndarray], Prepared]
    quick: bool = False


CHAIN: tuple[Step, ...] = (
    # Gains: codes read that no earlier step had read, of 699 (640 synthetic photos
    # + the 59 codes of real-dev); cost: mean ms on a 640x480 picture without a
    # code, where every step runs (one core).
    Step("zxing", "zxing", _prep_plain),  # 326 alone (59/59 of real-dev), 3.8 ms
    # (the gains below were measured before the upright step and agreement)
    Step("zxing-sharp", "zxing", _prep_sharp640, True),  # +34 (defocus), 4.3 ms
    Step("zxing-480", "zxing", _prep_small480, True),  # +14 (blur, noise), 2.2 ms
    Step("zxing-median", "zxing", _prep_median, True),  # +5 (noise), 2.2 ms
    Step("zxing-up2", "zxing", _prep_up2, True),  # +4 (thin bars; pictures <= 480 px)
    Step("zbar", "zbar", _prep_fit480),  # +14 (damaged bars), 9.7 ms; see code39_text
    Step("zxing-upright", "zxing", _prep_upright, True),  # +60 of 311 tune photos; 2nd
    # Measured, then left out of the default chain:
    Step("zxing-rot45", "zxing", _prep_rot45, True),  # +8, 4.7 ms, a false EAN-13
    Step("opencv", "opencv", _prep_plain),  # +10, 12.5 ms, two false EAN-13s
)
"""Every step, in order; :data:`DEFAULT_STEPS` says which a chain runs."""

DEFAULT_STEPS = (
    "zxing", "zxing-upright", "zxing-sharp", "zxing-480", "zxing-median", "zxing-up2", "zbar",
)
"""The steps of the default chain (see :data:`CHAIN` for what each one bought)."""

ALONE_STEPS = {"zxing": ("zxing",), "zbar": ("zbar-alone",), "opencv": ("opencv",)}
"""What a decoder of one engine runs: that engine once, on the working picture."""

_STEPS_BY_NAME = {step.name: step for step in CHAIN} | {
    "zbar-alone": Step("zbar-alone", "zbar", _prep_plain)
}


class Decoder:
    """Finds the codes in a picture with a chain of engines and preparations.

    Args:
        engines: the engines to use, by name (see :data:`ENGINES`); None: every
            one that is installed. With one engine the decoder runs that engine
            alone on the working picture; with zxing-cpp among several, it runs
            the chain of :data:`DEFAULT_STEPS` that uses them.
        steps: the chain's steps by name (see :data:`CHAIN`), for measuring a
            chain other than the default; steps of engines not in use are skipped.
        budget_ms: no fallback step starts after a decode has run this long
            (None: no limit).
        keep_unconfirmed: also give barcodes nobody confirmed (``confirmed=False``;
            the camera confirms them with the next frame); otherwise they are dropped.
        confirm: whether barcodes need a second opinion at all (False: the chain as
            it was, every read trusted; for measuring what agreement costs).

    Attributes:
        engines: the engines in use, in the chain's order.
        missing: engine name -> a plain-English hint how to install it.
    """

    def __init__(
        self,
        engines: Sequence[str] | None = None,
        *,
        steps: Sequence[str] | None = None,
        budget_ms: float | None = DEFAULT_BUDGET_MS,
        keep_unconfirmed: bool = False,
        confirm: bool = True,
    ) -> None:
        self.keep_unconfirmed = keep_unconfirmed
        self.confirm = confirm
        wanted = tuple(ENGINES if engines is None else engines)
        for name in wanted:
            if name not in ENGINES:
                raise ValueError(f"unknown decoder engine {name!r}; known: {', '.join(ENGINES)}")
        self.missing: dict[str, str] = {}
        self._engines: dict[str, Engine] = {}
        for name in ENGINES:
            if name not in wanted:
                continue
            engine, hint = load_engine(name, wanted)
            if engine is None:
                self.missing[name] = hint or f"{name} is not available"
                log.warning("decoder engine %s unavailable: %s", name, hint)
            else:
                self._engines[name] = engine
        self.engines: tuple[str, ...] = tuple(self._engines)
        if steps is None:
            if len(self.engines) == 1:
                steps = ALONE_STEPS[self.engines[0]]
            elif "zxing" in self._engines:
                steps = DEFAULT_STEPS
            else:  # no zxing-cpp: each remaining engine alone, in order
                steps = tuple(ALONE_STEPS[name][0] for name in self.engines)
        unknown = [name for name in steps if name not in _STEPS_BY_NAME]
        if unknown:
            raise ValueError(f"unknown decoder steps: {', '.join(unknown)}")
        self._steps = tuple(
            _STEPS_BY_NAME[name] for name in steps if _STEPS_BY_NAME[name].engine in self._engines
        )
        self._budget = None if budget_ms is None else budget_ms / 1000.0

    def decode(
        self, image: np.ndarray, *, hint: Sequence[tuple[float, float]] | None = None
    ) -> list[Detection]:
        """The codes in ``image`` (BGR or grayscale, 8-bit); [] for anything unreadable.

        ``hint`` is optional: the polygon of the last code seen (for video, where a
        code held up stays where it was); the region around it is read first, and
        the whole picture only when nothing is found there.
        """
        started = time.thread_time()
        try:
            gray = _gray(image)
            if gray is None:
                return []
            contradicted: set[tuple[str, str]] = set()  # read otherwise by a second opinion
            if hint is not None and self._steps:
                hinted: dict[tuple[str, str], Detection] = {}
                found = self._read_hint(gray, hint)
                if found and self._settle(found, hinted, contradicted, gray, self._steps[0]):
                    return self._outcome(hinted)
            work, back = _fit(gray, WORK_SIDE)
            candidates: dict[tuple[str, str], Detection] = {}
            for index, step in enumerate(self._steps):
                if (
                    index
                    and self._budget is not None
                    and time.thread_time() - started > self._budget
                ):
                    log.debug("decode budget spent before step %s", step.name)
                    break
                found = self._run(step, work, back)
                if found and self._settle(found, candidates, contradicted, gray, step):
                    break
            return self._outcome(candidates)
        except Exception:  # a picture must never stop the camera
            log.debug("decode failed", exc_info=True)
            return []

    def _settle(
        self,
        found: list[Detection],
        candidates: dict[tuple[str, str], Detection],
        contradicted: set[tuple[str, str]],
        gray: np.ndarray,
        step: Step,
    ) -> bool:
        """Add a step's reads to ``candidates``, confirming barcodes; whether to stop.

        A barcode read again by a later step (another preparation or engine) is
        confirmed; one read for the first time is checked at once by another engine
        (or another preparation) on an upright crop around it (:meth:`_second_opinion`).
        The chain stops at the first step after which something is confirmed.
        """
        for detection in found:
            key = (detection.symbology, detection.text)
            earlier = candidates.get(key)
            if earlier is not None:
                if not earlier.confirmed:  # a later step: another preparation or engine
                    candidates[key] = dataclasses.replace(earlier, confirmed=True)
                continue
            if key in contradicted:
                continue
            if self.confirm and detection.symbology not in SELF_CHECKED:
                opinion = self._second_opinion(detection, gray, step)
                if opinion is None:  # another reading of that place says something else
                    contradicted.add(key)
                    continue
                detection = dataclasses.replace(detection, confirmed=opinion)
            candidates[key] = detection
        return any(d.confirmed for d in candidates.values())

    def _outcome(self, candidates: dict[tuple[str, str], Detection]) -> list[Detection]:
        """The detections to give: the confirmed ones, and the others if asked for.

        An unconfirmed barcode where a confirmed code of the same kind lies is a misread
        of that code (an extra code "found" beside the real one): never given.
        """
        confirmed = [d for d in candidates.values() if d.confirmed]
        if not self.keep_unconfirmed:
            return confirmed
        others = [
            d
            for d in candidates.values()
            if not d.confirmed
            and not any(c.symbology == d.symbology and _overlap(c, d) for c in confirmed)
        ]
        return confirmed + others

    def _second_opinion(
        self, detection: Detection, gray: np.ndarray, step: Step
    ) -> bool | None:
        """Whether another engine, or another preparation, reads ``detection`` the same.

        The code is cut out of the input picture (at its own resolution) with a margin,
        turned so that its bars stand upright, and read by every other engine in use,
        then by the same engine on a sharpened copy: one that gives the same text is
        enough (True). One that reads another text of the same kind there contradicts
        it (None: a misread, dropped even for the camera); nothing read: False.
        """
        upright = _upright_crop(gray, detection.polygon)
        if upright is None:
            return False
        others = [name for name in self.engines if name != detection.engine and name != "opencv"]
        attempts = [(name, upright) for name in others]
        attempts.append((detection.engine, _sharpen(upright)))
        for name, picture in attempts:
            try:
                reads = self._engines[name].read(np.ascontiguousarray(picture), False)
            except Exception as error:  # noqa: BLE001 - engines raise on odd pictures
                log.debug("second opinion by %s failed: %s", name, error)
                continue
            texts = {(symbology, _bars(text)) for text, symbology, _ in reads if symbology != "QR"}
            if (detection.symbology, _bars(detection.text)) in texts:
                return True
            if any(symbology == detection.symbology for symbology, _ in texts):
                log.debug("%s read %r where %s read %r", name, texts, step.name, detection.text)
                return None
        return False

    def _read_hint(self, gray: np.ndarray, hint: Sequence[tuple[float, float]]) -> list[Detection]:
        """Codes in the region around ``hint`` (the code's last polygon), if any."""
        try:
            points = np.asarray(hint, dtype=float).reshape(-1, 2)
        except (TypeError, ValueError):
            return []
        if not len(points) or not np.isfinite(points).all():
            return []
        x0, y0 = points.min(axis=0)
        x1, y1 = points.max(axis=0)
        margin = max(x1 - x0, y1 - y0, 16) * 0.6
        height, width = gray.shape
        left, top = max(0, int(x0 - margin)), max(0, int(y0 - margin))
        right, bottom = min(width, int(x1 + margin) + 1), min(height, int(y1 + margin) + 1)
        if right - left < 16 or bottom - top < 16:
            return []
        crop, back = _fit(gray[top:bottom, left:right], WORK_SIDE)
        back = _compose(np.array([[1.0, 0.0, left], [0.0, 1.0, top]]), back)
        return self._run(self._steps[0], np.ascontiguousarray(crop), back) if self._steps else []

    def _run(self, step: Step, work: np.ndarray, back: np.ndarray) -> list[Detection]:
        """One step on the working picture; detections in the input's coordinates."""
        try:
            prepared = step.prepare(work)
            if prepared is None:
                return []
            picture, prep_back = prepared
            raw = self._engines[step.engine].read(np.ascontiguousarray(picture), step.quick)
        except Exception as error:  # noqa: BLE001 - engines raise on odd pictures
            log.debug("decoder step %s failed: %s", step.name, error)
            return []
        to_input = _compose(back, prep_back)
        found: list[Detection] = []
        seen = set()
        for text, symbology, corners in raw:
            if symbology == "EAN13" and not ean13_valid(text):
                log.debug("%s: EAN-13 %r fails its check digit", step.name, text)
                continue
            if not text or (symbology, text) in seen:
                continue
            seen.add((symbology, text))
            found.append(Detection(text, symbology, _polygon(corners, to_input), step.engine))
        return found
