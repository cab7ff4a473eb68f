"""A real HTTP server on 127.0.0.1 that answers like Knack's REST API for one simulated app."""

from __future__ import annotations

import json
import math
import random
import socket
import struct
import threading
import time
from collections import Counter, deque
from collections.abc import Callable
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from types import TracebackType
from typing import Any
from urllib.parse import parse_qs, unquote, urlsplit

from simulator.app import KnackApp
from simulator.faults import Faults
from simulator.store import FilterError

MAX_ROWS_PER_PAGE = 1000
DEFAULT_ROWS_PER_PAGE = 25


class SimulatorServer:
    """Serve `app` over HTTP until stopped; a context manager starts it on a free port in a thread.

    `faults` may be replaced while it runs (`sim.faults = Faults(...)`). Every random decision
    (503s, slow responses, resets, page shifts) is drawn from one generator seeded by `seed`, in
    the order requests arrive, so a sequential client sees the same run twice.
    """

    def __init__(self, app: KnackApp, faults: Faults | None = None, seed: int = 0, port: int = 0,
                 api_key: str | None = None):
        self.app = app
        self.faults = faults or Faults()
        self.seed = seed
        self.api_key = api_key or getattr(app, "api_key", None) or _api_key_for(seed)
        self._port = port
        self._rng = random.Random(seed)
        self._lock = threading.Lock()
        self._window: deque[float] = deque()
        self._quota_day: Any = None
        self._quota_used = 0
        self.request_count = 0
        self.object_request_counts: Counter[str] = Counter()
        self.status_counts: Counter[int] = Counter()
        self._httpd: ThreadingHTTPServer | None = None
        self._thread: threading.Thread | None = None
        # called with (object key, query) before each records request is answered: changes while a client reads
        self.on_records: Callable[[str, dict[str, str]], None] | None = None

    # ---- life cycle ----
    @property
    def app_id(self) -> str:
        return self.app.app_id

    @property
    def port(self) -> int:
        if self._httpd is None:
            raise RuntimeError("the simulator is not started")
        return int(self._httpd.server_address[1])

    @property
    def base_url(self) -> str:
        return f"http://127.0.0.1:{self.port}/v1"

    @property
    def control_url(self) -> str:
        """Not Knack's: `POST <control_url>/advance?days=N` makes N days of ordinary change while serving."""
        return f"http://127.0.0.1:{self.port}/_simulator"

    def advance(self, days: int) -> dict[str, Any]:
        """N simulated days of ordinary change (uploads, results, edits, deletions) while serving."""
        advance = getattr(self.app, "advance", None)
        if advance is None:
            raise ValueError("this app replays a fixed fixture: it has no days of change")
        with self.app.lock:
            before = {key: set(t.rows) for key, t in self.app.tables.items()}
            advance(days)
            return {"today": self.app.today.isoformat(), "objects": {
                key: {"records": len(t.rows), "created": len(set(t.rows) - before[key]),
                      "deleted": len(before[key] - set(t.rows))} for key, t in self.app.tables.items()}}

    def bind(self) -> None:
        """Open the listening socket (port 0 → a free one) without serving yet."""
        if self._httpd is None:
            self._httpd = _Httpd(("127.0.0.1", self._port), _Handler)
            self._httpd.simulator = self

    def start(self) -> SimulatorServer:
        self.bind()
        assert self._httpd is not None
        self._thread = threading.Thread(target=self._httpd.serve_forever, kwargs={"poll_interval": 0.05},
                                        name="knack-simulator", daemon=True)
        self._thread.start()
        return self

    def serve_forever(self) -> None:
        """Serve in the calling thread until interrupted (the `knackhouse simulate` command)."""
        self.bind()
        assert self._httpd is not None
        try:
            self._httpd.serve_forever()
        finally:
            self._httpd.server_close()

    def stop(self) -> None:
        if self._httpd is not None:
            if self._thread is not None:
                self._httpd.shutdown()
                self._thread.join(timeout=5)
            self._httpd.server_close()
            self._httpd = None
            self._thread = None

    def __enter__(self) -> SimulatorServer:
        return self.start()

    def __exit__(self, kind: type[BaseException] | None, error: BaseException | None,
                 trace: TracebackType | None) -> None:
        self.stop()

    def reset_counter(self) -> None:
        """Start counting requests afresh (`request_count`, per object and per status)."""
        with self._lock:
            self.request_count = 0
            self.object_request_counts.clear()
            self.status_counts.clear()

    # ---- decisions per request ----
    def _admit(self, object_key: str | None) -> tuple[int, bytes] | None:
        """Count the request and apply the limits; a refusal is (status, body)."""
        with self._lock:
            self.request_count += 1
            if object_key:
                self.object_request_counts[object_key] += 1
            faults = self.faults
            if faults.rate_limit:
                now = time.monotonic()
                while self._window and now - self._window[0] >= 1.0:
                    self._window.popleft()
                if len(self._window) >= faults.requests_per_second:
                    return 429, b"Rate limit exceeded"
                self._window.append(now)
            if faults.daily_quota is not None:
                if self._quota_day != self.app.today:
                    self._quota_day, self._quota_used = self.app.today, 0
                self._quota_used += 1
                if self._quota_used > faults.daily_quota:
                    return 429, _error("Daily API limit exceeded for this plan")
        return None

    def _draw(self) -> float:
        with self._lock:
            return self._rng.random()

    def _note(self, status: int) -> None:
        with self._lock:
            self.status_counts[status] += 1


class _Httpd(ThreadingHTTPServer):
    daemon_threads = True
    allow_reuse_address = True
    request_queue_size = 64
    simulator: SimulatorServer


def _error(message: str) -> bytes:
    return json.dumps({"errors": [{"message": message}]}).encode()


def _api_key_for(seed: int) -> str:
    hexes = f"{random.Random(f'key-{seed}').getrandbits(128):032x}"
    return f"{hexes[:8]}-{hexes[8:12]}-{hexes[12:16]}-{hexes[16:20]}-{hexes[20:]}"


class _Handler(BaseHTTPRequestHandler):
    protocol_version = "HTTP/1.1"
    disable_nagle_algorithm = True  # headers and body go out at once, no 40 ms delayed-ACK stalls
    server: _Httpd

    def log_message(self, format: str, *args: Any) -> None:  # noqa: A002 - the base class's name
        return

    def do_POST(self) -> None:  # noqa: N802 - http.server's naming
        """The simulator's control endpoint (not Knack's, never rate limited): `/_simulator/advance?days=N`."""
        sim = self.server.simulator
        url = urlsplit(self.path)
        length = _int(self.headers.get("Content-Length"), 0, minimum=0)
        if length:
            self.rfile.read(length)
        if url.path.rstrip("/") != "/_simulator/advance":
            self._send(404, _error("Not found (the control endpoint is POST /_simulator/advance?days=N)"))
            return
        if self.headers.get("X-Knack-REST-API-Key") != sim.api_key:
            self._send(401, _error("Invalid API key: send the simulator's key as X-Knack-REST-API-Key"))
            return
        days = parse_qs(url.query).get("days", ["1"])[-1]
        if not days.isdigit() or not 1 <= int(days) <= 366:
            self._send(400, _error(f"days must be a whole number from 1 to 366, got {days!r}"))
            return
        try:
            changed = sim.advance(int(days))
        except ValueError as error:
            self._send(400, _error(str(error)))
            return
        self._send(200, json.dumps(changed).encode())

    def do_GET(self) -> None:  # noqa: N802 - http.server's naming
        sim = self.server.simulator
        url = urlsplit(self.path)
        parts = [unquote(p) for p in url.path.split("/") if p]
        query = {k: v[-1] for k, v in parse_qs(url.query, keep_blank_values=True).items()}
        object_key = parts[2] if len(parts) >= 3 and parts[1] == "objects" else None
        refused = sim._admit(object_key)
        if refused is not None:
            self._send(*refused, content_type="text/plain" if refused[1].startswith(b"Rate") else None)
            return
        if len(parts) == 3 and parts[:2] == ["v1", "applications"]:
            if parts[2] != sim.app_id:
                self._send(404, _error("Application not found"))
                return
            with sim.app.lock:
                body = json.dumps(sim.app.metadata(), ensure_ascii=False, separators=(",", ":")).encode()
            self._faulty_send(200, body)
            return
        if object_key is None or len(parts) not in (4, 5) or parts[3] != "records":
            self._send(404, _error("Not found"))
            return
        if self.headers.get("X-Knack-Application-Id") != sim.app_id or \
                self.headers.get("X-Knack-REST-API-Key") != sim.api_key:
            self._send(401, _error("Invalid API key"))
            return
        table = sim.app.tables.get(object_key)
        if table is None:
            self._send(404, _error(f"Object {object_key} not found"))
            return
        if sim.faults.error_rate and sim._draw() < sim.faults.error_rate:
            self._send(503, b"Service Unavailable", content_type="text/plain")
            return
        if len(parts) == 5:
            with sim.app.lock:
                body = table.render(parts[4]) if parts[4] in table.rows else None
            if body is None:
                self._send(404, _error("Record not found"))
            else:
                self._faulty_send(200, body)
            return
        self._records(sim, object_key, query)

    def _records(self, sim: SimulatorServer, object_key: str, query: dict[str, str]) -> None:
        page = _int(query.get("page"), 1, minimum=1)
        rows_per_page = min(_int(query.get("rows_per_page"), DEFAULT_ROWS_PER_PAGE, minimum=1), MAX_ROWS_PER_PAGE)
        try:
            filters = json.loads(query["filters"]) if query.get("filters") else None
        except ValueError:
            self._send(400, _error("filters is not valid JSON"))
            return
        faults = sim.faults
        if sim.on_records is not None:
            sim.on_records(object_key, query)
        if faults.page_shift and page >= 2:
            shift_rng = random.Random(sim._draw())
            sim.app.churn(object_key, shift_rng, faults.page_shift_inserts, faults.page_shift_deletes,
                          faults.page_shift_modifies)
        with sim.app.lock:
            table = sim.app.tables[object_key]
            try:
                ids = table.query(filters, query.get("sort_field"), str(query.get("sort_order", "asc")).lower())
            except FilterError as error:
                self._send(400, _error(str(error)))
                return
            chosen = ids[(page - 1) * rows_per_page: page * rows_per_page]
            records = b",".join(table.render(rid) for rid in chosen)
        total = len(ids) + faults.inflate_total
        head = (f'{{"total_pages":{math.ceil(total / rows_per_page)},"current_page":{page},'
                f'"total_records":{total},"records":[').encode()
        self._faulty_send(200, head + records + b"]}", can_reset=True)

    def _faulty_send(self, status: int, body: bytes, can_reset: bool = False) -> None:
        sim = self.server.simulator
        faults = sim.faults
        if faults.slow_seconds and sim._draw() < faults.slow_rate:
            time.sleep(faults.slow_seconds)
        if can_reset and faults.reset_rate and sim._draw() < faults.reset_rate:
            self._reset_mid_body(body)
            return
        self._send(status, body)

    def _send(self, status: int, body: bytes, content_type: str | None = None) -> None:
        self.server.simulator._note(status)
        self.send_response(status)
        self.send_header("Content-Type", content_type or "application/json; charset=utf-8")
        self.send_header("Content-Length", str(len(body)))
        self.end_headers()
        self.wfile.write(body)

    def _reset_mid_body(self, body: bytes) -> None:
        self.server.simulator._note(-1)
        self.send_response(200)
        self.send_header("Content-Type", "application/json; charset=utf-8")
        self.send_header("Content-Length", str(len(body)))
        self.end_headers()
        self.wfile.write(body[: len(body) // 2])
        self.wfile.flush()
        self.connection.setsockopt(socket.SOL_SOCKET, socket.SO_LINGER, struct.pack("ii", 1, 0))
        self.close_connection = True
        self.connection.close()


def _int(text: str | None, default: int, minimum: int) -> int:
    try:
        value = int(str(text))
    except (TypeError, ValueError):
        return default
    return max(value, minimum)
