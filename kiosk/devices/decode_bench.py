"""The decoder benchmark on a folder of real photos (``kiosk decode-bench DIR``).

The folder is laid out like ``shared/corpus/real-dev``: images (png, jpg, webp...)
each with a same-stem ``.txt`` holding the exact text the code encodes; folders
named ``falsepositives-*`` hold pictures without any code. An image without a
``.txt`` elsewhere encodes something nobody recorded: it counts as a miss when
nothing is read in it and is left out otherwise.

For every image the decoder's detections are compared with the expected text:
the image is *read* when the expected text is among them, and every detection with
another text is a *false read* (in a ``falsepositives-*`` folder, every detection).
Only the decode call is timed (loading the file is not), on one thread, so the
milliseconds are the cost on one core of the kiosk's computer.

``kiosk decode-bench --generated SPLIT`` measures the same way on hard photos made on
the fly (:mod:`kiosk.devices.simulated.photos`): a row per kind of photo ("nocode"
holds none), a ``tune`` split to choose on and a ``held-out`` split to check with.
"""

from __future__ import annotations

import functools
import sys
import time
from collections.abc import Callable, Iterable, Iterator
from dataclasses import dataclass, field
from pathlib import Path
from typing import TextIO

import cv2
import numpy as np

from kiosk.devices.decoder import Decoder, load_image

IMAGE_SUFFIXES = frozenset(
    {".png", ".jpg", ".jpeg", ".webp", ".bmp", ".tif", ".tiff", ".pgm", ".ppm"}
)
"""The picture files the benchmark reads (everything else, ``.txt`` above all, is skipped)."""


@dataclass
class FolderResult:
    """The figures of one folder: codes read of codes present, false reads, timings."""

    name: str
    read: int = 0
    present: int = 0
    false: int = 0
    times_ms: list[float] = field(default_factory=list)
    cpu_ms: list[float] = field(default_factory=list)
    misses: list[str] = field(default_factory=list)
    wrong: list[tuple[str, str]] = field(default_factory=list)


@dataclass
class BenchResult:
    """The benchmark's outcome: per-folder figures and the totals of the final line.

    ``exit_code`` is what ``kiosk decode-bench`` returns: 0 once the benchmark ran
    (it measures, it does not judge), 2 when the folder does not exist.
    """

    folders: list[FolderResult]
    read: int
    present: int
    false: int
    mean_ms: float
    p95_ms: float
    exit_code: int = 0
    cpu_mean_ms: float = 0.0
    cpu_p95_ms: float = 0.0

    @property
    def line(self) -> str:
        """The final line, exactly ``read R/N false F mean M ms p95 P ms``."""
        return (
            f"read {self.read}/{self.present} false {self.false} "
            f"mean {self.mean_ms:.1f} ms p95 {self.p95_ms:.1f} ms"
        )


def _images(folder: Path) -> Iterable[Path]:
    """Every picture file under ``folder``, in a stable order."""
    return sorted(
        (p for p in folder.rglob("*") if p.is_file() and p.suffix.lower() in IMAGE_SUFFIXES),
        key=lambda p: (str(p.parent.relative_to(folder)), p.name),
    )


def _expected(image: Path) -> str | None:
    """The text beside ``image`` (exactly as stored: spaces and line ends count)."""
    text_file = image.with_suffix(".txt")
    if not text_file.is_file():
        return None
    return text_file.read_bytes().decode("utf-8", "surrogateescape")


def _figures(times: list[float]) -> tuple[float, float]:
    """Mean and 95th percentile of ``times`` (0 and 0 when there are none)."""
    if not times:
        return 0.0, 0.0
    return float(np.mean(times)), float(np.percentile(times, 95))


@dataclass(frozen=True)
class Sample:
    """One picture to decode: its folder (a row of the report), name, and what it holds.

    ``expected`` is the text of its code (``None``: nobody recorded it); ``no_code``
    says it holds no code at all. ``load`` gives the picture (``None`` if unreadable)
    and is not timed.
    """

    folder: str
    name: str
    load: Callable[[], np.ndarray | None]
    expected: str | None
    no_code: bool


def folder_samples(folder: Path) -> Iterator[Sample]:
    """The pictures under ``folder`` laid out like ``real-dev``, in a stable order."""
    for path in _images(folder):
        rel = path.parent.relative_to(folder)
        key = str(rel) if str(rel) != "." else folder.name
        no_code = path.parent.name.startswith("falsepositives")
        expected = None if no_code else _expected(path)
        yield Sample(key, path.name, functools.partial(load_image, path), expected, no_code)


def generated_samples(split: str, count: int) -> Iterator[Sample]:
    """``count`` generated photos of ``split`` (see :mod:`kiosk.devices.simulated.photos`)."""
    from kiosk.devices.simulated.photos import photos  # test equipment: only when asked for

    for photo in photos(split, count):
        yield Sample(
            photo.kind,
            photo.name,
            functools.partial(lambda image: image, photo.image),
            photo.text,
            photo.text is None,
        )


def run(
    folder: Path,
    out: TextIO = sys.stdout,
    decoder: Decoder | None = None,
    *,
    verbose: bool = False,
) -> BenchResult:
    """Decode every image under ``folder``, print a row per folder and the final line.

    ``decoder`` defaults to the kiosk's chain (every installed engine). With
    ``verbose``, every miss and false read is listed under its folder's row.
    """
    folder = Path(folder)
    if not folder.is_dir():
        out.write(f"no such folder: {folder}\n")
        return BenchResult([], 0, 0, 0, 0.0, 0.0, exit_code=2)
    return run_samples(folder_samples(folder), out, decoder, verbose=verbose)


def run_samples(
    samples: Iterable[Sample],
    out: TextIO = sys.stdout,
    decoder: Decoder | None = None,
    *,
    verbose: bool = False,
) -> BenchResult:
    """Decode every sample, print a row per folder and the final line (see :func:`run`)."""
    decoder = decoder or Decoder()
    out.writelines(f"note: {name} not used: {hint}\n" for name, hint in decoder.missing.items())
    threads = cv2.getNumThreads()
    cv2.setNumThreads(1)
    try:
        decoder.decode(np.full((64, 64), 255, np.uint8))  # warm up lazy initialisation
        folders: dict[str, FolderResult] = {}
        for sample in samples:
            result = folders.setdefault(sample.folder, FolderResult(sample.folder))
            _measure(sample, decoder, result)
    finally:
        cv2.setNumThreads(threads)
    all_times: list[float] = []
    all_cpu: list[float] = []
    width = max([len(name) for name in folders] + [6])
    for result in folders.values():
        all_times += result.times_ms
        all_cpu += result.cpu_ms
        mean, p95 = _figures(result.times_ms)
        cpu_mean, cpu_p95 = _figures(result.cpu_ms)
        out.write(
            f"{result.name:<{width}}  read {result.read}/{result.present} false {result.false} "
            f"mean {mean:.1f} ms p95 {p95:.1f} ms  ({len(result.times_ms)} images; "
            f"CPU mean {cpu_mean:.1f} ms p95 {cpu_p95:.1f} ms)\n"
        )
        if verbose:
            out.writelines(f"    miss  {miss}\n" for miss in result.misses)
            out.writelines(f"    false {name}: {text!r}\n" for name, text in result.wrong)
    mean, p95 = _figures(all_times)
    cpu_mean, cpu_p95 = _figures(all_cpu)
    bench = BenchResult(
        folders=list(folders.values()),
        read=sum(r.read for r in folders.values()),
        present=sum(r.present for r in folders.values()),
        false=sum(r.false for r in folders.values()),
        mean_ms=mean,
        p95_ms=p95,
        cpu_mean_ms=cpu_mean,
        cpu_p95_ms=cpu_p95,
    )
    out.write(bench.line + "\n")
    return bench


def _measure(sample: Sample, decoder: Decoder, result: FolderResult) -> None:
    """Decode one picture and add its outcome to ``result``."""
    expected = sample.expected
    image = sample.load()
    texts: list[str] = []
    if image is not None:
        started, cpu = time.perf_counter(), time.thread_time()
        detections = decoder.decode(image)
        result.times_ms.append((time.perf_counter() - started) * 1000.0)
        result.cpu_ms.append((time.thread_time() - cpu) * 1000.0)
        texts = [d.text for d in detections]
    if sample.no_code:
        result.false += len(texts)
        result.wrong += [(sample.name, text) for text in texts]
        return
    if expected is None and texts:
        return  # something nobody recorded, and it was read: not counted
    result.present += 1
    if expected is not None and expected in texts:
        result.read += 1
    else:
        result.misses.append(sample.name)
    if expected is not None:
        wrong = [text for text in texts if text != expected]
        result.false += len(wrong)
        result.wrong += [(sample.name, text) for text in wrong]
