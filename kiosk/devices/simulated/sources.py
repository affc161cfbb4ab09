"""Simulated cameras for the demo, the tests and the benchmarks (test equipment).

Each is a :class:`~kiosk.devices.camera.FrameSource`, so the real
:class:`~kiosk.devices.camera.Camera` thread reads it exactly as it reads a webcam:
a folder of images (:class:`FolderSource`), a video file (:class:`VideoSource`), and
frames generated on the fly (:class:`GeneratedSource`): codes held up in turn in front
of a shelf, for ``kiosk demo --camera sim`` and for the tests. Their frames follow a
stream clock (:class:`StreamSource`), in real time like a webcam or, for tests, as fast
as they are read.
"""

from __future__ import annotations

import logging
import time
from collections.abc import Sequence
from pathlib import Path
from typing import Any

import cv2
import numpy as np

from kiosk.devices.camera import CameraUnavailable, FrameSource, quiet_opencv
from kiosk.devices.simulated.scene import Pose, background, expose, place, render_card

log = logging.getLogger(__name__)

IMAGE_SUFFIXES = (".png", ".jpg", ".jpeg", ".webp", ".bmp", ".tif", ".tiff")
"""The files :class:`FolderSource` shows, in name order."""


class StreamSource(FrameSource):
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


class FolderSource(StreamSource):
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


class VideoSource(StreamSource):
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
        quiet_opencv()
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


Showing = str | tuple[str, float]
"""One entry of a :class:`GeneratedSource`'s script: a code, or a code and its seconds."""


class GeneratedSource(StreamSource):
    """A simulated camera: codes held up in turn, each followed by ``gap`` s of empty scene.

    ``codes`` is the script: each entry a code (held up for ``hold`` s) or a
    ``(code, seconds)`` pair; an empty code is an empty scene for its seconds (no gap
    after it). The scene (a shelf of books) stays put as in front of a fixed kiosk
    camera; each showing of a code gets its own pose, tilted up to ``max_tilt`` degrees,
    that a hand moves slightly from frame to frame; light, blur, noise and compression
    are applied to every frame (see :func:`~kiosk.devices.simulated.scene.make_frame`).
    A ``steady`` source instead makes one picture per code, once, and shows it for every
    frame of every showing: a card held perfectly still, cheap enough for the demo's
    camera (``kiosk demo --camera sim``). The same ``seed`` gives the same stream. With no
    codes the stream is the empty scene forever; otherwise it starts again after the
    script's end if ``loop``, or ends (``read`` returns ``None``).
    """

    def __init__(
        self,
        codes: Sequence[Showing],
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
        steady: bool = False,
    ) -> None:
        super().__init__(fps, realtime)
        self.codes = [entry if isinstance(entry, str) else entry[0] for entry in codes]
        self.timeline: list[tuple[str | None, float]] = []
        """The script as (code or ``None`` for the empty scene, seconds), gaps included."""
        for entry in codes:
            code, seconds = (entry, hold) if isinstance(entry, str) else entry
            self.timeline.append((code or None, seconds))
            if code and gap > 0:
                self.timeline.append((None, gap))
        self._period = sum(seconds for _, seconds in self.timeline)
        self._showings = sum(1 for code, _ in self.timeline if code)
        self.size = size
        self.hold = hold
        self.gap = gap
        self.max_tilt = max_tilt
        self.blur = blur
        self.noise = noise
        self.seed = seed
        self.loop = loop
        self.steady = steady
        self.name = "simulated camera"
        self._scene: np.ndarray | None = None
        self._grain: list[np.ndarray] = []
        self._rng = np.random.default_rng(seed)
        self._showing = -1
        self._pose: Pose | None = None
        self._still: dict[str | None, np.ndarray] = {}

    def open(self) -> None:
        """Build the scene and a bank of sensor noise (the costly parts, done once)."""
        rng = np.random.default_rng(self.seed)
        self._scene = background(self.size, rng)
        width, height = self.size
        pad = 16  # frames use shifted windows of a few noise fields
        self._grain = [
            rng.normal(0, self.noise, (height + pad, width + pad, 3)).astype(np.float32)
            for _ in range(3)
        ] if self.noise > 0 else []  # fmt: skip
        self._rng = np.random.default_rng(self.seed + 1)
        self._showing = -1
        self._still = {}
        self._restart_clock()

    def code_at(self, index: int) -> tuple[int, str | None] | None:
        """Which showing frame ``index`` belongs to and its code (``None`` in a gap).

        Showings are numbered across loops. ``None`` altogether once a non-looping
        stream is over.
        """
        if self._period <= 0:
            return (-1, None)
        moment = index / self.fps
        loops = int(moment // self._period)
        if loops >= 1 and not self.loop:
            return None
        at = moment - loops * self._period
        showing = loops * self._showings - 1
        for code, seconds in self.timeline:
            if code:
                showing += 1
            if at < seconds:
                return max(showing, 0), code
            at -= seconds
        return max(showing, 0), None  # rounding at the very end of the script

    def _pose_for(self, showing: int) -> Pose:
        """The pose a showing starts in: its own tilt, turn, size and place."""
        pose_rng = np.random.default_rng((self.seed, showing))
        tilt = float(pose_rng.uniform(0, self.max_tilt))
        scale = 0.45 * float(pose_rng.uniform(0.85, 1.15))
        return Pose.random(tilt, scale, pose_rng)

    def read(self) -> np.ndarray | None:
        """The frame due now."""
        if self._scene is None:
            return None
        index = self._next_index()
        where = self.code_at(index)
        if where is None:
            return None
        showing, code = where
        if self.steady:
            return self._steady_frame(showing, code)
        rng = self._rng
        scene = self._scene
        if code is not None:
            if showing != self._showing:
                self._pose = self._pose_for(showing)
                self._showing = showing
            assert self._pose is not None
            self._pose = self._pose.jitter(rng)
            scene = place(scene, render_card(code), self._pose)
        grain = self._grain_window(rng)
        light = (1.0, float(rng.uniform(0.95, 1.05)), float(rng.uniform(-4, 4)))
        return expose(scene, light, self.blur, grain, 85)

    def _grain_window(self, rng: np.random.Generator) -> np.ndarray | None:
        """Sensor noise for one frame: a shifted window of one of the noise fields."""
        if not self._grain:
            return None
        width, height = self.size
        field = self._grain[int(rng.integers(len(self._grain)))]
        dx, dy = (int(v) for v in rng.integers(0, 16, 2))
        return field[dy : dy + height, dx : dx + width]

    def _steady_frame(self, showing: int, code: str | None) -> np.ndarray:
        """The one picture of ``code`` (made at its first showing and kept)."""
        frame = self._still.get(code)
        if frame is None:
            assert self._scene is not None
            scene = self._scene
            if code is not None:
                scene = place(scene, render_card(code), self._pose_for(showing))
            frame = expose(scene, (1.0, 1.0, 0.0), self.blur, self._grain_window(self._rng), 85)
            frame.flags.writeable = False  # shown again and again: nobody may draw on it
            self._still[code] = frame
        return frame

    def close(self) -> None:
        """Drop the scene."""
        self._scene = None
        self._grain = []
        self._still = {}
