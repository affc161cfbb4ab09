"""The kiosk's sounds, played through the system's player, never blocking the screen.

Three sounds (:mod:`kiosk.devices.tones`): ``done``, ``refused`` and ``librarian``
("see the librarian"). The settings turn them off and set their volume
(``[sound]``: ``enabled``, ``volume``, ``player``). They are played by the system's
own player: the command configured, or the first of ``aplay`` (ALSA), ``paplay``
(PulseAudio), ``pw-play`` (PipeWire) and ``ffplay`` found on ``PATH``. A player is a
program the system keeps working with its sound hardware, where a Python audio
library would add a C extension for one short sound.

:class:`SoundPlayer` plays on a thread of its own: :meth:`SoundPlayer.play` only
queues the sound's name and returns. A sound that comes while one still plays stops
it (the newest answer is the one that matters), the player's output goes to the log
(never to the kiosk's terminal), and a missing or failing player is logged once and
never stops a loan.
"""

from __future__ import annotations

import logging
import queue
import shlex
import shutil
import subprocess
import tempfile
import threading
import time
from collections.abc import Callable, Sequence
from importlib.resources import files
from pathlib import Path

from kiosk.devices.tones import RECIPES, wav_bytes

log = logging.getLogger(__name__)

SOUNDS = tuple(RECIPES)
"""The sounds the kiosk plays: ``done``, ``refused``, ``librarian``."""

PLAYERS: tuple[tuple[str, ...], ...] = (
    ("aplay", "-q"),
    ("paplay",),
    ("pw-play",),
    ("ffplay", "-nodisp", "-autoexit", "-loglevel", "quiet"),
)
"""The players looked for on ``PATH``, in order, with the options that keep them quiet."""

PLAY_AT_MOST = 10.0
"""Seconds a player may take for one sound before it is stopped."""


def player_command(configured: str = "", which: Callable[[str], str | None] = shutil.which
                   ) -> list[str] | None:
    """The command that plays a WAV file: the configured one (split like a shell does;
    ``{file}`` stands for the file, else it goes last), or the first player found.
    ``None`` when there is none."""
    if configured.strip():
        return shlex.split(configured)
    for command in PLAYERS:
        path = which(command[0])
        if path:
            return [path, *command[1:]]
    return None


def sound_file(name: str) -> Path:
    """The WAV file of sound ``name`` shipped with the kiosk (``assets/sounds``)."""
    return Path(str(files("kiosk.assets").joinpath("sounds", f"{name}.wav")))


class SoundPlayer:
    """Plays the kiosk's sounds on a thread of its own.

    Args:
        enabled: whether to play at all (``[sound] enabled``).
        volume: percent, 0 to 100 (``[sound] volume``); the samples are scaled by its
            square, which sounds about as even as a volume knob.
        player: the player command (``[sound] player``); empty: one found on ``PATH``.
        which: finds a program on ``PATH`` (tests pass their own).
    """

    def __init__(
        self, *, enabled: bool = True, volume: float = 70.0, player: str = "",
        which: Callable[[str], str | None] = shutil.which,
    ) -> None:
        self.enabled = enabled and volume > 0
        self.volume = max(0.0, min(100.0, volume)) / 100.0
        self.command = player_command(player, which) if self.enabled else None
        self.played: list[str] = []
        """The sounds handed to the player, in order (what the log also says)."""
        self.failures = 0
        self._queue: queue.Queue[str | None] = queue.Queue()
        self._thread: threading.Thread | None = None
        self._folder: Path | None = None
        self._current: subprocess.Popen[bytes] | None = None
        self._warned = False
        self._started = 0.0
        self._idle = threading.Event()
        self._idle.set()
        if self.enabled and self.command is None:
            log.info("no sound: none of %s is installed (set [sound] player)",
                     ", ".join(c[0] for c in PLAYERS))

    @property
    def available(self) -> bool:
        """Whether sounds will be played (on, and a player to play them)."""
        return self.enabled and self.command is not None

    def play(self, name: str) -> None:
        """Play sound ``name`` (one of :data:`SOUNDS`) soon; returns at once."""
        if name not in SOUNDS:
            raise ValueError(f"unknown sound {name!r}; the sounds are {SOUNDS}")
        if not self.available:
            return
        if self._thread is None:
            self._thread = threading.Thread(target=self._run, name="kiosk-sound", daemon=True)
            self._thread.start()
        self._idle.clear()
        self._queue.put(name)

    def wait(self, timeout: float = 10.0) -> bool:
        """Wait until every sound asked for has been played (tests); whether it was."""
        return self._idle.wait(timeout)

    def close(self) -> None:
        """Stop the sound playing, end the thread and remove the volume's files."""
        if self._thread is not None:
            self._queue.put(None)
            self._thread.join(timeout=PLAY_AT_MOST + 2)
            self._thread = None
        self._stop_current()
        if self._folder is not None:
            shutil.rmtree(self._folder, ignore_errors=True)
            self._folder = None

    # -- the thread -------------------------------------------------------------------

    def _run(self) -> None:
        while True:
            try:
                name = self._queue.get(timeout=0.05 if self._current is not None else None)
            except queue.Empty:
                self._reap()
                continue
            if name is None:
                return
            try:
                self._play(name)
            except Exception:  # a sound must never end the kiosk
                log.exception("playing %s failed", name)
            self._reap()

    def _reap(self) -> None:
        """Note a player that has finished (and what went wrong); stop one that hangs."""
        current = self._current
        if current is not None:
            code = current.poll()
            if code is None:
                if time.monotonic() - self._started > PLAY_AT_MOST:
                    log.warning("the sound player %s took too long: stopped", current.args[0])
                    self._stop_current()
                return
            self._current = None
            if code and not self._warned:
                self._warned = True
                self.failures += 1
                said = self._said()
                log.warning("the sound player %s failed (%s): %s", current.args[0], code, said)
        if self._queue.empty():
            self._idle.set()

    def _said(self) -> str:
        """What the players wrote to their error output (the last lines)."""
        try:
            text = (self._folder / "player.log").read_text(errors="replace") if self._folder else ""
        except OSError:
            return ""
        return text.strip()[-300:]

    def _file(self, name: str) -> Path:
        """The sound at this kiosk's volume, written once to a private folder."""
        if self._folder is None:
            self._folder = Path(tempfile.mkdtemp(prefix="kiosk-sound-"))
        path = self._folder / f"{name}.wav"
        if not path.exists():
            data = (sound_file(name).read_bytes() if self.volume >= 1.0
                    else wav_bytes(name, self.volume ** 2))
            path.write_bytes(data)
        return path

    def _play(self, name: str) -> None:
        assert self.command is not None
        path = self._file(name)
        self._stop_current()  # the newest answer is the one that matters
        command = self._with_file(self.command, path)
        assert self._folder is not None
        try:
            with open(self._folder / "player.log", "ab") as said:
                self._current = subprocess.Popen(
                    command, stdin=subprocess.DEVNULL, stdout=said, stderr=said,
                    start_new_session=True,
                )
            self._started = time.monotonic()
        except OSError as error:
            self.failures += 1
            if not self._warned:
                self._warned = True
                log.warning("cannot play sounds with %s: %s", command[0], error)
            return
        self.played.append(name)
        log.debug("playing %s with %s", name, command[0])

    @staticmethod
    def _with_file(command: Sequence[str], path: Path) -> list[str]:
        if any("{file}" in part for part in command):
            return [part.replace("{file}", str(path)) for part in command]
        return [*command, str(path)]

    def _stop_current(self) -> None:
        current, self._current = self._current, None
        if current is not None and current.poll() is None:
            current.terminate()
            try:
                current.wait(timeout=2)
            except subprocess.TimeoutExpired:
                current.kill()
                current.wait()
