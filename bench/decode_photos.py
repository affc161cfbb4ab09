"""The decoder on hard generated photos: the tune split and the held-out split, beside the goals.

    python bench/decode_photos.py [--count 400] [--split tune|held-out|both] [--save DIR] [-v]

The photos come from :mod:`kiosk.devices.simulated.photos` (QR cards in several
charsets, EAN-13, Code 128, Code 39, and scenes with no code; small, blurred, tilted,
glare, low light, JPEG, perspective), made again from their seeds at every run. Choose
on ``tune``; ``held-out`` is made from other seeds and another recipe and is only
measured. Each split prints a row per kind of photo and the final line of
``kiosk decode-bench``, on one core (``cv2.setNumThreads(1)``).

``--save DIR`` also writes the photos as PNG in the layout of ``shared/corpus/real-dev``
(a folder per kind, a ``.txt`` beside each photo, ``falsepositives-nocode`` for the
scenes without a code), so any checkout can measure the same photos with
``kiosk decode-bench DIR/tune`` (that is how the "before" figures were taken).

Last run (2026-12-06, 400 photos a split, load average 0.8; main's code on the same saved
photos for "before"):

    tune      after  read 239/311 false 0 mean 14.2 ms p95 24.2 ms
              before read 142/311 false 39 (QR text in the wrong charset)
    held-out  after  read 211/322 false 0 mean 14.3 ms p95 23.5 ms
              before read 134/322 false 41 (40 QR charsets, 1 EAN-13)

The mean is over the 10 ms goal on these photos (before too, ~12 ms): a third of them
hold no readable code, and those spend the chain's whole 15 ms budget.
"""

from __future__ import annotations

import argparse
import sys
from pathlib import Path

import cv2

sys.path.insert(0, str(Path(__file__).resolve().parent))
from _common import machine  # noqa: E402

from kiosk.devices.decode_bench import Sample, generated_samples, run_samples  # noqa: E402

GOAL_MEAN_MS, GOAL_P95_MS = 10.0, 30.0


def save(samples: list[Sample], folder: Path) -> None:
    """Write ``samples`` as PNG files with their texts, laid out like real-dev."""
    for sample in samples:
        kind = f"falsepositives-{sample.folder}" if sample.no_code else sample.folder
        (folder / kind).mkdir(parents=True, exist_ok=True)
        image = sample.load()
        assert image is not None
        cv2.imwrite(str(folder / kind / f"{sample.name}.png"), image)
        if sample.expected is not None:
            (folder / kind / f"{sample.name}.txt").write_text(sample.expected, encoding="utf-8")


def main() -> None:
    """Measure the decoder on each split asked for and print the figures beside the goals."""
    parser = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    parser.add_argument("--count", type=int, default=400, help="photos per split")
    parser.add_argument("--split", choices=("tune", "held-out", "both"), default="both")
    parser.add_argument("--save", type=Path, metavar="DIR", help="also write the photos here")
    parser.add_argument("-v", "--verbose", action="store_true", help="list misses and false reads")
    args = parser.parse_args()
    print(machine())
    splits = ("tune", "held-out") if args.split == "both" else (args.split,)
    for split in splits:
        samples = list(generated_samples(split, args.count))
        if args.save:
            save(samples, args.save / split)
        print(f"\n{split}: {len(samples)} generated photos")
        result = run_samples(samples, sys.stdout, verbose=args.verbose)
        verdicts = [
            "0 false reads" + (" (ok)" if result.false == 0 else f" (goal missed: {result.false})"),
            f"mean <= {GOAL_MEAN_MS:g} ms ({'ok' if result.mean_ms <= GOAL_MEAN_MS else 'over'})",
            f"p95 <= {GOAL_P95_MS:g} ms ({'ok' if result.p95_ms <= GOAL_P95_MS else 'over'})",
            f"CPU mean {result.cpu_mean_ms:.1f} ms p95 {result.cpu_p95_ms:.1f} ms",
        ]
        print(f"goals: {'; '.join(verdicts)}; read as many as possible")


if __name__ == "__main__":
    main()
