"""The kiosk's log file, and the filter that keeps secrets out of it.

The desk's URL may hold a password and each kiosk holds a sync token; neither may
reach the log, whatever its level (peewee logs every statement with its parameters
at DEBUG). Every record passes through :class:`SecretFilter`, which masks URL
passwords and every value registered with :func:`kiosk.data.core.db.keep_secret`.
"""

from __future__ import annotations

import logging
from pathlib import Path

from kiosk.data.core.db import mask
from kiosk.data.core.files import open_private


class SecretFilter(logging.Filter):
    """Masks secrets in a record's message, its arguments and its traceback."""

    def filter(self, record: logging.LogRecord) -> bool:
        message = record.getMessage()
        masked = mask(message)
        if masked != message or record.args:
            record.msg, record.args = masked, None
        if record.exc_info and not record.exc_text:
            record.exc_text = logging.Formatter().formatException(record.exc_info)
        if record.exc_text:
            record.exc_text = mask(record.exc_text)
        return True


def configure(path: Path | None, level: int = logging.INFO) -> None:
    """Send every log record to the file at ``path`` (nowhere if ``None`` or unwritable).

    The log is readable by its owner only (and a folder made for it, by its owner
    only): a record may quote what the mask has not caught.
    """
    handler: logging.Handler
    try:
        if path is None:
            raise OSError("no log file")
        open_private(path)
        handler = logging.FileHandler(path, encoding="utf-8")
    except OSError:
        handler = logging.NullHandler()
    handler.setFormatter(logging.Formatter("%(asctime)s %(levelname)s %(name)s: %(message)s"))
    handler.addFilter(SecretFilter())
    root = logging.getLogger()
    root.handlers[:] = [handler]
    root.setLevel(level)
