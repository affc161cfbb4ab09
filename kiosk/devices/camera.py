"""The kiosk's camera: frames from a webcam (or a simulation) decoded on their own thread.

A child holds a card or a book up to an ordinary USB webcam; :class:`Camera` reads
frames on one daemon thread, hands each to the decoder, turns the stream of detections
into scans (:class:`ScanFilter`: the same code held up for two seconds is one scan, the
same code shown again after it was taken away is a new one) and reports three things
through callbacks: a new scan, a small preview frame, and a status change. A camera that
never opens, is unplugged, or stops sending frames is reported as "lost" and retried
until it works again, so replugging resumes by itself; the rest of the kiosk (and the
keyboard-wedge scanner) never waits for it.

Frame sources sit behind one small interface (:class:`FrameSource`); the real one is
:class:`OpenCVSource` (a webcam by index or path, or a phone's MJPEG stream by URL).
The simulated sources of the demo, the tests and the benchmarks are test equipment and
live in :mod:`kiosk.devices.simulated`.

This module never touches the database and never imports textual: the UI receives plain
values from the camera thread and moves them onto its own thread itself.
"""

from __future__ import annotations

import dataclasses
import logging
import math
import os
import threading
import time
from abc import ABC, abstractmethod
from collections.abc import Callable, Iterable
from dataclasses import dataclass
from typing import TYPE_CHECKING, Any, Protocol

import cv2
import numpy as np

if TYPE_CHECKING:  # the camera only needs "something with decode(image)"
    from kiosk.devices.decoder import Detection

log = logging.getLogger(__name__)

# FFmpeg (video files, network cameras) logs to stderr through its own av_log, set up
# once, at its first use in the process: ask OpenCV to keep it quiet (-8) from the start.
os.environ.setdefault("OPENCV_FFMPEG_LOGLEVEL", "-8")

PREVIEW_WIDTH = 160
"""Width in pixels of the frames handed to ``on_frame``: enough for a terminal preview."""


class CameraUnavailable(Exception):
    """A frame source could not be opened; the message says so in plain English."""


# -- quiet OpenCV ----------------------------------------------------------------------

_opencv_quiet = False


def quiet_opencv() -> None:
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
        quiet_opencv()
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

    A barcode the decoder could not confirm within one frame (``confirmed=False``: one
    engine read it once, nobody contradicted it, and a wrong ISBN would be a wrong
    book) becomes a scan only when the next decoded frame holds the same code: another
    exposure, other noise, the hand moved.

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
        accepted: list[Detection] = []  # detections confirmed, or seen in the frame before
        seen_before: set[str] = set()  # the texts decoded in the frame decoded last
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
                accepted = [d for d in detections if _confirmed(d) or d.text in seen_before]
                seen_before = {d.text for d in detections}
                new = self.scans.feed((d.text for d in accepted), source.clock())
                for text in new:
                    detection = next(d for d in accepted if d.text == text)
                    self._call("on_scan", self.on_scan, detection)
            if self.on_frame is not None and (new or started - last_preview >= preview_period):
                last_preview = started
                small, shown = _preview(frame, accepted)
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


def _confirmed(detection: Detection) -> bool:
    """Whether a detection is a scan from one frame (a barcode no second opinion
    confirmed needs the same code in the next decoded frame: see ``Detection.confirmed``)."""
    return bool(getattr(detection, "confirmed", True))


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
