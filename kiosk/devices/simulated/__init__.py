"""Test equipment: simulated cameras and the webcam-like pictures they show.

Used by the demo's simulated camera, the tests and the benchmarks, never on the
kiosk's path from a real webcam to a scan (that is :mod:`kiosk.devices.camera` and
:mod:`kiosk.devices.decoder`). :mod:`.scene` draws the pictures; :mod:`.sources` plays
them as frame sources.
"""

from __future__ import annotations

from kiosk.devices.simulated.scene import make_frame, render_card
from kiosk.devices.simulated.sources import (
    FolderSource,
    GeneratedSource,
    StreamSource,
    VideoSource,
)

__all__ = [
    "FolderSource",
    "GeneratedSource",
    "StreamSource",
    "VideoSource",
    "make_frame",
    "render_card",
]
