"""A loopback Boss API server for tests, with fault injection.

Speaks the part of the Boss v1 REST API that ``intern``'s ``BossRemote`` uses
to read a channel (read from intern 1.4's ``service/boss/v1``):

* ``GET /v1/collection/{coll}/experiment/{exp}/channel/{chan}`` -> channel JSON
  (``datatype``, ``type``, ...);
* ``GET /v1/collection/{coll}/experiment/{exp}`` -> experiment JSON (``coord_frame``);
* ``GET /v1/coord/{name}`` -> coordinate frame JSON (``x_start`` ... ``z_stop``);
* ``GET /v1/cutout/{coll}/{exp}/{chan}/{res}/{x0:x1}/{y0:y1}/{z0:z1}/`` with
  ``Accept: application/blosc`` -> the ``(z, y, x)`` block, C order, in the
  channel's datatype, blosc-compressed.

Every request must carry ``Authorization: Token <token>`` (401 otherwise).
Data comes from any :class:`~mtneuro.data.sources.base.VolumeSource`; annotation
channels are served as uint64 like BossDB does.

Faults are queued per route with :meth:`BossTestServer.inject` and consumed in
order by matching requests: ``"error500"`` (HTTP 500), ``"stall"`` (no answer
for ``stall_seconds``, past a client time-out), ``"truncate"`` (a 200 whose body
stops half-way, then the connection closes), ``"drop"`` (connection closed with
no response) and ``"notfound"`` (HTTP 404). Every request is logged with its
outcome so tests can count them.

Run ``python tests/support/boss_server.py --source phantom`` to serve a source by
hand.
"""

from __future__ import annotations

import json
import re
import threading
import time
from dataclasses import dataclass
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from typing import Any

import numpy as np

from mtneuro.data.sources.base import VolumeSource
from mtneuro.data.sources.bossdb import BOSSDB_CHANNELS
from mtneuro.extras import require

FAULTS = ("error500", "stall", "truncate", "drop", "notfound")
ROUTES = ("cutout", "channel", "experiment", "coord")
_CUTOUT = re.compile(
    r"^/v1/cutout/([^/]+)/([^/]+)/([^/]+)/(\d+)/(\d+):(\d+)/(\d+):(\d+)/(\d+):(\d+)/?$"
)
_CHANNEL = re.compile(r"^/v1/collection/([^/]+)/experiment/([^/]+)/channel/([^/]+)/?$")
_EXPERIMENT = re.compile(r"^/v1/collection/([^/]+)/experiment/([^/]+)/?$")
_COORD = re.compile(r"^/v1/coord/([^/]+)/?$")


@dataclass
class Logged:
    """One request the server saw: its route, path and what it answered."""

    route: str
    path: str
    outcome: str  # "200", "404", ... or a fault name


class BossTestServer:
    """Threaded HTTP server on 127.0.0.1 (ephemeral port) serving ``source``.

    Args:
        source: the volume to serve; its ``channels`` are exposed under the
            BossDB names of :data:`~mtneuro.data.sources.bossdb.BOSSDB_CHANNELS`.
        token: token clients must send.
        stall_seconds: how long a ``"stall"`` fault keeps a request unanswered.
        delay_seconds: extra latency added to every cutout (to slow a fill down).

    Use as a context manager; :attr:`host` is ``"127.0.0.1:<port>"``.
    """

    def __init__(
        self,
        source: VolumeSource,
        *,
        token: str = "public",
        stall_seconds: float = 5.0,
        delay_seconds: float = 0.0,
    ) -> None:
        self._blosc = require("blosc", "bossdb")  # cutout bodies are blosc-compressed
        self.source = source
        self.token = token
        self.stall_seconds = stall_seconds
        self.delay_seconds = delay_seconds
        self.log: list[Logged] = []
        self._faults: dict[str, list[list[Any]]] = {r: [] for r in ROUTES}
        self._lock = threading.Lock()
        self._stop = threading.Event()
        by_path = {v: k for k, v in BOSSDB_CHANNELS.items() if k in source.channels}
        self._channels: dict[tuple[str, str, str], str] = by_path
        self._httpd = ThreadingHTTPServer(("127.0.0.1", 0), _make_handler(self))
        self._httpd.daemon_threads = True
        self._thread: threading.Thread | None = None

    # -- control ----------------------------------------------------------------------
    @property
    def host(self) -> str:
        return f"127.0.0.1:{self._httpd.server_address[1]}"

    def start(self) -> BossTestServer:
        self._thread = threading.Thread(
            target=self._httpd.serve_forever, kwargs={"poll_interval": 0.05}, daemon=True
        )
        self._thread.start()
        return self

    def stop(self) -> None:
        """Stop serving and close the port (idempotent)."""
        self._stop.set()  # releases stalled handlers at once
        if self._thread is not None:  # shutdown() would wait forever if never started
            self._httpd.shutdown()
            self._thread.join(timeout=5)
            self._thread = None
        self._httpd.server_close()

    def __enter__(self) -> BossTestServer:
        return self.start()

    def __exit__(self, *exc: object) -> None:
        self.stop()

    def inject(self, fault: str, count: int | None = 1, route: str = "cutout") -> None:
        """Queue ``fault`` for the next ``count`` requests of ``route`` (``None``: all of them)."""
        if fault not in FAULTS or route not in ROUTES:
            raise ValueError(f"fault must be one of {FAULTS} and route one of {ROUTES}")
        with self._lock:
            self._faults[route].append([fault, count])

    def clear(self) -> None:
        """Drop queued faults and the request log."""
        with self._lock:
            for queue in self._faults.values():
                queue.clear()
            self.log.clear()

    def count(self, route: str = "cutout", outcome: str | None = None) -> int:
        """Requests seen on ``route`` (optionally only those answered with ``outcome``)."""
        with self._lock:
            return sum(
                1
                for r in self.log
                if r.route == route and (outcome is None or r.outcome == outcome)
            )

    # -- used by the handler -------------------------------------------------------------
    def _next_fault(self, route: str) -> str | None:
        with self._lock:
            queue = self._faults[route]
            while queue:
                fault, left = queue[0]
                if left is None:
                    return fault
                if left > 0:
                    queue[0][1] = left - 1
                    if left == 1:
                        queue.pop(0)
                    return fault
                queue.pop(0)
        return None

    def _record(self, route: str, path: str, outcome: str) -> Logged:
        entry = Logged(route, path, outcome)
        with self._lock:
            self.log.append(entry)
        return entry

    def _frame(self, exp: str) -> dict[str, Any]:
        z, y, x = self.source.shape
        return {
            "name": f"{exp}_frame",
            "description": "loopback test frame",
            "x_start": 0,
            "x_stop": x,
            "y_start": 0,
            "y_stop": y,
            "z_start": 0,
            "z_stop": z,
            "x_voxel_size": self.source.voxel_size_um,
            "y_voxel_size": self.source.voxel_size_um,
            "z_voxel_size": self.source.voxel_size_um,
            "voxel_unit": "micrometers",
        }

    def _answer(self, route: str, match: re.Match[str]) -> tuple[int, str, bytes]:
        """Status, content type and body of a well-formed request."""
        groups = match.groups()
        if route == "coord":
            exps = {exp for _, exp, _ in self._channels}
            names = {f"{e}_frame": e for e in exps}
            if groups[0] not in names:
                return 404, "application/json", b'{"detail": "coordinate frame not found"}'
            return 200, "application/json", json.dumps(self._frame(names[groups[0]])).encode()
        if route == "experiment":
            coll, exp = groups
            if not any(c == coll and e == exp for c, e, _ in self._channels):
                return 404, "application/json", b'{"detail": "experiment not found"}'
            body = {
                "name": exp,
                "description": "",
                "creator": "test",
                "coord_frame": f"{exp}_frame",
                "num_hierarchy_levels": 1,
                "hierarchy_method": "isotropic",
                "num_time_samples": 1,
                "time_step": None,
                "time_step_unit": "",
                "collection": coll,
            }
            return 200, "application/json", json.dumps(body).encode()
        channel = self._channels.get(tuple(groups[:3]))  # type: ignore[arg-type]
        if channel is None:
            return 404, "application/json", b'{"detail": "channel not found"}'
        dtype = "uint8" if channel == "image" else "uint64"
        if route == "channel":
            body = {
                "name": groups[2],
                "description": "",
                "creator": "test",
                "default_time_sample": 0,
                "datatype": dtype,
                "base_resolution": 0,
                "type": "image" if channel == "image" else "annotation",
                "sources": [],
                "related": [],
                "downsample_status": "NOT_DOWNSAMPLED",
            }
            return 200, "application/json", json.dumps(body).encode()
        res, x0, x1, y0, y1, z0, z1 = (int(v) for v in groups[3:])
        if res != 0:
            return 400, "application/json", b'{"detail": "only resolution 0 is served"}'
        try:
            block = self.source.read_channel(channel, (z0, z1), (y0, y1), (x0, x1))
        except Exception as exc:  # noqa: BLE001 - a bad range is the client's error, like the Boss's 400
            return 400, "application/json", json.dumps({"detail": str(exc)}).encode()
        data = np.ascontiguousarray(block, dtype=dtype)
        return (
            200,
            "application/blosc",
            self._blosc.compress(data.tobytes(), typesize=data.dtype.itemsize),
        )


def _make_handler(server: BossTestServer) -> type[BaseHTTPRequestHandler]:
    class Handler(BaseHTTPRequestHandler):
        protocol_version = "HTTP/1.1"  # keep-alive, as requests sessions expect

        def log_message(self, format: str, *args: Any) -> None:  # noqa: A002 - quiet in tests
            pass

        def do_GET(self) -> None:  # noqa: N802 - http.server naming
            path = self.path.split("?", 1)[0]
            for route, pattern in (  # noqa: B007 - the matching route is used after the loop
                ("cutout", _CUTOUT),
                ("channel", _CHANNEL),
                ("experiment", _EXPERIMENT),
                ("coord", _COORD),
            ):
                match = pattern.match(path)
                if match:
                    break
            else:
                server._record("unknown", path, "404")
                return self._send(404, "application/json", b'{"detail": "no such route"}')
            if self.headers.get("Authorization") != f"Token {server.token}":
                server._record(route, path, "401")
                return self._send(401, "application/json", b'{"detail": "invalid token"}')
            fault = server._next_fault(route)
            entry = server._record(route, path, fault or "ok")
            if fault == "drop":
                self.close_connection = True
                return
            if fault == "error500":
                return self._send(500, "text/plain", b"injected internal server error")
            if fault == "notfound":
                return self._send(404, "application/json", b'{"detail": "not found"}')
            if fault == "stall":
                server._stop.wait(server.stall_seconds)
            if route == "cutout" and server.delay_seconds:
                server._stop.wait(server.delay_seconds)
            status, ctype, body = server._answer(route, match)
            if status != 200 and fault is None:
                entry.outcome = str(status)
            if fault == "truncate":
                return self._send(status, ctype, body, truncate=True)
            self._send(status, ctype, body)

        def _send(self, status: int, ctype: str, body: bytes, truncate: bool = False) -> None:
            try:
                self.send_response(status)
                self.send_header("Content-Type", ctype)
                self.send_header("Content-Length", str(len(body)))
                self.end_headers()
                self.wfile.write(body[: len(body) // 2] if truncate else body)
                self.wfile.flush()
            except (BrokenPipeError, ConnectionResetError):
                pass  # the client gave up (time-out): nothing left to answer
            if truncate:
                self.close_connection = True

    return Handler


def main(argv: list[str] | None = None) -> None:
    """Serve a source on 127.0.0.1 until interrupted."""
    import argparse

    from mtneuro.data.sources import open_source

    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--source", default="phantom")
    parser.add_argument("--delay", type=float, default=0.0, help="seconds added to every cutout")
    args = parser.parse_args(argv)
    with BossTestServer(open_source(args.source), delay_seconds=args.delay) as srv:
        print(f"serving {args.source} at http://{srv.host} (Ctrl-C to stop)", flush=True)
        try:
            while True:
                time.sleep(3600)
        except KeyboardInterrupt:
            pass


if __name__ == "__main__":
    main()
