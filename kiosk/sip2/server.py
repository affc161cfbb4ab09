"""The SIP2 server: many terminals at once over TCP (optionally TLS), each its own session.

The network is one asyncio loop, so a hundred connections (most of them idle terminals
that poll now and then) cost little and a slow or silent one holds up no other. The
library's work runs on a few database threads, each with its own connection to the
desk (:class:`concurrent.futures.ThreadPoolExecutor`), so one terminal's checkout never
waits for another's network. Every connection's requests are answered in order.

A connection is closed, cleanly, when it has not logged in within ``login_timeout``
seconds, sends nothing for ``idle_timeout`` seconds, takes longer than
``message_timeout`` seconds to finish a message it started, sends a message longer
than :data:`~kiosk.sip2.protocol.MAX_MESSAGE` bytes, tries anything but a login or a
status before logging in, fails to log in three times, or sends five unreadable
messages in a row (each of which is answered ``96``, "send it again").
"""

from __future__ import annotations

import asyncio
import logging
import ssl
import threading
import time
from concurrent.futures import ThreadPoolExecutor
from dataclasses import dataclass
from pathlib import Path

from kiosk.locale import LANGUAGES
from kiosk.sip2.adapter import Library
from kiosk.sip2.handlers import Session
from kiosk.sip2.protocol import MAX_MESSAGE, split_frames

log = logging.getLogger(__name__)

DEFAULT_PORT = 6001


@dataclass(frozen=True)
class Limits:
    """How long the server waits, and for how many."""

    login_timeout: float = 30.0
    """Seconds a new connection has to log in."""
    idle_timeout: float = 600.0
    """Seconds a logged-in terminal may stay silent (terminals poll with ``99``)."""
    message_timeout: float = 10.0
    """Seconds to finish a message once its first bytes arrived."""
    max_clients: int = 500
    """Connections at once; more are closed as they come."""
    workers: int = 2
    """Database threads (each with its own connection to the desk). Writers of facts
    take turns at the journal lock anyway: 1, 2, 3 and 4 threads serve within a few per
    cent of each other (bench/sip2.py); with 1, a login's slow password check would hold
    up every other terminal."""


def tls_context(cert: Path, key: Path) -> ssl.SSLContext:
    """A server TLS context from a certificate chain and its private key (PEM files).

    Raises:
        OSError, ssl.SSLError: the files cannot be read or do not match.
    """
    context = ssl.SSLContext(ssl.PROTOCOL_TLS_SERVER)
    context.minimum_version = ssl.TLSVersion.TLSv1_2
    context.load_cert_chain(certfile=str(cert), keyfile=str(key))
    return context


class Sip2Server:
    """Answers SIP2 terminals on ``host``:``port`` for ``library``.

    Args:
        library: the desk's library (:class:`~kiosk.sip2.adapter.Library`).
        language: the screen messages' language when nothing else says one.
        tls: a server TLS context (:func:`tls_context`), or ``None`` for plain TCP.
        limits: timeouts and sizes (:class:`Limits`).
    """

    def __init__(
        self, library: Library, *, host: str = "0.0.0.0", port: int = DEFAULT_PORT,
        language: str = LANGUAGES[0], tls: ssl.SSLContext | None = None,
        limits: Limits = Limits(),
    ) -> None:
        self.library = library
        self.host = host
        self.port = port
        self.language = language
        self.tls = tls
        self.limits = limits
        self.clients = 0
        self._pool = ThreadPoolExecutor(
            limits.workers, thread_name_prefix="sip2-db", initializer=self._open_connection
        )
        self._server: asyncio.base_events.Server | None = None
        self._conversations: set[asyncio.Task[None]] = set()

    def _open_connection(self) -> None:
        try:
            self.library.connect()
        except Exception:  # the next request says what is wrong, in the terminal's words
            log.exception("sip2: cannot open the database")

    async def start(self) -> int:
        """Start listening; return the port (the one chosen, when ``port`` is 0)."""
        self._server = await asyncio.start_server(
            self._serve, self.host, self.port, ssl=self.tls,
            ssl_handshake_timeout=self.limits.message_timeout if self.tls else None,
            limit=MAX_MESSAGE * 2,
        )
        port = self._server.sockets[0].getsockname()[1]
        log.info("sip2 server listening on %s:%s%s", self.host, port, " (TLS)" if self.tls else "")
        return int(port)

    async def serve_forever(self) -> None:
        """Start (if not yet) and answer terminals until cancelled."""
        if self._server is None:
            await self.start()
        assert self._server is not None
        async with self._server:
            await self._server.serve_forever()

    async def stop(self) -> None:
        """Stop listening and end every connection; the database threads finish their
        request first."""
        if self._server is not None:
            self._server.close()
        for task in list(self._conversations):
            task.cancel()
        if self._conversations:
            await asyncio.gather(*self._conversations, return_exceptions=True)
        if self._server is not None:
            await self._server.wait_closed()
        self._pool.shutdown(wait=True)

    async def _serve(self, reader: asyncio.StreamReader, writer: asyncio.StreamWriter) -> None:
        peer = _peer(writer)
        if self.clients >= self.limits.max_clients:
            log.warning("sip2: %s refused: %s connections already", peer, self.clients)
            await _close(writer)
            return
        self.clients += 1
        task = asyncio.current_task()
        if task is not None:
            self._conversations.add(task)
        session = Session(self.library, language=self.language, peer=peer)
        reason = "closed by the terminal"
        try:
            reason = await self._converse(session, reader, writer)
        except (ConnectionError, ssl.SSLError, OSError) as error:
            reason = f"connection lost ({type(error).__name__})"
        except asyncio.CancelledError:
            reason = "the server is stopping"
        except Exception:
            log.exception("sip2: %s: unexpected failure", peer)
            reason = "unexpected failure"
        finally:
            self.clients -= 1
            if task is not None:
                self._conversations.discard(task)
            name = session.terminal.name if session.terminal else "not logged in"
            log.info("sip2: %s (%s): %s", peer, name, reason)
            await _close(writer)

    async def _converse(
        self, session: Session, reader: asyncio.StreamReader, writer: asyncio.StreamWriter
    ) -> str:
        """Answer one connection's requests until it ends; return why it ended."""
        loop = asyncio.get_running_loop()
        limits = self.limits
        login_by = time.monotonic() + limits.login_timeout
        buffer = b""
        while True:
            if buffer:
                timeout = limits.message_timeout
            elif session.terminal is None:
                timeout = max(0.0, login_by - time.monotonic())
            else:
                timeout = limits.idle_timeout
            try:
                async with asyncio.timeout(timeout):  # (no task per read, as wait_for makes)
                    data = await reader.read(4096)
            except TimeoutError:
                if buffer:
                    return "a message left unfinished"
                return "no login in time" if session.terminal is None else "silent too long"
            if not data:
                return "closed by the terminal"
            buffer += data
            frames, buffer = split_frames(buffer)
            if len(buffer) >= MAX_MESSAGE:
                return "a message longer than SIP2 allows"
            for frame in frames:
                answer = await loop.run_in_executor(self._pool, self._answer, session, frame)
                if answer:
                    writer.write(answer)
                    async with asyncio.timeout(limits.message_timeout):
                        await writer.drain()
                if session.closing:
                    return "closed by the server (see above)"
            if session.terminal is None and time.monotonic() > login_by:
                return "no login in time"

    def _answer(self, session: Session, frame: bytes) -> bytes | None:
        """On a database thread: the session's answer to one request."""
        if self.library.db.is_closed():
            self._open_connection()
        return session.answer(frame)


async def _close(writer: asyncio.StreamWriter) -> None:
    """Close a connection, waiting a little for the goodbye to be sent."""
    try:
        writer.close()
        await asyncio.wait_for(writer.wait_closed(), 2.0)
    except (OSError, TimeoutError, ssl.SSLError):
        pass


def _peer(writer: asyncio.StreamWriter) -> str:
    address = writer.get_extra_info("peername")
    if isinstance(address, tuple) and len(address) >= 2:
        return f"{address[0]}:{address[1]}"
    return str(address or "?")


class ServerThread:
    """A :class:`Sip2Server` running on a thread of its own (for tests and benchmarks):
    ``with ServerThread(server) as port: ...``."""

    def __init__(self, server: Sip2Server) -> None:
        self.server = server
        self.port = 0
        self._loop = asyncio.new_event_loop()
        self._started = threading.Event()
        self._thread = threading.Thread(target=self._run, name="sip2-server", daemon=True)
        self._task: asyncio.Task[None] | None = None

    def _run(self) -> None:
        asyncio.set_event_loop(self._loop)

        async def main() -> None:
            self.port = await self.server.start()
            self._started.set()
            await self.server.serve_forever()

        self._task = self._loop.create_task(main())
        try:
            self._loop.run_until_complete(self._task)
        except asyncio.CancelledError:
            pass
        finally:
            self._loop.run_until_complete(self.server.stop())
            self._loop.close()

    def __enter__(self) -> int:
        self._thread.start()
        if not self._started.wait(10):
            raise RuntimeError("the SIP2 server did not start")
        return self.port

    def __exit__(self, *exc: object) -> None:
        if self._task is not None:
            self._loop.call_soon_threadsafe(self._task.cancel)
        self._thread.join(10)
