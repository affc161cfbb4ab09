"""Keeping C libraries' output off the kiosk's screen.

Textual draws on the terminal through ``sys.__stderr__``. Some C libraries the
kiosk uses (libzbar above all) write warnings straight to file descriptor 2, which
would scribble over the screen. While the app runs, descriptor 2 points at the log
file, and Textual is given its own copy of the terminal.
"""

from __future__ import annotations

import os
import sys
from collections.abc import Iterator
from contextlib import contextmanager
from pathlib import Path
from typing import TextIO


@contextmanager
def c_stderr_to(log_path: Path) -> Iterator[TextIO]:
    """Send everything written to descriptor 2 into ``log_path`` for the duration.

    Yields the terminal as a text file, which is also installed as ``sys.__stderr__``
    (where Textual's driver draws) and ``sys.stderr``; both are put back afterwards,
    as is descriptor 2.
    """
    log_path.parent.mkdir(parents=True, exist_ok=True)
    sys.stderr.flush()
    terminal_fd = os.dup(2)
    log_fd = os.open(log_path, os.O_WRONLY | os.O_APPEND | os.O_CREAT, 0o600)
    terminal = os.fdopen(terminal_fd, "w", encoding="utf-8", errors="replace")
    saved = sys.__stderr__, sys.stderr
    os.dup2(log_fd, 2)
    os.close(log_fd)
    sys.__stderr__ = sys.stderr = terminal  # type: ignore[misc]
    try:
        yield terminal
    finally:
        terminal.flush()
        os.dup2(terminal_fd, 2)
        sys.__stderr__, sys.stderr = saved  # type: ignore[misc]
        terminal.close()
