"""The kiosk's camera: frames from a webcam (or a simulation) decoded on their own thread.

A child holds a card or a book up to an ordinary USB webcam; :class:`Camera` reads
frames on one daemon thread, hands each to the decoder, turns the stream of detections
into scans (:class:`ScanFilter`: the same code held up for two seconds is one scan, the
same code shown again after it was taken away is a new one) and reports three things
through callbacks: a new scan, a small preview frame, and a status change. A camera that
never opens, is unplugged, or stops sending frames is reported as "lost" and retried
until it works again, so replugging resumes by itself; the rest of the kiosk (and the
keyboard-wedge scanner) never waits for it.

Frame sources sit behind one small interface (:class:`FrameSource`), with a real backend
(:class:`OpenCVSource`) and simulated ones for the demo, the tests and the benchmarks:
a folder of images, a video file, and frames generated on the fly (:class:`GeneratedSource`,
:func:`make_frame`) with a real QR code or barcode printed on a card, tilted, blurred and
noisy the way a cheap webcam sees it.

This module never touches the database and never imports textual: the UI receives plain
values from the camera thread and moves them onto its own thread itself.
"""

from __future__ import annotations

import dataclasses
import functools
import logging
import math
import os
import threading
import time
from abc import ABC, abstractmethod
from collections.abc import Callable, Iterable, Sequence
from dataclasses import dataclass
from pathlib import Path
from typing import TYPE_CHECKING, Any, Protocol

import cv2
import numpy as np

if TYPE_CHECKING:  # the camera only needs "something with decode(image)"
    from kiosk.devices.decoder import Detection

log = logging.getLogger(__name__)

# FFmpeg (video files, network cameras) logs to stderr through its own av_log, set up
# once, at its first use in the process: ask OpenCV to keep it quiet (-8) from the start.
os.environ.setdefault("OPENCV_FFMPEG_LOGLEVEL", "-8")

IMAGE_SUFFIXES = (".png", ".jpg", ".jpeg", ".webp", ".bmp", ".tif", ".tiff")
"""The files :class:`FolderSource` shows, in name order."""

PREVIEW_WIDTH = 160
"""Width in pixels of the frames handed to ``on_frame``: enough for a terminal preview."""


class CameraUnavailable(Exception):
    """A frame source could not be opened; the message says so in plain English."""


# -- quiet OpenCV ----------------------------------------------------------------------

_opencv_quiet = False


def _quiet_opencv() -> None:
    """Stop OpenCV's C++ log from writing to the terminal (it would tear the Textual screen).

    OpenCV writes warnings such as "can't open camera by index" straight to stderr, and
    FFmpeg "Connection refused"; the camera reports every failure itself, through its
    status and the log.
    """
    global _opencv_quiet
    if not _opencv_quiet:
        try:
            cv2.utils.logging.setLogLevel(cv2.utils.logging.LOG_LEVEL_SILENT)
        except Exception:  # pragma: no cover - very old OpenCV builds
            log.debug("could not silence OpenCV's log", exc_info=True)
        _opencv_quiet = True


# -- frame sources ---------------------------------------------------------------------


class FrameSource(ABC):
    """Where frames come from: a webcam, a folder, a video, a simulation.

    ``open`` raises :class:`CameraUnavailable` when the source cannot be used;
    ``read`` returns one BGR (or grayscale) ``uint8`` frame, or ``None`` when there is no
    frame this time (the camera counts that against its ``frame_timeout``); ``close``
    releases the device. ``name`` names the source in messages ("camera 0").
    """

    name: str = "camera"

    @abstractmethod
    def open(self) -> None:
        """Get the source ready to read; raise :class:`CameraUnavailable` if it cannot be."""

    @abstractmethod
    def read(self) -> np.ndarray | None:
        """The next frame, or ``None`` when none came this time."""

    def close(self) -> None:
        """Release the device (closing twice is harmless)."""

    def clock(self) -> float:
        """When the frame ``read`` returned last was taken, in seconds.

        A live camera's clock is :func:`time.monotonic`. A simulated source that runs
        faster than real time (``realtime=False``) returns its stream's time instead, so
        the scan filter sees the stream as a person in front of the camera would have.
        """
        return time.monotonic()


class OpenCVSource(FrameSource):
    """A real webcam through ``cv2.VideoCapture``: a device index, a /dev/video path or a URL.

    The device is asked for ``width`` x ``height`` frames and a one-frame buffer, with
    open and read timeouts where the backend supports them; frames that were waiting in
    the driver's queue are skipped, so the decoder sees what is in front of the camera now.
    """

    def __init__(
        self,
        device: int | str,
        width: int = 640,
        height: int = 480,
        *,
        open_timeout: float = 5.0,
        read_timeout: float = 2.0,
    ) -> None:
        self.device: int | str = device
        self.width = width
        self.height = height
        self.open_timeout = open_timeout
        self.read_timeout = read_timeout
        self.name = f"camera {device}"
        self._capture: Any = None
        self._live = isinstance(device, int) or str(device).startswith("/dev/")

    def open(self) -> None:
        """Open the device; :class:`CameraUnavailable` when it is absent or refuses."""
        _quiet_opencv()
        device: int | str = self.device
        if isinstance(device, str) and device.strip().isdigit():
            device = int(device)
        params = [
            cv2.CAP_PROP_OPEN_TIMEOUT_MSEC, int(self.open_timeout * 1000),
            cv2.CAP_PROP_READ_TIMEOUT_MSEC, int(self.read_timeout * 1000),
        ]  # fmt: skip
        capture = None
        for attempt in (params, None):  # some backends refuse parameters they do not know
            try:
                capture = (
                    cv2.VideoCapture(device, cv2.CAP_ANY, attempt)
                    if attempt
                    else cv2.VideoCapture(device)
                )
            except cv2.error as error:
                log.debug("%s: VideoCapture raised %s", self.name, error)
                capture = None
            if capture is not None and capture.isOpened():
                break
            if capture is not None:
                capture.release()
            capture = None
        if capture is None:
            raise CameraUnavailable(f"{self.name} did not open (is it plugged in?)")
        for prop, value in (
            (cv2.CAP_PROP_FRAME_WIDTH, self.width),
            (cv2.CAP_PROP_FRAME_HEIGHT, self.height),
            (cv2.CAP_PROP_BUFFERSIZE, 1),
            (cv2.CAP_PROP_READ_TIMEOUT_MSEC, int(self.read_timeout * 1000)),
        ):
            try:
                capture.set(prop, value)  # ignored where the backend does not support it
            except cv2.error:
                log.debug("%s: property %s not supported", self.name, prop)
        self._capture = capture
        log.info(
            "%s opened: %dx%d",
            self.name,
            int(capture.get(cv2.CAP_PROP_FRAME_WIDTH)),
            int(capture.get(cv2.CAP_PROP_FRAME_HEIGHT)),
        )

    def read(self) -> np.ndarray | None:
        """The newest frame, or ``None`` when the device gave none (unplugged, timed out)."""
        capture = self._capture
        if capture is None:
            return None
        try:
            if not capture.grab():
                return None
            if self._live:
                # A grab that returns at once took a frame that was already queued (old);
                # one that waited took a fresh one. Drain the queue, at most a few frames.
                for _ in range(4):
                    started = time.perf_counter()
                    if not capture.grab():
                        return None
                    if time.perf_counter() - started > 0.004:
                        break
            ok, frame = capture.retrieve()
        except cv2.error as error:
            log.debug("%s: read failed: %s", self.name, error)
            return None
        return frame if ok and frame is not None and frame.size else None

    def close(self) -> None:
        """Release the device."""
        capture, self._capture = self._capture, None
        if capture is not None:
            try:
                capture.release()
            except cv2.error:  # pragma: no cover - a device that vanished mid-release
                log.debug("%s: release failed", self.name, exc_info=True)


class _StreamSource(FrameSource):
    """A simulated source whose frames follow a stream clock at ``fps`` frames a second.

    ``realtime`` sources behave like a live camera: ``read`` waits for the next frame
    (at most 0.1 s, so the camera thread stays responsive; a still scene is shown again)
    and skips frames when the reader is slow. Otherwise every ``read`` returns the next
    frame at once and :meth:`clock` gives the stream's own time, so tests and benches can
    run a stream faster than real time and still see its timing.
    """

    def __init__(self, fps: float, realtime: bool) -> None:
        if fps <= 0:
            raise ValueError("fps must be positive")
        self.fps = float(fps)
        self.realtime = realtime
        self._origin = time.monotonic()
        self._index = -1

    def _restart_clock(self) -> None:
        """Frame 0 is now."""
        self._origin = time.monotonic()
        self._index = -1

    def _next_index(self) -> int:
        """The index of the frame to show now (advancing the stream clock)."""
        if not self.realtime:
            self._index += 1
            return self._index
        wait = self._origin + (self._index + 1) / self.fps - time.monotonic()
        if wait > 0:
            time.sleep(min(wait, 0.1))
        due = int((time.monotonic() - self._origin) * self.fps)
        self._index = max(self._index, due)
        return self._index

    def clock(self) -> float:
        """The time of the frame shown last, on the monotonic scale the stream started on."""
        return self._origin + max(self._index, 0) / self.fps


class FolderSource(_StreamSource):
    """Every image in a folder, in name order, ``fps`` images a second (looping if ``loop``).

    A non-looping folder ends: after its last image ``read`` returns ``None``, which the
    camera reports as a camera that stopped sending frames.
    """

    def __init__(
        self, folder: str | Path, fps: float = 10.0, loop: bool = True, *, realtime: bool = True
    ) -> None:
        super().__init__(fps, realtime)
        self.folder = Path(folder)
        self.loop = loop
        self.name = f"folder {self.folder}"
        self._files: list[Path] = []
        self._cache: dict[int, np.ndarray | None] = {}

    def open(self) -> None:
        """List the images; :class:`CameraUnavailable` when the folder holds none."""
        try:
            files = sorted(p for p in self.folder.iterdir() if p.suffix.lower() in IMAGE_SUFFIXES)
        except OSError as error:
            raise CameraUnavailable(f"{self.name} cannot be read: {error.strerror}") from None
        if not files:
            raise CameraUnavailable(f"{self.name} holds no images")
        self._files = files
        self._cache = {}
        self._restart_clock()

    def read(self) -> np.ndarray | None:
        """The image due now (``None`` after the last one of a non-looping folder)."""
        if not self._files:
            return None
        index = self._next_index()
        if index >= len(self._files) and not self.loop:
            return None
        index %= len(self._files)
        if index not in self._cache:
            if len(self._cache) > 64:  # a big folder is read again rather than kept
                self._cache.clear()
            self._cache[index] = cv2.imread(str(self._files[index]), cv2.IMREAD_COLOR)
        return self._cache[index]

    def close(self) -> None:
        """Forget the images."""
        self._files = []
        self._cache = {}


class VideoSource(_StreamSource):
    """A video file through ``cv2.VideoCapture``, at the file's own frame rate.

    Looping starts the file again at its end; a non-looping video ends, and ``read``
    returns ``None`` from then on.
    """

    def __init__(self, path: str | Path, loop: bool = True, *, realtime: bool = True) -> None:
        super().__init__(25.0, realtime)
        self.path = Path(path)
        self.loop = loop
        self.name = f"video {self.path.name}"
        self._capture: Any = None
        self._position = 0  # frames taken from the file since it was (re)opened
        self._base = 0  # stream index of the file's first frame in this pass
        self._frame: np.ndarray | None = None

    def _open_capture(self) -> Any:
        """A capture at the start of the file, or ``None``."""
        try:
            capture = cv2.VideoCapture(str(self.path))
        except cv2.error:
            return None
        if not capture.isOpened():
            capture.release()
            return None
        return capture

    def open(self) -> None:
        """Open the file; :class:`CameraUnavailable` when it is missing or not a video."""
        _quiet_opencv()
        if not self.path.is_file():
            raise CameraUnavailable(f"{self.name} does not exist")
        capture = self._open_capture()
        if capture is None:
            raise CameraUnavailable(f"{self.name} cannot be played")
        fps = capture.get(cv2.CAP_PROP_FPS)
        self.fps = float(fps) if fps and 1.0 <= fps <= 240.0 else 25.0
        self._capture = capture
        self._position = 0
        self._base = 0
        self._restart_clock()

    def read(self) -> np.ndarray | None:
        """The frame due now (frames the reader was too slow for are skipped)."""
        if self._capture is None:
            return None
        index = self._next_index()
        try:
            while True:
                wanted = index - self._base  # frame number within this pass of the file
                if wanted < self._position:  # not due yet: the picture has not changed
                    return self._frame
                while self._position < wanted and self._capture.grab():
                    self._position += 1
                if self._position == wanted:
                    ok, frame = self._capture.read()
                    if ok and frame is not None:
                        self._position += 1
                        self._frame = frame
                        return frame
                # the file ended
                if not self.loop or self._position == 0:
                    return None
                self._capture.release()
                self._capture = self._open_capture()
                if self._capture is None:
                    return None
                self._base += self._position
                self._position = 0
                index = max(index, self._base)
        except cv2.error as error:
            log.debug("%s: read failed: %s", self.name, error)
            return None

    def close(self) -> None:
        """Release the file."""
        capture, self._capture = self._capture, None
        if capture is not None:
            capture.release()


# -- generated frames ------------------------------------------------------------------


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
        module = 4
        quiet = 10
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
        _text(card, code, (left + bar_w // 4, int(height * 0.93)), 1.1, 30)
        if symbology == "CODE128":
            _text(card, "I287.45", (width - 130, int(height * 0.15)), 0.7, 90)
        card.flags.writeable = False  # cached: shared by every frame that shows it
        return card
    matrix = _qr_modules(code)
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
    card.flags.writeable = False  # cached: shared by every frame that shows it
    return card


def _background(size: tuple[int, int], rng: np.random.Generator) -> np.ndarray:
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
class _Pose:
    """Where a card is held: out-of-plane tilt, its axis, in-plane turn, size and centre."""

    tilt: float  # degrees away from facing the camera
    axis: float  # direction (degrees) of the axis the card is tilted about
    turn: float  # in-plane rotation, degrees
    scale: float  # card width / frame width, before tilting
    x: float  # centre, as a fraction of the free room across (0..1)
    y: float

    @classmethod
    def random(cls, tilt: float, scale: float, rng: np.random.Generator) -> _Pose:
        """A pose with the given tilt and a random axis, turn and place."""
        return cls(
            tilt=tilt,
            axis=float(rng.uniform(0, 180)),
            turn=float(rng.uniform(-15, 15)),
            scale=scale,
            x=float(rng.uniform(0, 1)),
            y=float(rng.uniform(0, 1)),
        )

    def jitter(self, rng: np.random.Generator) -> _Pose:
        """The same pose a moment later, moved a little by a hand."""
        return dataclasses.replace(
            self,
            tilt=max(0.0, self.tilt + float(rng.normal(0, 1.0))),
            turn=self.turn + float(rng.normal(0, 0.7)),
            x=min(1.0, max(0.0, self.x + float(rng.normal(0, 0.01)))),
            y=min(1.0, max(0.0, self.y + float(rng.normal(0, 0.01)))),
        )


def _corners(card_shape: tuple[int, ...], pose: _Pose, size: tuple[int, int]) -> np.ndarray:
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


def _place(scene: np.ndarray, card: np.ndarray, pose: _Pose) -> np.ndarray:
    """``scene`` with ``card`` held up in front of it in ``pose`` (a new image)."""
    height, width = scene.shape[:2]
    card_h, card_w = card.shape[:2]
    source = np.array([[0, 0], [card_w, 0], [card_w, card_h], [0, card_h]], np.float32)
    matrix = cv2.getPerspectiveTransform(source, _corners(card.shape, pose, (width, height)))
    warped = cv2.warpPerspective(card, matrix, (width, height), flags=cv2.INTER_LINEAR)
    mask = cv2.warpPerspective(
        np.full((card_h, card_w), 255, np.uint8), matrix, (width, height), flags=cv2.INTER_LINEAR
    )
    alpha = (mask.astype(np.float32) / 255.0)[:, :, None]
    return (warped * alpha + scene * (1.0 - alpha)).astype(np.uint8)


def _lighting(size: tuple[int, int], rng: np.random.Generator) -> tuple[np.ndarray, float, float]:
    """Uneven light across the frame, and the exposure's contrast and brightness."""
    width, height = size
    gx, gy = rng.uniform(-0.2, 0.2, 2)
    xs = np.linspace(-0.5, 0.5, width, dtype=np.float32)
    ys = np.linspace(-0.5, 0.5, height, dtype=np.float32)
    field = 1.0 + gx * xs[None, :] + gy * ys[:, None]
    return field[:, :, None], float(rng.uniform(0.75, 1.15)), float(rng.uniform(-25, 25))


def _expose(
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
    scene = _background(size, rng)
    if code:
        scene = _place(scene, render_card(code), _Pose.random(tilt, scale, rng))
    width, height = size
    grain = rng.standard_normal((height, width, 3), np.float32) * noise if noise > 0 else None
    return _expose(scene, _lighting(size, rng), blur, grain, int(rng.integers(70, 92)))


class GeneratedSource(_StreamSource):
    """A simulated camera: each code in turn held up for ``hold`` s, then ``gap`` s of nothing.

    The scene (a shelf of books) stays put as in front of a fixed kiosk camera; each
    showing of a code gets its own pose, tilted up to ``max_tilt`` degrees, that a hand
    moves slightly from frame to frame; light, blur, noise and compression are applied to
    every frame (see :func:`make_frame`). The same ``seed`` gives the same stream. With
    no codes the stream is the empty scene forever; otherwise it starts again after the
    last code if ``loop``, or ends (``read`` returns ``None``).
    """

    def __init__(
        self,
        codes: Sequence[str],
        *,
        size: tuple[int, int] = (640, 480),
        fps: float = 15.0,
        hold: float = 2.0,
        gap: float = 1.0,
        max_tilt: float = 45.0,
        blur: float = 1.0,
        noise: float = 8.0,
        seed: int = 0,
        loop: bool = True,
        realtime: bool = True,
    ) -> None:
        super().__init__(fps, realtime)
        self.codes = list(codes)
        self.size = size
        self.hold = hold
        self.gap = gap
        self.max_tilt = max_tilt
        self.blur = blur
        self.noise = noise
        self.seed = seed
        self.loop = loop
        self.name = "simulated camera"
        self._scene: np.ndarray | None = None
        self._grain: list[np.ndarray] = []
        self._rng = np.random.default_rng(seed)
        self._showing = -1
        self._pose: _Pose | None = None

    def open(self) -> None:
        """Build the scene and a bank of sensor noise (the costly parts, done once)."""
        rng = np.random.default_rng(self.seed)
        self._scene = _background(self.size, rng)
        width, height = self.size
        pad = 16  # frames use shifted windows of a few noise fields
        self._grain = [
            rng.normal(0, self.noise, (height + pad, width + pad, 3)).astype(np.float32)
            for _ in range(3)
        ] if self.noise > 0 else []  # fmt: skip
        self._rng = np.random.default_rng(self.seed + 1)
        self._showing = -1
        self._restart_clock()

    def code_at(self, index: int) -> tuple[int, str | None] | None:
        """Which showing frame ``index`` belongs to and its code (``None`` in a gap).

        ``None`` altogether once a non-looping stream is over.
        """
        if not self.codes:
            return (-1, None)
        cycle = self.hold + self.gap
        moment = index / self.fps
        showing = int(moment // cycle)
        if showing >= len(self.codes) and not self.loop:
            return None
        code = (
            self.codes[showing % len(self.codes)] if moment - showing * cycle < self.hold else None
        )
        return showing, code

    def read(self) -> np.ndarray | None:
        """The frame due now."""
        if self._scene is None:
            return None
        index = self._next_index()
        where = self.code_at(index)
        if where is None:
            return None
        showing, code = where
        rng = self._rng
        scene = self._scene
        if code is not None:
            if showing != self._showing:
                pose_rng = np.random.default_rng((self.seed, showing))
                tilt = float(pose_rng.uniform(0, self.max_tilt))
                scale = 0.45 * float(pose_rng.uniform(0.85, 1.15))
                self._pose = _Pose.random(tilt, scale, pose_rng)
                self._showing = showing
            assert self._pose is not None
            self._pose = self._pose.jitter(rng)
            scene = _place(scene, render_card(code), self._pose)
        grain = None
        if self._grain:
            width, height = self.size
            field = self._grain[int(rng.integers(len(self._grain)))]
            dx, dy = (int(v) for v in rng.integers(0, 16, 2))
            grain = field[dy : dy + height, dx : dx + width]
        light = (1.0, float(rng.uniform(0.95, 1.05)), float(rng.uniform(-4, 4)))
        return _expose(scene, light, self.blur, grain, 85)

    def close(self) -> None:
        """Drop the scene."""
        self._scene = None
        self._grain = []


# -- from detections to scans ----------------------------------------------------------


class ScanFilter:
    """Turns the codes seen frame after frame into scans, the way a person means them.

    A code stays "present" while it is seen again within ``absent_after`` seconds (a
    decoder misses the odd frame; a hand moves); only a code that was not present is a
    new scan. A code taken away for longer and shown again is a new scan (a child
    scanning two copies of one title, or the same book twice on purpose). Several codes
    in one frame are each a scan.
    """

    def __init__(self, absent_after: float = 0.8) -> None:
        self.absent_after = absent_after
        self._last_seen: dict[str, float] = {}

    def feed(self, texts: Iterable[str], now: float) -> list[str]:
        """The codes among ``texts`` (seen in one frame at ``now`` s) that are new scans."""
        new: list[str] = []
        for text in dict.fromkeys(texts):  # a code twice in one frame is one code
            last = self._last_seen.get(text)
            if last is None or now - last > self.absent_after:
                new.append(text)
            self._last_seen[text] = now
        if len(self._last_seen) > 32:
            self._last_seen = {
                t: seen for t, seen in self._last_seen.items() if now - seen <= self.absent_after
            }
        return new

    def reset(self) -> None:
        """Forget every code (the camera was reopened: whatever is shown now is new)."""
        self._last_seen.clear()


# -- the camera thread -----------------------------------------------------------------


class _Decodes(Protocol):
    """Anything with the decoder's ``decode`` (the real :class:`Decoder` or a test's)."""

    def decode(self, image: np.ndarray) -> list[Detection]: ...


STARTING, RUNNING, LOST, OFF = "starting", "running", "lost", "off"


@dataclass(frozen=True)
class CameraStatus:
    """The camera's state, a plain-English message for the log, and since when (wall clock).

    ``state`` is "starting", "running", "lost" (no picture; retrying) or "off"; the UI
    chooses its own words by ``state``, the message is for the librarian's log.
    """

    state: str
    message: str
    since: float


class Camera:
    """Reads frames on one daemon thread, decodes them, and reports scans, previews and status.

    Args:
        source: makes a fresh :class:`FrameSource` (called again for every retry, so a
            replugged webcam is opened anew).
        decoder: anything with ``decode(image) -> list[Detection]``.
        on_scan: called once per new scan (see :class:`ScanFilter`) with its detection.
        on_frame: called at most ``preview_fps`` times a second, and at once for a frame
            with a new scan, with a copy of the frame scaled to 160 px wide and that
            frame's detections, their polygons scaled to match.
        on_status: called on every change of :attr:`status` state, "off" included
            (when the thread ends after :meth:`stop`).
        max_fps: the most frames taken (and decoded) per second; the thread sleeps between.
        preview_fps: the most ``on_frame`` calls per second.
        retry_every: seconds between attempts to open a lost source.
        frame_timeout: seconds without a frame after which the source counts as lost.
        idle_fps: how often a still scene is decoded (see below); ``None`` decodes every
            frame taken.

    A frame is decoded whenever anything in front of the camera moved within the last
    :attr:`still_after` seconds, or a code was seen in the frame before; a scene that
    has been still that long with no code in it (the attract screen: an empty shelf)
    is decoded only ``idle_fps`` times a second. A card being held up moves, so it is
    decoded from its first frame on: this costs no latency, and it keeps an idle kiosk
    cheap (a fruitless decode spends the decoder's whole budget).

    Every callback runs on the camera thread and must hand its work to the UI thread
    itself; an exception in a callback is logged and the thread carries on.
    """

    def __init__(
        self,
        source: Callable[[], FrameSource],
        decoder: _Decodes,
        *,
        on_scan: Callable[[Detection], None],
        on_frame: Callable[[np.ndarray, list[Detection]], None] | None = None,
        on_status: Callable[[CameraStatus], None] | None = None,
        max_fps: float = 12.0,
        preview_fps: float = 8.0,
        retry_every: float = 2.0,
        frame_timeout: float = 3.0,
        idle_fps: float | None = 2.0,
    ) -> None:
        self.source = source
        self.decoder = decoder
        self.on_scan = on_scan
        self.on_frame = on_frame
        self.on_status = on_status
        self.max_fps = max_fps
        self.preview_fps = preview_fps
        self.retry_every = retry_every
        self.frame_timeout = frame_timeout
        self.idle_fps = idle_fps
        self.still_after = 1.0
        """Seconds without motion after which an empty scene counts as still."""
        self.scans = ScanFilter()
        self.decoded = 0
        """Frames decoded so far (for tests and benchmarks)."""
        self._status = CameraStatus(OFF, "camera not started", time.time())
        self._status_lock = threading.Lock()
        self._stop = threading.Event()
        self._thread: threading.Thread | None = None
        self._last_error_log: dict[str, float] = {}

    @property
    def status(self) -> CameraStatus:
        """The camera's current state."""
        return self._status

    def start(self) -> None:
        """Start the camera thread (a camera that is running already is left alone)."""
        if self._thread is not None and self._thread.is_alive() and not self._stop.is_set():
            return
        self._stop = threading.Event()
        self._thread = threading.Thread(
            target=self._run, args=(self._stop,), name="kiosk-camera", daemon=True
        )
        self._thread.start()

    def stop(self, timeout: float = 2.0) -> None:
        """Stop the thread and wait for it up to ``timeout`` s.

        The thread reports "off" as it ends. One stuck inside a driver call is left to
        end by itself (it is a daemon, and reports nothing more); the status is "off" then.
        """
        self._stop.set()
        thread = self._thread
        if thread is None or thread is threading.current_thread():
            return
        thread.join(timeout)
        if thread.is_alive():
            log.warning("camera thread still busy after %.1f s; left to end by itself", timeout)
            with self._status_lock:
                self._status = CameraStatus(OFF, "camera stopped", time.time())

    # -- the thread --

    def _run(self, stop: threading.Event) -> None:
        """Open, read, decode, report; on any loss close, wait and try again, until stopped."""
        self._set_status(stop, STARTING, "opening the camera")
        while not stop.is_set():
            source: FrameSource | None = None
            try:
                source = self.source()
                source.open()
            except Exception as error:  # noqa: BLE001 - CameraUnavailable, or a broken factory
                message = (
                    str(error)
                    if isinstance(error, CameraUnavailable)
                    else f"{getattr(source, 'name', 'camera')} did not open: {error!r}"
                )
                self._close(source)
                self._set_status(stop, LOST, message)
                stop.wait(self.retry_every)
                continue
            try:
                self._stream(source, stop)
            except Exception as error:  # a source whose read raises (a webcam unplugged)
                self._set_status(stop, LOST, f"{source.name} stopped sending pictures: {error!r}")
                log.debug("camera read failed", exc_info=True)
            finally:
                self._close(source)
            if not stop.is_set():
                stop.wait(self.retry_every)
        self._set_status(stop, OFF, "camera stopped")

    def _stream(self, source: FrameSource, stop: threading.Event) -> None:
        """Read frames from an open source until it is lost or the camera is stopped."""
        period = 1.0 / self.max_fps if self.max_fps > 0 else 0.0
        preview_period = 1.0 / self.preview_fps if self.preview_fps > 0 else math.inf
        last_frame = time.monotonic()
        last_preview = -math.inf
        last_decode = -math.inf
        last_motion = last_frame
        thumbnail: np.ndarray | None = None
        detections: list[Detection] = []
        self.scans.reset()  # (re)opened: whatever is in front of the camera now is new
        while not stop.is_set():
            started = time.monotonic()
            frame = source.read()
            if frame is None:
                if time.monotonic() - last_frame > self.frame_timeout:
                    message = f"no picture from {source.name} for {self.frame_timeout:g} s"
                    self._set_status(stop, LOST, message)
                    return
                stop.wait(period or 0.01)
                continue
            last_frame = time.monotonic()
            if self._status.state != RUNNING:
                self._set_status(stop, RUNNING, f"{source.name} is sending pictures")
            if self.idle_fps is not None:
                previous, thumbnail = thumbnail, _thumbnail(frame)
                if previous is None or _moved(previous, thumbnail):
                    last_motion = started
            still = started - last_motion >= self.still_after and not detections
            new: list[str] = []
            if (
                self.idle_fps is None
                or not still
                or started - last_decode >= 1.0 / max(self.idle_fps, 1e-6)
            ):
                last_decode = started
                detections = self._decode(frame)
                self.decoded += 1
                if stop.is_set():  # stopped while decoding: report nothing more
                    return
                new = self.scans.feed((d.text for d in detections), source.clock())
                for text in new:
                    detection = next(d for d in detections if d.text == text)
                    self._call("on_scan", self.on_scan, detection)
            if self.on_frame is not None and (new or started - last_preview >= preview_period):
                last_preview = started
                small, shown = _preview(frame, detections)
                self._call("on_frame", self.on_frame, small, shown)
            # rest until the next frame is due, and a little even when decoding ran late
            stop.wait(max(started + period - time.monotonic(), 0.002))

    def _decode(self, frame: np.ndarray) -> list[Detection]:
        """The decoder's detections; a decoder that raises counts as one that saw nothing."""
        try:
            return [d for d in self.decoder.decode(frame) if isinstance(d.text, str)]
        except Exception:  # noqa: BLE001 - the thread must never die of a bad frame
            self._log_error("decode")
            return []

    def _call(self, name: str, callback: Callable[..., Any], *args: Any) -> None:
        """Run a callback; its exception is logged, never raised into the thread."""
        try:
            callback(*args)
        except Exception:  # noqa: BLE001 - the thread must never die of a callback
            self._log_error(name)

    def _log_error(self, name: str) -> None:
        """Log the exception being handled, at most once every 10 s for each ``name``."""
        now = time.monotonic()
        if now - self._last_error_log.get(name, -math.inf) >= 10.0:
            self._last_error_log[name] = now
            log.exception("camera: %s failed (further failures within 10 s not logged)", name)

    def _close(self, source: FrameSource | None) -> None:
        """Close a source, whatever it does."""
        if source is None:
            return
        try:
            source.close()
        except Exception:
            log.debug("closing %s failed", getattr(source, "name", "camera"), exc_info=True)

    def _set_status(self, stop: threading.Event, state: str, message: str) -> None:
        """Record a state change, log it and tell ``on_status``, from the camera thread.

        Nothing happens if the state is the same, or if this thread was told to stop
        (except its last word, "off"), or was replaced by a newer thread.
        """
        with self._status_lock:
            stale = stop is not self._stop or (stop.is_set() and state != OFF)
            if stale or self._status.state == state:
                return
            self._status = CameraStatus(state, message, time.time())
            status = self._status
        level = logging.WARNING if state == LOST else logging.INFO
        log.log(level, "camera %s: %s", state, message)
        if self.on_status is not None:
            self._call("on_status", self.on_status, status)


THUMBNAIL = (80, 60)
"""Size of the grey thumbnails compared to tell a still scene from a moving one."""


def _thumbnail(frame: np.ndarray) -> np.ndarray:
    """A small grey copy of ``frame``: averaging over 8x8 blocks evens out sensor noise."""
    small = cv2.resize(frame, THUMBNAIL, interpolation=cv2.INTER_AREA)
    if small.ndim == 3:
        small = cv2.cvtColor(small, cv2.COLOR_BGR2GRAY)
    return small.astype(np.int16)


def _moved(before: np.ndarray, after: np.ndarray) -> bool:
    """Whether something moved between two thumbnails (a change of light alone is not)."""
    difference = after - before
    difference -= np.int16(np.median(difference))  # the exposure or the light changed
    changed = np.count_nonzero(np.abs(difference) > 12)
    return changed > difference.size // 500  # 0.2 %: ten thumbnail pixels


def _preview(frame: np.ndarray, detections: list[Detection]) -> tuple[np.ndarray, list[Detection]]:
    """A copy of ``frame`` at most :data:`PREVIEW_WIDTH` wide, and detections scaled to it."""
    height, width = frame.shape[:2]
    if width <= PREVIEW_WIDTH:
        return frame.copy(), list(detections)
    factor = PREVIEW_WIDTH / width
    small = cv2.resize(
        frame, (PREVIEW_WIDTH, max(1, round(height * factor))), interpolation=cv2.INTER_AREA
    )
    shown: list[Detection] = []
    for detection in detections:
        try:
            polygon = tuple((round(x * factor), round(y * factor)) for x, y in detection.polygon)
            shown.append(dataclasses.replace(detection, polygon=polygon))  # type: ignore[type-var]
        except (TypeError, ValueError, AttributeError):
            shown.append(detection)
    return small, shown
