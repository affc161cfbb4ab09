"""The camera: scans counted the way a child means them, and a camera that always comes back.

No test needs a webcam: frames come from the simulated sources (generated frames, a
folder of images, a video file written here), decoded by the real decoder. A source that
never opens, stops sending frames, raises, or is "unplugged" and "replugged" must leave
the camera thread alive, report "lost", retry, and scan again once it works. Small
retry and timeout values keep the file to a few seconds.

Under ``CI=true`` a missing libzbar is a failure, elsewhere these tests are skipped.
"""

from __future__ import annotations

import os
import re
import threading
import time
from collections.abc import Callable, Iterator
from pathlib import Path

import cv2
import numpy as np
import pytest

from kiosk.devices.camera import (
    Camera,
    CameraStatus,
    CameraUnavailable,
    FrameSource,
    OpenCVSource,
    ScanFilter,
)
from kiosk.devices.decoder import Decoder, Detection
from kiosk.devices.simulated import FolderSource, GeneratedSource, VideoSource, make_frame

CARD = "LK.2021060107.1.DS76WBHBGURY5JQ4"
BOOK = "21060107"
ISBN = "9787115000019"


@pytest.fixture(scope="module")
def decoder() -> Decoder:
    """The real decoder, with libzbar (skipped without it, except under CI where it fails)."""
    real = Decoder()
    if "zbar" not in real.engines:
        message = f"libzbar is needed: {real.missing.get('zbar', 'not installed')}"
        if os.environ.get("CI") == "true":
            pytest.fail(message)
        pytest.skip(message)
    return real


def wait_for(condition: Callable[[], bool], timeout: float = 10.0) -> bool:
    """Poll ``condition`` (the camera runs on its own thread) until true or ``timeout``."""
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        if condition():
            return True
        time.sleep(0.005)
    return condition()


class Recorder:
    """Collects what a camera reports, from its thread."""

    def __init__(self) -> None:
        self.scans: list[Detection] = []
        self.frames: list[tuple[np.ndarray, list[Detection]]] = []
        self.states: list[str] = []
        self.lock = threading.Lock()

    def on_scan(self, detection: Detection) -> None:
        with self.lock:
            self.scans.append(detection)

    def on_frame(self, frame: np.ndarray, detections: list[Detection]) -> None:
        with self.lock:
            self.frames.append((frame, detections))

    def on_status(self, status: CameraStatus) -> None:
        with self.lock:
            self.states.append(status.state)

    @property
    def texts(self) -> list[str]:
        with self.lock:
            return [d.text for d in self.scans]


@pytest.fixture
def recorder() -> Recorder:
    return Recorder()


@pytest.fixture
def cameras() -> Iterator[list[Camera]]:
    """Cameras a test starts; every one is stopped afterwards, whatever happened."""
    made: list[Camera] = []
    yield made
    for camera in made:
        camera.stop()


def camera_for(
    cameras: list[Camera],
    source: Callable[[], FrameSource],
    decoder: object,
    recorder: Recorder,
    **options: float | None,
) -> Camera:
    """A started camera reporting to ``recorder``, fast timings unless overridden."""
    settings: dict[str, float | None] = {
        "max_fps": 1000.0,
        "preview_fps": 8.0,
        "retry_every": 0.05,
        "frame_timeout": 0.3,
    }
    settings.update(options)
    camera = Camera(
        source,
        decoder,  # type: ignore[arg-type]
        on_scan=recorder.on_scan,
        on_frame=recorder.on_frame,
        on_status=recorder.on_status,
        **settings,  # type: ignore[arg-type]
    )
    cameras.append(camera)
    camera.start()
    return camera


# -- the debounce ----------------------------------------------------------------------


def held(filter_: ScanFilter, codes: list[str], start: float, seconds: float, fps: float = 15.0):
    """Feed ``codes`` in every frame for ``seconds`` at ``fps``; the new scans, in order."""
    scans: list[str] = []
    frames = round(seconds * fps)
    for n in range(frames):
        scans += filter_.feed(codes, start + n / fps)
    return scans


def test_a_code_held_for_two_seconds_is_one_scan() -> None:
    filter_ = ScanFilter()
    assert held(filter_, [CARD], 0.0, 2.0) == [CARD]


def test_a_code_taken_away_and_shown_again_is_a_new_scan() -> None:
    filter_ = ScanFilter()
    scans = held(filter_, [BOOK], 0.0, 2.0)
    scans += held(filter_, [], 2.0, 1.0)  # taken away for a second
    scans += held(filter_, [BOOK], 3.0, 2.0)
    assert scans == [BOOK, BOOK]


def test_frames_the_decoder_missed_do_not_make_a_second_scan() -> None:
    filter_ = ScanFilter(absent_after=0.8)
    scans = held(filter_, [BOOK], 0.0, 1.0)
    scans += held(filter_, [], 1.0, 0.6)  # 9 frames unread: a hand moved
    scans += held(filter_, [BOOK], 1.6, 1.0)
    assert scans == [BOOK]


def test_two_codes_in_one_frame_are_two_scans() -> None:
    filter_ = ScanFilter()
    assert held(filter_, [BOOK, ISBN], 0.0, 2.0) == [BOOK, ISBN]
    assert filter_.feed([BOOK, BOOK, CARD], 2.1) == [CARD]


# -- generated frames through the real camera and decoder --------------------------------


def test_make_frame_is_a_webcam_frame() -> None:
    frame = make_frame(CARD, size=(640, 480), tilt=30, rng=1)
    assert frame.shape == (480, 640, 3) and frame.dtype == np.uint8
    again = make_frame(CARD, size=(640, 480), tilt=30, rng=1)
    assert np.array_equal(frame, again)  # a seed gives the same frame
    empty = make_frame(None, rng=1)
    assert float(np.std(empty)) > 10  # a textured scene, not a flat fill


def test_each_code_held_up_is_scanned_once_in_order(
    decoder: Decoder, recorder: Recorder, cameras: list[Camera]
) -> None:
    codes = [CARD, BOOK, BOOK]  # the same label twice: two copies of one title
    source = GeneratedSource(
        codes, fps=5, hold=2.0, gap=1.0, max_tilt=30, seed=3, loop=False, realtime=False
    )
    camera = camera_for(cameras, lambda: source, decoder, recorder, retry_every=5.0)
    assert wait_for(lambda: camera.status.state == "lost", timeout=30)  # the stream ended
    assert recorder.texts == codes
    assert recorder.states[:3] == ["starting", "running", "lost"]
    # the previews are small copies, with the codes outlined on them
    outlined = [(f, d) for f, d in recorder.frames if d]
    assert outlined and all(f.shape[1] == 160 for f, _ in recorder.frames)
    for frame, detections in outlined:
        for detection in detections:
            assert all(0 <= x <= 160 and 0 <= y <= frame.shape[0] for x, y in detection.polygon)


def test_a_preview_is_sent_for_each_scan_but_otherwise_at_most_preview_fps(
    decoder: Decoder, recorder: Recorder, cameras: list[Camera]
) -> None:
    source = GeneratedSource([BOOK], fps=15, hold=1.0, gap=0.5, seed=1, realtime=True)
    started = time.monotonic()
    camera = camera_for(cameras, lambda: source, decoder, recorder, max_fps=15, preview_fps=4)
    assert wait_for(lambda: len(recorder.texts) >= 1, timeout=5)
    time.sleep(0.5)
    camera.stop()
    elapsed = time.monotonic() - started
    assert len(recorder.frames) <= elapsed * 4 + 1 + len(recorder.texts)


class Counting:
    """The real decoder, counting the frames it is given."""

    def __init__(self, decoder: Decoder) -> None:
        self.decoder = decoder
        self.calls = 0
        self.first_card: int | None = None  # Shelf.card_reads when a card was first decoded
        self.shelf: Shelf | None = None

    def decode(self, image: np.ndarray) -> list[Detection]:
        self.calls += 1
        shelf = self.shelf
        if shelf is not None and image is shelf.card and self.first_card is None:
            self.first_card = shelf.card_reads
        return self.decoder.decode(image)


class Shelf(FrameSource):
    """The attract screen's view: the same empty shelf, until a card is held up."""

    name = "shelf"

    def __init__(self, seed: int) -> None:
        self.empty = make_frame(None, rng=seed)
        self.card = make_frame(CARD, tilt=10, rng=seed)
        self.shown = threading.Event()
        self.reads = 0
        self.card_reads = 0

    def open(self) -> None:
        pass

    def read(self) -> np.ndarray | None:
        self.reads += 1
        if self.shown.is_set():
            self.card_reads += 1
            return self.card
        return self.empty


def test_a_still_empty_scene_is_decoded_seldom_and_a_card_at_once(
    decoder: Decoder, recorder: Recorder, cameras: list[Camera]
) -> None:
    shelf = Shelf(seed=7)
    counting = Counting(decoder)
    counting.shelf = shelf
    camera = camera_for(cameras, lambda: shelf, counting, recorder, max_fps=100, idle_fps=4)
    camera.still_after = 0.2
    assert wait_for(lambda: camera.status.state == "running", timeout=2)
    time.sleep(0.6)
    # about 0.2 s of frames while the scene could still be settling, then 4 a second
    assert shelf.reads >= 20
    assert 2 <= counting.calls <= shelf.reads * 0.2 + 4 * 0.6 + 4 < shelf.reads
    shelf.shown.set()
    assert wait_for(lambda: recorder.texts == [CARD], timeout=2)
    assert counting.first_card == 1  # the card's very first frame was decoded
    # a card that stays in view is decoded every frame, still or not
    reads, calls = shelf.reads, counting.calls
    time.sleep(0.3)
    assert counting.calls - calls >= shelf.reads - reads - 1


def test_without_idle_fps_every_frame_is_decoded(
    decoder: Decoder, recorder: Recorder, cameras: list[Camera]
) -> None:
    shelf = Shelf(seed=8)
    counting = Counting(decoder)
    camera = camera_for(cameras, lambda: shelf, counting, recorder, max_fps=100, idle_fps=None)
    camera.still_after = 0.0
    time.sleep(0.5)
    camera.stop()
    assert shelf.reads >= 5
    assert counting.calls >= shelf.reads - 1  # the last one may be cut short by stop()


# -- sources that fail -----------------------------------------------------------------


class Socket:
    """A webcam's USB socket the test plugs and unplugs; sources made while unplugged fail."""

    def __init__(self, codes: list[str]) -> None:
        self.plugged = threading.Event()
        self.codes = codes
        self.opened = 0

    def source(self) -> FrameSource:
        if not self.plugged.is_set():
            return OpenCVSource("/dev/no-such-camera-here")
        self.opened += 1
        return Pluggable(self)


class Pluggable(GeneratedSource):
    """A generated stream that dies when the socket is unplugged, as a webcam's read does."""

    def __init__(self, socket: Socket) -> None:
        super().__init__(socket.codes, fps=15, hold=1.0, gap=0.3, seed=5, realtime=True)
        self.socket = socket

    def read(self) -> np.ndarray | None:
        if not self.socket.plugged.is_set():
            raise OSError("No such device")
        return super().read()


def test_a_camera_that_never_opens_is_retried_and_found_when_plugged_in(
    decoder: Decoder, recorder: Recorder, cameras: list[Camera], capfd: pytest.CaptureFixture
) -> None:
    socket = Socket([BOOK])
    camera = camera_for(cameras, socket.source, decoder, recorder, max_fps=15)
    assert wait_for(lambda: camera.status.state == "lost", timeout=2)
    assert "did not open" in camera.status.message
    time.sleep(0.3)  # several attempts while it is away
    assert recorder.states == ["starting", "lost"]
    socket.plugged.set()  # replugged
    assert wait_for(lambda: camera.status.state == "running", timeout=2)
    assert wait_for(lambda: recorder.texts == [BOOK], timeout=5)
    # unplugged while a book is held up, then plugged in again: scanning resumes
    socket.plugged.clear()
    assert wait_for(lambda: camera.status.state == "lost", timeout=2)
    socket.plugged.set()
    assert wait_for(lambda: len(recorder.texts) == 2, timeout=5)
    assert recorder.states == ["starting", "lost", "running", "lost", "running"]
    assert socket.opened == 2
    out, err = capfd.readouterr()
    assert out == "" and err == ""  # OpenCV's complaints never reach the terminal


def test_a_source_that_raises_when_opened_is_retried(
    decoder: Decoder, recorder: Recorder, cameras: list[Camera]
) -> None:
    attempts: list[int] = []

    class Broken(FrameSource):
        name = "broken camera"

        def open(self) -> None:
            attempts.append(1)
            if len(attempts) < 3:
                raise RuntimeError("driver crashed")

        def read(self) -> np.ndarray | None:
            return make_frame(BOOK, rng=len(attempts))

    camera = camera_for(cameras, Broken, decoder, recorder, max_fps=20)
    assert wait_for(lambda: recorder.texts == [BOOK], timeout=5)
    assert len(attempts) == 3
    assert recorder.states == ["starting", "lost", "running"]
    assert camera.status.state == "running"


def test_a_source_that_sends_no_frames_is_lost_after_frame_timeout(
    decoder: Decoder, recorder: Recorder, cameras: list[Camera]
) -> None:
    class Silent(FrameSource):
        name = "silent camera"

        def open(self) -> None:
            pass

        def read(self) -> np.ndarray | None:
            return None

    started = time.monotonic()
    camera = camera_for(
        cameras, Silent, decoder, recorder, frame_timeout=0.4, retry_every=5.0, max_fps=50
    )
    # (the status is set just before the listener hears of it: wait for the listener)
    assert wait_for(lambda: "lost" in recorder.states, timeout=3)
    took = time.monotonic() - started
    assert 0.4 <= took < 1.5
    assert camera.status.state == "lost"
    assert "no picture from silent camera" in camera.status.message
    assert recorder.states == ["starting", "lost"]


def test_opencv_source_on_a_missing_device_says_so_and_only_in_words(
    capfd: pytest.CaptureFixture,
) -> None:
    for device in (99, "/dev/no-such-camera-here", "rtsp://127.0.0.1:1/none"):
        with pytest.raises(CameraUnavailable, match="did not open"):
            OpenCVSource(device, open_timeout=1.0).open()
    out, err = capfd.readouterr()
    assert out == "" and err == ""  # neither OpenCV nor FFmpeg wrote to the terminal


# -- folder and video sources ----------------------------------------------------------


def test_folder_of_images_is_scanned_in_name_order(
    tmp_path: Path, decoder: Decoder, recorder: Recorder, cameras: list[Camera]
) -> None:
    shots = [CARD, CARD, None, BOOK, ISBN]  # two frames of one card are one scan
    for n, code in enumerate(shots):
        cv2.imwrite(str(tmp_path / f"{n:03d}.png"), make_frame(code, tilt=15, rng=n))
    (tmp_path / "notes.txt").write_text("not an image")
    source = FolderSource(tmp_path, fps=10, loop=False, realtime=False)
    camera = camera_for(cameras, lambda: source, decoder, recorder, retry_every=5.0)
    assert wait_for(lambda: camera.status.state == "lost", timeout=10)
    assert recorder.texts == [CARD, BOOK, ISBN]


def test_an_empty_folder_is_an_unavailable_camera(tmp_path: Path) -> None:
    with pytest.raises(CameraUnavailable, match="no images"):
        FolderSource(tmp_path).open()
    with pytest.raises(CameraUnavailable):
        FolderSource(tmp_path / "missing").open()


def write_video(path: Path, shots: list[str | None], fps: float = 10.0) -> None:
    """An MJPG .avi of one frame per entry of ``shots`` (a code, or ``None`` for no card)."""
    writer = cv2.VideoWriter(str(path), cv2.VideoWriter.fourcc(*"MJPG"), fps, (640, 480))
    assert writer.isOpened()
    rng = np.random.default_rng(2)
    for code in shots:
        writer.write(make_frame(code, tilt=10, rng=rng))
    writer.release()


def test_a_video_file_is_scanned_with_its_own_timing(
    tmp_path: Path, decoder: Decoder, recorder: Recorder, cameras: list[Camera]
) -> None:
    video = tmp_path / "desk.avi"
    # at 5 fps: a book for 0.6 s, away for 1.2 s, the same book again, then a card
    write_video(video, [BOOK] * 3 + [None] * 5 + [BOOK] * 3 + [CARD] * 3, fps=5.0)
    source = VideoSource(video, loop=False, realtime=False)
    camera = camera_for(cameras, lambda: source, decoder, recorder, retry_every=5.0)
    assert wait_for(lambda: camera.status.state == "lost", timeout=10)
    assert recorder.texts == [BOOK, BOOK, CARD]
    assert source.fps == pytest.approx(5.0)


def test_a_looping_video_starts_again_at_its_end(tmp_path: Path) -> None:
    video = tmp_path / "short.avi"
    write_video(video, [None, BOOK, None])
    source = VideoSource(video, loop=True, realtime=False)
    source.open()
    first = source.read()
    start = source.clock()
    frames = [first] + [source.read() for _ in range(6)]
    assert source.clock() - start == pytest.approx(6 / 10.0)  # its time runs on across loops
    source.close()
    assert all(f is not None and f.shape == (480, 640, 3) for f in frames)
    assert np.array_equal(frames[1], frames[4])  # type: ignore[arg-type]  # one loop later
    with pytest.raises(CameraUnavailable):
        VideoSource(tmp_path / "none.avi").open()


# -- the thread survives everything ----------------------------------------------------


def test_stop_returns_quickly_while_running_and_while_retrying(
    decoder: Decoder, recorder: Recorder
) -> None:
    running = Camera(
        lambda: GeneratedSource([CARD], seed=2),
        decoder,
        on_scan=recorder.on_scan,
        on_status=recorder.on_status,
        max_fps=12,
    )
    running.start()
    assert wait_for(lambda: running.status.state == "running", timeout=3)
    started = time.monotonic()
    running.stop()
    assert time.monotonic() - started < 2.0
    assert running.status.state == "off"
    assert recorder.states == ["starting", "running", "off"]  # "off" from the camera thread
    assert not any(t.name == "kiosk-camera" and t.is_alive() for t in threading.enumerate())

    retrying = Camera(
        lambda: OpenCVSource("/dev/no-such-camera-here"),
        decoder,
        on_scan=recorder.on_scan,
        retry_every=30.0,
    )
    retrying.start()
    assert wait_for(lambda: retrying.status.state == "lost", timeout=2)
    started = time.monotonic()
    retrying.stop()
    assert time.monotonic() - started < 2.0
    assert retrying.status.state == "off"


def test_callbacks_and_a_decoder_that_raise_do_not_kill_the_thread(
    decoder: Decoder, cameras: list[Camera], caplog: pytest.LogCaptureFixture
) -> None:
    scans: list[str] = []
    decoded = [0]

    class Moody:
        """The real decoder, except that every third frame it raises."""

        def decode(self, image: np.ndarray) -> list[Detection]:
            decoded[0] += 1
            if decoded[0] % 3 == 0:
                raise cv2.error("OpenCV raised on a real image")
            return decoder.decode(image)

    def on_scan(detection: Detection) -> None:
        scans.append(detection.text)
        raise ValueError("the screen was busy")

    def broken(*_: object) -> None:
        raise RuntimeError("preview widget went away")

    source = GeneratedSource([CARD, BOOK], fps=6, hold=1.0, gap=1.0, seed=4, loop=False,
                             realtime=False)  # fmt: skip
    camera = Camera(
        lambda: source,
        Moody(),
        on_scan=on_scan,
        on_frame=broken,
        on_status=broken,
        max_fps=1000,
        frame_timeout=0.3,
        retry_every=5.0,
    )
    cameras.append(camera)
    camera.start()
    assert wait_for(lambda: camera.status.state == "lost", timeout=10)
    assert scans == [CARD, BOOK]
    assert camera._thread is not None and camera._thread.is_alive()  # still retrying
    failures = {r.getMessage().split(" failed")[0] for r in caplog.records}
    assert {
        "camera: on_scan",
        "camera: on_frame",
        "camera: on_status",
        "camera: decode",
    } <= failures


# -- a barcode read once is confirmed by the next frame -----------------------------------


class Frames(FrameSource):
    """A camera showing the given frames in turn, once each, then nothing."""

    name = "frames"

    def __init__(self, frames: list[np.ndarray]) -> None:
        self.frames = frames
        self.index = 0

    def open(self) -> None:
        pass

    def read(self) -> np.ndarray | None:
        if self.index >= len(self.frames):
            return None
        self.index += 1
        return self.frames[self.index - 1]


def test_a_barcode_no_second_opinion_confirmed_needs_the_next_frame_too(
    recorder: Recorder, cameras: list[Camera]
) -> None:
    """The scratched ISBN's misread, alone in a frame, is never a scan; in two frames running
    it is (a real camera's next frame has other noise: a misread seldom repeats)."""
    from test_decoder import scratched_isbn

    decoder = Decoder(keep_unconfirmed=True, budget_ms=None)
    misread, empty = scratched_isbn(), make_frame(None, rng=1)
    flicker = [empty, misread, empty, misread, empty, misread]
    camera = camera_for(cameras, lambda: Frames(flicker), decoder, recorder,
                        retry_every=5.0)  # fmt: skip
    assert wait_for(lambda: camera.status.state == "lost", timeout=10)
    assert recorder.texts == []
    held = Recorder()
    camera = camera_for(cameras, lambda: Frames([empty, misread, misread]), decoder, held,
                        retry_every=5.0)  # fmt: skip
    assert wait_for(lambda: camera.status.state == "lost", timeout=10)
    assert held.texts == ["9782613016654"]


@pytest.mark.slow
def test_a_generated_webcam_video_is_read_soon_after_the_card_is_in_view(
    decoder: Decoder, cameras: list[Camera]
) -> None:
    """The time-to-read benchmark's videos: the card arrives, the real camera scans it."""
    from kiosk.devices.simulated.motion import SequenceSource, make_sequence

    video = make_sequence("card", seed=3)
    assert make_sequence("card", seed=3).in_view == video.in_view  # a seed, the same video
    assert decoder.decode(video.frames[0]) == []  # the shelf, before the card
    source = SequenceSource(video)
    scanned: list[tuple[float, str]] = []
    camera = Camera(lambda: source, decoder, max_fps=12, retry_every=60.0, frame_timeout=0.2,
                    on_scan=lambda d: scanned.append((time.monotonic(), d.text)))  # fmt: skip
    cameras.append(camera)
    camera.start()
    assert wait_for(lambda: camera.status.state == "lost", timeout=15)
    assert [text for _, text in scanned] == [video.text]
    assert 0 <= scanned[0][0] - source.time_of(video.in_view) < 3.0


# -- the real capture path: a phone's MJPEG stream over HTTP ------------------------------


def test_opencv_reads_a_phone_webcam_stream_that_dies_and_comes_back(
    decoder: Decoder, recorder: Recorder, cameras: list[Camera], capfd: pytest.CaptureFixture
) -> None:
    """``[camera] device = "http://..."``: OpenCV's FFmpeg backend reads an MJPEG stream
    served here; the phone sleeping (connections cut, port closed) is a lost camera that
    is retried, and scanning resumes when the stream is back."""
    from mjpegkit import MjpegServer

    assert re.search(r"FFMPEG:\s+YES", cv2.getBuildInformation())  # the backend that reads it
    card = make_frame(CARD, tilt=10, rng=4)
    server = MjpegServer(lambda: card, fps=15)
    server.start()
    try:
        camera = camera_for(
            cameras,
            lambda: OpenCVSource(server.url, open_timeout=2.0, read_timeout=1.0),
            decoder,
            recorder,
            max_fps=12,
            retry_every=0.2,
            frame_timeout=0.5,
        )
        assert wait_for(lambda: recorder.texts == [CARD], timeout=10)
        assert camera.status.state == "running"
        server.die()
        assert wait_for(lambda: camera.status.state == "lost", timeout=5)
        time.sleep(0.6)  # retried meanwhile: connection refused
        assert camera.status.state == "lost"
        server.start()
        assert wait_for(lambda: recorder.texts == [CARD, CARD], timeout=10)
        assert recorder.states == ["starting", "running", "lost", "running"]
        assert server.connections >= 2
    finally:
        server.stop()
    out, err = capfd.readouterr()
    assert out == "" and err == ""  # neither OpenCV nor FFmpeg wrote to the terminal
