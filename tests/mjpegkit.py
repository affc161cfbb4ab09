"""A phone as a webcam, served by the test itself: an MJPEG stream over HTTP.

Phone webcam apps (IP Webcam, DroidCam...) serve ``http://phone:8080/video`` as
``multipart/x-mixed-replace``: one JPEG after another. :class:`MjpegServer` does the
same on 127.0.0.1 with the frames a test gives it, and can die (every connection cut,
the port closed: "connection refused") and come back on the same port, as a phone does
when it sleeps or leaves the Wi-Fi. Nothing is mocked: OpenCV's FFmpeg backend reads it.
"""

from __future__ import annotations

import socket
import threading
import time
from collections.abc import Callable
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer

import cv2
import numpy as np

BOUNDARY = "kioskframe"


class MjpegServer:
    """Serves ``frame()`` as an MJPEG stream at :attr:`url`, ``fps`` frames a second."""

    def __init__(self, frame: Callable[[], np.ndarray], fps: float = 15.0) -> None:
        self.frame = frame
        self.fps = fps
        self.port = _free_port()
        self.url = f"http://127.0.0.1:{self.port}/video"
        self.served = 0
        self.connections = 0
        self._server: ThreadingHTTPServer | None = None
        self._alive = threading.Event()

    def start(self) -> None:
        """Listen and serve (again, on the same port)."""
        owner = self

        class Handler(BaseHTTPRequestHandler):
            def do_GET(self) -> None:  # noqa: N802 - the standard library's name
                if self.path != "/video":
                    self.send_error(404)
                    return
                owner.connections += 1
                self.send_response(200)
                self.send_header("Content-Type", f"multipart/x-mixed-replace; boundary={BOUNDARY}")
                self.send_header("Cache-Control", "no-cache")
                self.end_headers()
                try:
                    while owner._alive.is_set():
                        quality = [cv2.IMWRITE_JPEG_QUALITY, 85]
                        ok, jpeg = cv2.imencode(".jpg", owner.frame(), quality)
                        data = jpeg.tobytes()
                        self.wfile.write(
                            f"--{BOUNDARY}\r\nContent-Type: image/jpeg\r\n"
                            f"Content-Length: {len(data)}\r\n\r\n".encode()
                            + data
                            + b"\r\n"
                        )
                        self.wfile.flush()
                        owner.served += 1
                        time.sleep(1.0 / owner.fps)
                except (BrokenPipeError, ConnectionResetError, OSError):
                    pass  # the camera went away

            def log_message(self, format: str, *args: object) -> None:  # noqa: A002
                pass  # nothing on the terminal

        server = ThreadingHTTPServer(("127.0.0.1", self.port), Handler)
        server.daemon_threads = True
        self._alive.set()
        self._server = server
        threading.Thread(target=server.serve_forever, name="mjpeg-server", daemon=True).start()

    def die(self) -> None:
        """The phone went to sleep: every stream stops and the port refuses connections."""
        self._alive.clear()
        server, self._server = self._server, None
        if server is not None:
            server.shutdown()
            server.server_close()

    def stop(self) -> None:
        """The end of the test."""
        self.die()


def _free_port() -> int:
    """A TCP port nobody listens on now."""
    with socket.socket() as probe:
        probe.bind(("127.0.0.1", 0))
        return int(probe.getsockname()[1])
