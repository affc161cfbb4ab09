"""Pilot tests with a simulated camera feeding real frames through the real decoder."""

from __future__ import annotations

import threading

import pytest
from uikit import make_app, post_scan, screen_name, screen_text, wait_until

from kiosk.devices.camera import Camera, CameraUnavailable, FrameSource
from kiosk.devices.decoder import Decoder
from kiosk.devices.setup import simulated_camera
from kiosk.devices.simulated import make_frame
from kiosk.widgets.camera_preview import CameraPreview


@pytest.fixture(scope="module")
def decoder() -> Decoder:
    return Decoder()


def camera_of(source_factory, decoder, **options):
    """A camera builder for the app: the real Camera on the given source."""

    def build(**callbacks):
        return Camera(source_factory, decoder, retry_every=0.1, frame_timeout=0.5,
                      **options, **callbacks)

    return build


async def test_card_and_book_shown_to_the_camera(circulation, make, decoder):
    patron = make.patron(name="王小明")
    code = make.card(patron)
    make.copy(make.title("草房子"), barcode="10000001")
    script = [(code, 1.5), ("10000001", 1.5), ("", 60.0)]
    camera = camera_of(lambda: simulated_camera(script, gap=0.5), decoder)
    app = make_app(circulation, camera=camera, bell=True)
    bells = []
    app.bell = lambda: bells.append(1)  # type: ignore[method-assign]
    async with app.run_test(size=(100, 30)) as pilot:
        await wait_until(pilot, lambda: "Hello, 王小明!" in screen_text(pilot), timeout=15)
        await wait_until(pilot, lambda: "Borrowed: “草房子”" in screen_text(pilot), timeout=15)
        preview = app.screen.query_one(CameraPreview)
        assert preview.frames_shown > 0
        assert bells, "a camera read beeps"
        assert "● Camera" in str(app.screen.query_one("#camera").render())


async def test_same_code_held_is_one_scan(circulation, make, decoder, facts):
    patron = make.patron()
    code = make.card(patron)
    make.copy(barcode="10000002")
    script = [(code, 1.0), ("10000002", 3.0), ("", 60.0)]
    app = make_app(circulation, camera=camera_of(lambda: simulated_camera(script, gap=0.5), decoder))
    async with app.run_test(size=(100, 30)) as pilot:
        await wait_until(pilot, lambda: "Borrowed" in screen_text(pilot), timeout=15)
        await pilot.pause(2.0)  # the book is still held up
        assert screen_name(pilot) == "PatronScreen"  # no "you already have it" dialog
    assert len(facts("checkout")) == 1


class Unplugged(FrameSource):
    """A webcam that is not there until ``plugged`` is set."""

    name = "USB webcam"
    plugged = threading.Event()

    def open(self) -> None:
        if not self.plugged.is_set():
            raise CameraUnavailable("no webcam at /dev/video0")

    def read(self):
        return make_frame("", rng=1)


async def test_camera_away_is_said_calmly_and_the_scanner_still_works(circulation, make, decoder):
    code = make.card(make.patron(name="李华"))
    Unplugged.plugged.clear()
    app = make_app(circulation, camera=camera_of(Unplugged, decoder))
    async with app.run_test(size=(100, 30)) as pilot:
        await wait_until(pilot, lambda: app.camera.state == "lost", timeout=5)
        await pilot.pause()
        assert "Camera not connected" in str(app.screen.query_one("#camera").render())
        preview = app.screen.query_one(CameraPreview)
        assert preview.has_class("-away")
        post_scan(pilot, code)  # the keyboard-wedge scanner works meanwhile
        await wait_until(pilot, lambda: screen_name(pilot) == "PatronScreen")
        Unplugged.plugged.set()  # replugged: it resumes by itself
        await wait_until(pilot, lambda: app.camera.state == "running", timeout=5)
        await wait_until(pilot, lambda: app.screen.query_one(CameraPreview).frames_shown > 0)
        assert "● Camera" in str(app.screen.query_one("#camera").render())


async def test_no_camera_no_preview(circulation):
    app = make_app(circulation)
    async with app.run_test(size=(100, 30)) as pilot:
        assert not app.screen.query(CameraPreview)
        assert app.camera.state == "off"
        await pilot.pause()
