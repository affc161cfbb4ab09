"""Files that hold secrets: made readable by their owner only, and checked at start.

A library's database holds the card secret (with it, any card can be forged, the
librarian's included) and, at a kiosk, the sync token; the settings file may hold a
PostgreSQL URL; the log may quote either before the mask catches it. Every such file
the kiosk makes is created ``0600`` and every folder it makes for one ``0700``,
whatever the umask. SQLite gives its ``-wal`` and ``-shm`` files the mode of the
database file, so they follow.

A file made by someone else (a copy, a restore) keeps its mode; :func:`exposed` says
which of a database's files other users can read, for a warning at start.
"""

from __future__ import annotations

import logging
import os
import stat
from pathlib import Path

log = logging.getLogger(__name__)

PRIVATE_FILE = 0o600
PRIVATE_FOLDER = 0o700


def private_folder(folder: Path) -> None:
    """Make ``folder`` and any missing parents, each new one ``0700`` (existing ones
    are left as they are: a folder the kiosk did not make is not its to change)."""
    missing: list[Path] = []
    current = folder
    while not current.exists():
        missing.append(current)
        if current.parent == current:
            break
        current = current.parent
    for new in reversed(missing):
        try:
            new.mkdir(mode=PRIVATE_FOLDER)
        except FileExistsError:
            continue  # made meanwhile by another process
        os.chmod(new, PRIVATE_FOLDER)  # (mkdir's mode passes through the umask)


def create_private(path: Path) -> None:
    """Create ``path`` empty and ``0600`` (its folder ``0700`` if it is made here).

    Raises:
        FileExistsError: ``path`` exists already (nothing is overwritten).
    """
    private_folder(path.parent)
    handle = os.open(path, os.O_WRONLY | os.O_CREAT | os.O_EXCL, PRIVATE_FILE)
    os.close(handle)
    os.chmod(path, PRIVATE_FILE)


def open_private(path: Path) -> None:
    """Make sure ``path`` exists and is ``0600``: created so, or, if it is this user's
    file already (the kiosk's own log), narrowed to it."""
    try:
        create_private(path)
    except FileExistsError:
        info = path.stat()
        if info.st_uid == os.geteuid() and stat.S_IMODE(info.st_mode) & 0o077:
            os.chmod(path, stat.S_IMODE(info.st_mode) & 0o700)


def sqlite_files(path: Path) -> list[Path]:
    """A database file and the log files SQLite keeps beside it (those that exist)."""
    found = [path]
    for suffix in ("-wal", "-shm", "-journal"):
        side = path.with_name(path.name + suffix)
        if side.exists():
            found.append(side)
    return found


def exposed(path: Path) -> list[Path]:
    """The files of the database at ``path`` that users other than its owner can read
    (or write): group or other permission bits set."""
    found = []
    for file in sqlite_files(path):
        try:
            mode = stat.S_IMODE(file.stat().st_mode)
        except OSError:
            continue
        if mode & 0o077:
            found.append(file)
    return found
