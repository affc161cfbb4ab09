"""Shared helpers of the benchmarks: the machine they ran on, and latency summaries.

Every benchmark prints its figures beside the machine that produced them and beside
its goal, so a figure is never read without knowing where it came from.
"""

from __future__ import annotations

import math
import os
import platform
import sqlite3
import statistics
from collections.abc import Sequence
from dataclasses import dataclass
from pathlib import Path

OUT = Path(__file__).resolve().parent / "out"
"""Where benchmarks keep generated files (gitignored)."""


def machine() -> str:
    """One line naming the CPU, cores, memory and the software versions that matter."""
    cpu = platform.processor() or platform.machine()
    try:
        for line in Path("/proc/cpuinfo").read_text().splitlines():
            if line.startswith("model name"):
                cpu = line.split(":", 1)[1].strip()
                break
    except OSError:
        pass
    memory = ""
    try:
        for line in Path("/proc/meminfo").read_text().splitlines():
            if line.startswith("MemTotal:"):
                memory = f", {int(line.split()[1]) / 1024 / 1024:.0f} GB RAM"
                break
    except OSError:
        pass
    try:
        import peewee

        peewee_version = f", peewee {getattr(peewee, '__version__', '?')}"
    except ImportError:  # pragma: no cover - peewee is a dependency
        peewee_version = ""
    return (
        f"{platform.system()} {platform.machine()}, {cpu}, {os.cpu_count()} cores{memory}; "
        f"Python {platform.python_version()}, SQLite {sqlite3.sqlite_version}{peewee_version}"
    )


def percentile(values: Sequence[float], fraction: float) -> float:
    """The ``fraction`` quantile of ``values`` (nearest rank, so it is a measured value)."""
    ordered = sorted(values)
    if not ordered:
        return float("nan")
    rank = max(1, min(len(ordered), math.ceil(fraction * len(ordered))))
    return ordered[rank - 1]


@dataclass(frozen=True)
class Latency:
    """A summary of latencies measured in seconds, shown in milliseconds."""

    count: int
    p50: float
    p99: float
    mean: float
    worst: float

    @classmethod
    def of(cls, seconds: Sequence[float]) -> Latency:
        """Summarise ``seconds``."""
        return cls(
            count=len(seconds),
            p50=percentile(seconds, 0.50) * 1000,
            p99=percentile(seconds, 0.99) * 1000,
            mean=statistics.fmean(seconds) * 1000 if seconds else float("nan"),
            worst=max(seconds) * 1000 if seconds else float("nan"),
        )


def human_bytes(size: float) -> str:
    """``size`` bytes as a short figure (``4.2 GB``)."""
    for unit in ("B", "KB", "MB", "GB"):
        if size < 1024 or unit == "GB":
            return f"{size:.1f} {unit}" if unit != "B" else f"{size:.0f} B"
        size /= 1024
    return f"{size:.1f} GB"  # pragma: no cover
