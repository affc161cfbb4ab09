"""Making the kiosk's camera from its setting: a webcam, the simulator, or none."""

from __future__ import annotations

import logging
import time
from collections.abc import Callable, Sequence
from typing import Any

import numpy as np

from kiosk.devices.camera import Camera, FrameSource, OpenCVSource
from kiosk.devices.simulated import make_frame
from kiosk.devices.decoder import Decoder

log = logging.getLogger(__name__)

def camera_builder(
    setting: str, *, sim_codes: Sequence[tuple[str, float]] | None = None
) -> Callable[..., Any] | None:
    """A function that makes the camera with the app's callbacks, or ``None`` for "off".

    ``setting`` is a device index ("0"), a device path, "sim" (the simulated camera
    playing ``sim_codes``: ``(code, seconds)`` pairs, an empty code an empty
    picture) or "off".
    """
    if setting == "off":
        return None

    decoder = Decoder()
    for engine, hint in decoder.missing.items():
        log.warning("decoder %s unavailable: %s", engine, hint)
    source: Callable[[], FrameSource]
    if setting == "sim":
        # without a script (not the demo) the simulator shows an empty scene
        script = list(sim_codes or [("", 1.0)])
        source = lambda: ScriptedSource(script)
    else:
        device: int | str = int(setting) if setting.isdigit() else setting
        source = lambda: OpenCVSource(device)

    def build(**callbacks: Any) -> Any:
        return Camera(source, decoder, **callbacks)

    return build


class ScriptedSource(FrameSource):
    """The simulated camera of the demo: codes held up in turn, as a child would.

    Each ``(code, seconds)`` of the script is shown that long (an empty code is an
    empty scene), with ``gap`` seconds of empty scene between codes, in a loop; the
    pictures are made with :func:`kiosk.devices.simulated.make_frame`. The camera paces
    the reading.
    """

    name = "simulated camera"

    def __init__(self, script: Sequence[tuple[str, float]], gap: float = 1.0) -> None:
        self._rng = np.random.default_rng(7)
        self._make = make_frame
        self._timeline: list[tuple[str, float]] = []
        for code, seconds in script:
            self._timeline.append((code, seconds))
            if code:
                self._timeline.append(("", gap))
        self._period = sum(seconds for _, seconds in self._timeline) or 1.0
        self._start = 0.0
        self._frames: dict[str, Any] = {}

    def open(self) -> None:
        self._start = time.monotonic()

    def read(self) -> Any:
        at = (time.monotonic() - self._start) % self._period
        for code, seconds in self._timeline:
            if at < seconds:
                break
            at -= seconds
        if code not in self._frames:  # one picture per code, made once
            self._frames[code] = self._make(code, tilt=12.0, rng=self._rng)
        return self._frames[code]

    def close(self) -> None:
        self._frames.clear()
