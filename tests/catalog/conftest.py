"""A local HTTP file server on 127.0.0.1 with Range support and injectable faults."""

from __future__ import annotations

import threading
import time
from dataclasses import dataclass, field
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer

import pytest


@dataclass
class FileServer:
    """Serves ``files`` (path -> bytes) at ``base_url``; records each request's Range header.

    Faults: ``corrupt`` paths get one flipped byte; ``drop_first`` paths close the first
    connection after that many body bytes (Content-Length still announces the whole body);
    ``ignore_range`` answers 200 with the whole body even to a Range request; ``trickle``
    ``(size, seconds)`` sends the body ``size`` bytes at a time, ``seconds`` apart (a slow
    server that never pauses long enough to time a read out).
    """

    base_url: str = ""
    files: dict[str, bytes] = field(default_factory=dict)
    corrupt: set[str] = field(default_factory=set)
    drop_first: dict[str, int] = field(default_factory=dict)
    ignore_range: bool = False
    trickle: tuple[int, float] | None = None
    requests: list[tuple[str, str | None]] = field(default_factory=list)

    def url(self, path: str) -> str:
        return f"{self.base_url}/{path}"


def _handler(state: FileServer) -> type[BaseHTTPRequestHandler]:
    class Handler(BaseHTTPRequestHandler):
        def log_message(self, *args) -> None:  # keep test output clean
            pass

        def do_GET(self) -> None:
            path = self.path.lstrip("/")
            state.requests.append((path, self.headers.get("Range")))
            body = state.files.get(path)
            if body is None:
                self.send_error(404)
                return
            if path in state.corrupt:
                body = bytes([body[0] ^ 0xFF]) + body[1:]
            start = 0
            ranged = self.headers.get("Range")
            if ranged and not state.ignore_range:
                start = int(ranged.removeprefix("bytes=").split("-")[0])
                if start >= len(body):
                    self.send_response(416)
                    self.send_header("Content-Range", f"bytes */{len(body)}")
                    self.send_header("Content-Length", "0")
                    self.end_headers()
                    return
                self.send_response(206)
                self.send_header("Content-Range", f"bytes {start}-{len(body) - 1}/{len(body)}")
            else:
                self.send_response(200)
            payload = body[start:]
            self.send_header("Content-Length", str(len(payload)))
            self.end_headers()
            cut = state.drop_first.pop(path, None)
            if cut is not None:
                self.wfile.write(payload[:cut])
                self.wfile.flush()
                self.close_connection = True
                return
            if state.trickle is None:
                self.wfile.write(payload)
                return
            size, seconds = state.trickle
            for start in range(0, len(payload), size):
                try:
                    self.wfile.write(payload[start:start + size])
                    self.wfile.flush()
                except OSError:  # the client gave up
                    return
                time.sleep(seconds)

    return Handler


@pytest.fixture
def file_server():
    state = FileServer()
    server = ThreadingHTTPServer(("127.0.0.1", 0), _handler(state))
    server.daemon_threads = True
    state.base_url = f"http://127.0.0.1:{server.server_address[1]}"
    thread = threading.Thread(target=server.serve_forever, kwargs={"poll_interval": 0.05}, daemon=True)
    thread.start()
    try:
        yield state
    finally:
        server.shutdown()
        server.server_close()
        thread.join(timeout=5)
