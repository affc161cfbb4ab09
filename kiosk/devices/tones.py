"""The kiosk's three sounds, made from notes: the recipe of ``assets/sounds/*.wav``.

Children do not read every screen, so the kiosk answers with a sound as well:

* ``done``: two quick notes going up (G5, C6), bright and short: "got it";
* ``refused``: two soft, lower notes going down (E4, C4): "not this time", never a
  harsh buzz;
* ``librarian``: a doorbell's "ding-dong", twice (E5, C5): "go and see the librarian".

Each note is a sine with a little of its octave, a 5 ms rise and an exponential fall,
16-bit mono at 16 kHz: 12 to 50 KB a sound. The WAV files in ``assets/sounds`` are
what this module makes (a test checks that they still are); make them again with::

    python -m kiosk.devices.tones assets/sounds
"""

from __future__ import annotations

import io
import math
import sys
import wave
from array import array
from pathlib import Path

RATE = 16_000
"""Samples a second (plenty for notes below 1.1 kHz and their octaves)."""

PEAK = 0.8
"""The loudest sample, as a share of the 16-bit range (room for the player)."""

# (frequency in Hz, seconds it sounds, seconds until the next note starts)
RECIPES: dict[str, tuple[tuple[float, float, float], ...]] = {
    "done": ((783.99, 0.12, 0.09), (1046.50, 0.30, 0.30)),
    "refused": ((329.63, 0.22, 0.20), (261.63, 0.45, 0.45)),
    "librarian": ((659.25, 0.35, 0.30), (523.25, 0.45, 0.42),
                  (659.25, 0.35, 0.30), (523.25, 0.55, 0.55)),
}
"""Every sound the kiosk plays, as notes."""


def samples(name: str) -> array[float]:
    """The sound ``name`` as floats from -1 to 1."""
    notes = RECIPES[name]
    length = sum(step for _, _, step in notes[:-1]) + notes[-1][1]
    out = array("d", bytes(8 * math.ceil(length * RATE)))
    start = 0.0
    for frequency, duration, step in notes:
        first = round(start * RATE)
        count = min(round(duration * RATE), len(out) - first)
        for i in range(count):
            time = i / RATE
            rise = min(1.0, time / 0.005)
            fall = math.exp(-4.0 * time / duration)
            wave_ = math.sin(2 * math.pi * frequency * time)
            wave_ += 0.25 * math.sin(4 * math.pi * frequency * time)
            out[first + i] += rise * fall * wave_ / 1.25
        start += step
    top = max(abs(value) for value in out) or 1.0
    return array("d", (value / top for value in out))


def wav_bytes(name: str, volume: float = 1.0) -> bytes:
    """The sound ``name`` as a WAV file's bytes, at ``volume`` (0 to 1) of its level."""
    scale = PEAK * max(0.0, min(1.0, volume)) * 32767
    pcm = array("h", (round(value * scale) for value in samples(name)))
    if sys.byteorder == "big":
        pcm.byteswap()
    buffer = io.BytesIO()
    with wave.open(buffer, "wb") as out:
        out.setnchannels(1)
        out.setsampwidth(2)
        out.setframerate(RATE)
        out.writeframes(pcm.tobytes())
    return buffer.getvalue()


def write_all(folder: Path) -> list[Path]:
    """Write every sound to ``folder`` as ``<name>.wav``; the paths written."""
    folder.mkdir(parents=True, exist_ok=True)
    written = []
    for name in RECIPES:
        path = folder / f"{name}.wav"
        path.write_bytes(wav_bytes(name))
        written.append(path)
    return written


if __name__ == "__main__":  # python -m kiosk.devices.tones assets/sounds
    for path in write_all(Path(sys.argv[1] if len(sys.argv) > 1 else "assets/sounds")):
        sys.stdout.write(f"{path} ({path.stat().st_size} bytes)\n")
