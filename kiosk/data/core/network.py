"""Bounds on every conversation with a PostgreSQL desk, so a stalled network never hangs.

A school network can keep a connection open while passing nothing (a NAT or proxy that
silently drops a flow): the kiosk then waits in ``recv`` for a reply that never comes,
and libpq by itself would wait for ever. Three layers bound that wait:

* **libpq's own options** (:func:`libpq_options`): ``connect_timeout``, TCP keepalives
  and ``tcp_user_timeout``, which notice a dead peer or unacknowledged data at the
  TCP level;
* **the server's timeouts**, sent as ``options``: ``statement_timeout`` ends a statement
  that runs too long, and ``idle_in_transaction_session_timeout`` ends the session of a
  kiosk that went silent in the middle of a transaction (it may hold the journal's lock,
  which every other kiosk's push waits for);
* **the kiosk's own wait** (:func:`wait_for_desk`, psycopg2's documented wait callback):
  every wait for the desk, from connecting to the last commit, goes through ``select``
  with a bound. A desk silent for longer than ``reply`` seconds, or a conversation
  going past the deadline of the whole sync (:func:`deadline`), raises
  :class:`DeskSilent`; the connection is then broken and is closed.

The first two cannot see a stall behind a proxy that acknowledges every byte and
forwards none; the third always does.
"""

from __future__ import annotations

import math
import re
import select
import threading
import time
from collections.abc import Iterator
from contextlib import contextmanager
from dataclasses import dataclass
from typing import Any
from urllib.parse import unquote, urlparse

import peewee as pw


@dataclass(frozen=True)
class DeskTimeouts:
    """How long the kiosk waits for its desk (seconds; the ``[sync]`` settings)."""

    connect: float = 5.0
    """Reaching the desk and signing in."""
    reply: float = 20.0
    """The longest the desk may stay silent while the kiosk waits for an answer; the
    desk ends a statement that runs longer (its ``statement_timeout``)."""
    deadline: float = 120.0
    """One whole sync, from connecting to the last commit."""


class DeskSilent(pw.OperationalError):
    """The desk did not answer in time; the connection was given up (nothing is lost).

    ``what`` is the bound that ran out: ``connect`` (reaching the desk and signing
    in), ``answer`` (one reply) or ``deadline`` (the whole sync).
    """

    _WORDS = {
        "connect": "let the kiosk connect",
        "answer": "answer",
        "deadline": "finish the sync",
    }

    def __init__(self, seconds: float, what: str = "answer") -> None:
        super().__init__(f"the desk did not {self._WORDS.get(what, what)} within {seconds:g} s")
        self.what = what
        self.seconds = seconds


def silence(error: BaseException | None) -> DeskSilent | None:
    """The :class:`DeskSilent` behind ``error``, if a bound ran out.

    A transaction that fails this way tries to roll back on the broken connection,
    and that error is the one raised; the silence is its context.
    """
    seen: set[int] = set()
    while error is not None and id(error) not in seen:
        if isinstance(error, DeskSilent):
            return error
        seen.add(id(error))
        error = error.__cause__ or error.__context__
    return None


def libpq_options(timeouts: DeskTimeouts) -> dict[str, Any]:
    """The connection parameters that bound a PostgreSQL conversation at the TCP level
    and at the server."""
    reply_ms = int(timeouts.reply * 1000)
    return {
        # libpq rounds a connect_timeout under 2 s up to 2 s
        "connect_timeout": max(2, math.ceil(timeouts.connect)),
        "keepalives": 1,
        "keepalives_idle": max(1, math.ceil(timeouts.reply / 2)),
        "keepalives_interval": max(1, math.ceil(timeouts.reply / 6)),
        "keepalives_count": 3,
        "tcp_user_timeout": reply_ms,
        "options": (
            f"-c statement_timeout={reply_ms} "
            f"-c idle_in_transaction_session_timeout={reply_ms}"
        ),
        "connection_factory": _connection_class(timeouts),
    }


# -- the kiosk's own wait ---------------------------------------------------------------

_local = threading.local()
_installed = False
_install_lock = threading.Lock()


@contextmanager
def deadline(seconds: float | None) -> Iterator[None]:
    """Every wait for a desk in this thread ends by ``seconds`` from now (``None``: no
    deadline beyond each wait's own bound). Nested deadlines keep the earlier one."""
    before: tuple[float, float] | None = getattr(_local, "deadline", None)
    if seconds is not None:
        mine = (time.monotonic() + seconds, seconds)
        _local.deadline = mine if before is None or mine[0] < before[0] else before
    try:
        yield
    finally:
        _local.deadline = before


def install() -> None:
    """Route every psycopg2 wait through :func:`wait_for_desk` (once per process).

    psycopg2's wait callback is process-wide; a connection that was not opened with
    :func:`libpq_options` waits without a bound, as it would without the callback.
    """
    global _installed
    with _install_lock:
        if not _installed:
            from psycopg2 import extensions

            extensions.set_wait_callback(wait_for_desk)
            _installed = True


def wait_for_desk(conn: Any) -> None:
    """psycopg2's wait callback: poll the connection until its operation is done.

    Raises:
        DeskSilent: no answer within the connection's bound or the thread's deadline.
    """
    from psycopg2 import OperationalError, extensions

    while True:
        state = conn.poll()
        if state == extensions.POLL_OK:
            return
        limit, seconds, what = _limit(conn)
        if limit is not None and limit <= 0:
            raise DeskSilent(seconds, what)
        fileno = conn.fileno()
        if state == extensions.POLL_READ:
            ready = select.select([fileno], [], [], limit)
        elif state == extensions.POLL_WRITE:
            ready = select.select([], [fileno], [], limit)
        else:
            raise OperationalError(f"bad state from poll: {state}")
        if not any(ready):
            raise DeskSilent(seconds, what)


def _limit(conn: Any) -> tuple[float | None, float, str]:
    """How long the next wait may last, the bound it comes from, and what it bounds."""
    now = time.monotonic()
    connecting: _Connecting | None = getattr(conn, "connecting", None)
    limit: float | None
    if connecting is not None and connecting.until is not None:
        limit, seconds, what = connecting.until - now, connecting.seconds, "connect"
    else:
        seconds = getattr(conn, "reply_timeout", 0.0)
        limit, what = (seconds or None), "answer"
    until: tuple[float, float] | None = getattr(_local, "deadline", None)
    if until is not None and (limit is None or until[0] - now < limit):
        limit, seconds, what = until[0] - now, until[1], "deadline"
    return limit, seconds, what


class _Connecting:
    """Until when a connection may take to connect (``None`` once it has)."""

    def __init__(self, seconds: float) -> None:
        self.seconds = seconds
        self.until: float | None = time.monotonic() + seconds


_classes: dict[DeskTimeouts, type] = {}


def _connection_class(timeouts: DeskTimeouts) -> type:
    """A psycopg2 connection class that carries ``timeouts`` for :func:`wait_for_desk`."""
    cached = _classes.get(timeouts)
    if cached is not None:
        return cached
    from psycopg2 import extensions

    class DeskConnection(extensions.connection):  # type: ignore[misc]
        """A psycopg2 connection to the desk whose every wait is bounded."""

        reply_timeout = timeouts.reply

        def __init__(self, dsn: str, *args: Any, **kwargs: Any) -> None:
            self.connecting = _Connecting(timeouts.connect)
            super().__init__(dsn, *args, **kwargs)
            self.connecting.until = None

    _classes[timeouts] = DeskConnection
    return DeskConnection


# -- why a desk cannot be reached ------------------------------------------------------

_CAUSES = (
    # libpq's and the server's words (lc_messages 'C' or 'en'), and what they mean
    (re.compile(r"could not translate host name|name or service not known", re.I),
     "host_not_found"),
    (re.compile(r"connection refused", re.I), "refused"),
    (re.compile(r"password authentication failed", re.I), "wrong_password"),
    (re.compile(r"no password supplied", re.I), "no_password"),
    (re.compile(r'database "[^"]*" does not exist', re.I), "no_database"),
    (re.compile(r'role "[^"]*" does not exist', re.I), "no_role"),
    (re.compile(r"no pg_hba\.conf entry", re.I), "not_allowed"),
    (re.compile(r"timeout expired", re.I), "timeout"),
    (re.compile(r"network is unreachable|no route to host", re.I), "unreachable"),
)


def cause(
    url: str, error: BaseException, *, connect_seconds: float = 5.0
) -> tuple[str, dict[str, Any]]:
    """Why the desk at ``url`` could not be reached, for the message ``sync.cause.<cause>``.

    The causes: ``host_not_found``, ``refused``, ``wrong_password``, ``no_password``,
    ``no_database``, ``no_role``, ``not_allowed``, ``timeout``, ``deadline`` (the whole
    sync took too long), ``unreachable``, and
    ``other`` (its ``detail`` the error's first line: mask it with
    :func:`kiosk.data.core.db.mask` before showing it). The details name the host, port,
    user and database (never the password).
    """
    parts = urlparse(url)
    details: dict[str, Any] = {
        "host": parts.hostname or "localhost",
        "port": parts.port or 5432,
        "user": unquote(parts.username) if parts.username else "",
        "database": unquote(parts.path.lstrip("/")),
        "seconds": f"{connect_seconds:g}",  # libpq's own "timeout expired" is the connect's
    }
    silent = silence(error)
    if silent is not None:
        found = "deadline" if silent.what == "deadline" else "timeout"
        return found, {**details, "seconds": f"{silent.seconds:g}"}
    text = str(error).strip()
    for words, found in _CAUSES:
        if words.search(text):
            return found, details
    first = text.splitlines()[0] if text else type(error).__name__
    return "other", {**details, "detail": first}
