"""Run the ``kiosk`` command in a real pseudo-terminal and answer its questions, as a
person at the keyboard would (``getpass`` reads the controlling terminal, not stdin)."""

from __future__ import annotations

import os
import pty
import select
import sys
import time
from collections.abc import Sequence


class Terminal:
    """``python -m kiosk ARGS`` on its own pseudo-terminal."""

    def __init__(self, *args: str, env: dict[str, str] | None = None) -> None:
        pid, fd = pty.fork()
        if pid == 0:  # the child: the pty is its controlling terminal
            try:
                os.execvpe(sys.executable, [sys.executable, "-m", "kiosk", *args],
                           env if env is not None else dict(os.environ))
            finally:
                os._exit(127)
        self.pid, self.fd = pid, fd
        self.output = ""
        self._seen = 0

    def _read(self, timeout: float) -> bool:
        ready, _, _ = select.select([self.fd], [], [], timeout)
        if not ready:
            return True
        try:
            data = os.read(self.fd, 4096)
        except OSError:  # the child has gone (EIO)
            return False
        if not data:
            return False
        self.output += data.decode("utf-8", "replace")
        return True

    def expect(self, text: str, timeout: float = 20.0) -> str:
        """Wait until ``text`` appears after what was expected before; return what came."""
        deadline = time.monotonic() + timeout
        while text not in self.output[self._seen:]:
            if time.monotonic() > deadline or not self._read(0.1):
                raise AssertionError(f"never saw {text!r}; the terminal shows:\n{self.output}")
        start, self._seen = self._seen, self.output.index(text, self._seen) + len(text)
        return self.output[start:self._seen]

    def answer(self, text: str) -> None:
        """Type ``text`` and Enter."""
        os.write(self.fd, text.encode("utf-8") + b"\r")

    def finish(self, timeout: float = 30.0) -> int:
        """Read to the end; the exit status."""
        deadline = time.monotonic() + timeout
        while time.monotonic() < deadline and self._read(0.1):
            pass
        _, status = os.waitpid(self.pid, 0)
        os.close(self.fd)
        return os.waitstatus_to_exitcode(status)


def converse(args: Sequence[str], script: Sequence[tuple[str, str | None]]) -> tuple[int, str]:
    """Run the command, waiting for each text of ``script`` and typing its reply (none:
    only wait); its exit status and output."""
    terminal = Terminal(*args)
    for prompt, reply in script:
        terminal.expect(prompt)
        if reply is not None:
            terminal.answer(reply)
    return terminal.finish(), terminal.output
