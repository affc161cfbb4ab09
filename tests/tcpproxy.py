"""A real TCP proxy between a kiosk and its desk, which a test can cut or stall.

The sync's failure modes are those of a network, so the tests make them with a network:
a kiosk connects to the proxy's port instead of the desk's, and the test then

* ``cut()``s the link: every open connection is closed at once (the kiosk sees the
  server hang up) and new connections are refused until ``restore()``;
* ``stall()``s it: connections stay open and new ones are accepted, but nothing passes
  in either direction (a NAT or proxy that silently drops a flow; the server waits in
  ``ClientRead`` and the client in ``recv``) until ``restore()``;
* ``restore()``s it: bytes flow again (stalled connections resume where they stopped;
  held bytes are delivered).

Used by the hardening tests and ``bench/faults.py`` (which puts ``tests/`` on its path).
Standard library only; one thread accepts, one thread per connection pumps both ways
with ``select``.
"""

from __future__ import annotations

import contextlib
import select
import socket
import threading
from collections.abc import Iterator
from urllib.parse import urlparse, urlunparse

PASS, STALL, CUT = "pass", "stall", "cut"


class TcpProxy:
    """Forward ``127.0.0.1:port`` to ``target``; ``cut``, ``stall`` and ``restore`` it."""

    def __init__(self, target_host: str, target_port: int, *, listen_port: int = 0) -> None:
        self.target = (target_host, target_port)
        self._listener = socket.create_server(("127.0.0.1", listen_port))
        self._listener.settimeout(0.2)
        self.port: int = self._listener.getsockname()[1]
        self.mode = PASS
        self.connections = 0
        """How many connections were accepted (and forwarded) in all."""
        self._lock = threading.Lock()
        self._pairs: set[tuple[socket.socket, socket.socket]] = set()
        self._stop = threading.Event()
        self._thread = threading.Thread(target=self._accept, name="tcpproxy", daemon=True)
        self._thread.start()

    @classmethod
    def for_url(cls, url: str) -> TcpProxy:
        """A proxy in front of the server a database URL names (PostgreSQL's default port)."""
        parsed = urlparse(url)
        return cls(parsed.hostname or "127.0.0.1", parsed.port or 5432)

    def url(self, url: str) -> str:
        """``url`` with its host and port replaced by this proxy's."""
        parsed = urlparse(url)
        userinfo = parsed.netloc.rpartition("@")[0]
        netloc = f"{userinfo}@127.0.0.1:{self.port}" if userinfo else f"127.0.0.1:{self.port}"
        return urlunparse(parsed._replace(netloc=netloc))

    # -- what a test does ------------------------------------------------------------

    def cut(self) -> None:
        """Close every open connection and refuse new ones until :meth:`restore`."""
        with self._lock:
            self.mode = CUT
            pairs, self._pairs = self._pairs, set()
        for a, b in pairs:
            _close(a)
            _close(b)

    def stall(self) -> None:
        """Keep every connection open but pass nothing, until :meth:`restore`."""
        with self._lock:
            self.mode = STALL

    def restore(self) -> None:
        """Let bytes flow and connections in again."""
        with self._lock:
            self.mode = PASS

    def open_connections(self) -> int:
        """How many forwarded connections are open now."""
        with self._lock:
            return len(self._pairs)

    def close(self) -> None:
        """Stop accepting and close everything."""
        self._stop.set()
        self.cut()
        self._thread.join(2)
        _close(self._listener)

    def __enter__(self) -> TcpProxy:
        return self

    def __exit__(self, *exc: object) -> None:
        self.close()

    # -- the threads -----------------------------------------------------------------

    def _accept(self) -> None:
        while not self._stop.is_set():
            try:
                client, _ = self._listener.accept()
            except TimeoutError:
                continue
            except OSError:
                return
            if self.mode == CUT:
                _close(client)
                continue
            try:
                upstream = socket.create_connection(self.target, timeout=5)
            except OSError:
                _close(client)
                continue
            upstream.settimeout(None)
            client.settimeout(None)
            with self._lock:
                self._pairs.add((client, upstream))
                self.connections += 1
            threading.Thread(
                target=self._pump, args=(client, upstream), name="tcpproxy-pump", daemon=True
            ).start()

    def _pump(self, client: socket.socket, upstream: socket.socket) -> None:
        peer = {client: upstream, upstream: client}
        try:
            while not self._stop.is_set():
                if self.mode == CUT:
                    return
                if self.mode == STALL:
                    # Read nothing: the sender's kernel buffers fill and it waits, as
                    # behind a link that drops every packet.
                    self._stop.wait(0.05)
                    continue
                readable, _, _ = select.select([client, upstream], [], [], 0.05)
                for sock in readable:
                    if self.mode != PASS:
                        break
                    data = sock.recv(65536)
                    if not data:
                        return
                    peer[sock].sendall(data)
        except OSError:
            return
        finally:
            with self._lock:
                self._pairs.discard((client, upstream))
            _close(client)
            _close(upstream)


def _close(sock: socket.socket) -> None:
    with contextlib.suppress(OSError):
        sock.shutdown(socket.SHUT_RDWR)
    with contextlib.suppress(OSError):
        sock.close()


@contextlib.contextmanager
def proxied(url: str) -> Iterator[tuple[TcpProxy, str]]:
    """A proxy in front of ``url``'s server, and ``url`` rewritten to go through it."""
    proxy = TcpProxy.for_url(url)
    try:
        yield proxy, proxy.url(url)
    finally:
        proxy.close()
