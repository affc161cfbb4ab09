"""Making the kiosk's camera from its setting: a webcam, the simulator, or none."""

from __future__ import annotations

import logging
from collections.abc import Callable, Sequence
from typing import Any

from kiosk.devices.camera import Camera, FrameSource, OpenCVSource
from kiosk.devices.decoder import Decoder

log = logging.getLogger(__name__)

SIM_GAP = 1.0
"""Seconds of empty scene the simulated camera shows after each code of its script."""


def camera_builder(
    setting: str, *, sim_codes: Sequence[tuple[str, float]] | None = None
) -> Callable[..., Any] | None:
    """A function that makes the camera with the app's callbacks, or ``None`` for "off".

    ``setting`` is a device index ("0"), a device path or URL, "sim" (the simulated
    camera playing ``sim_codes``: ``(code, seconds)`` pairs, an empty code an empty
    picture, in a loop; see :class:`~kiosk.devices.simulated.GeneratedSource`) or "off".
    """
    if setting == "off":
        return None

    decoder = Decoder(keep_unconfirmed=True)  # the camera confirms those with the next frame
    for engine, hint in decoder.missing.items():
        log.warning("decoder %s unavailable: %s", engine, hint)
    source: Callable[[], FrameSource]
    if setting == "sim":
        # without a script (not the demo) the simulator shows an empty scene
        script = list(sim_codes or [("", 1.0)])
        source = lambda: simulated_camera(script)
    else:
        device: int | str = int(setting) if setting.isdigit() else setting
        source = lambda: OpenCVSource(device)

    def build(**callbacks: Any) -> Any:
        return Camera(source, decoder, **callbacks)

    return build


def simulated_camera(script: Sequence[tuple[str, float]], gap: float = SIM_GAP) -> FrameSource:
    """The demo's simulated camera: each ``(code, seconds)`` held up still, in a loop.

    Each code is shown that long (an empty code is an empty scene), with ``gap``
    seconds of empty scene after it; one picture per code, made once, tilted a little,
    so the simulation costs the kiosk's computer next to nothing. The camera paces the
    reading.
    """
    from kiosk.devices.simulated import GeneratedSource  # test equipment: loaded for "sim" only

    return GeneratedSource(script, gap=gap, steady=True, max_tilt=20.0, seed=7)
