"""A local HTTP endpoint standing in for Slack, Teams, ntfy or a JSON webhook: it keeps every POST it gets."""

from __future__ import annotations

import json
import threading
from collections.abc import Iterator
from contextlib import contextmanager
from dataclasses import dataclass, field
from http.server import BaseHTTPRequestHandler, HTTPServer
from typing import Any


@dataclass
class Receiver:
    port: int
    posts: list[tuple[str, Any]] = field(default_factory=list)  # (path, JSON body), in arrival order
    bodies: list[Any] = field(default_factory=list)  # the bodies alone

    def url(self, path: str = "/alert") -> str:
        return f"http://127.0.0.1:{self.port}{path}"


@contextmanager
def receiving() -> Iterator[Receiver]:
    """Serve on a free loopback port for the block; shut down and closed after it."""
    posts: list[tuple[str, Any]] = []
    bodies: list[Any] = []

    class Handler(BaseHTTPRequestHandler):
        def do_POST(self) -> None:  # noqa: N802 - http.server's name
            body = json.loads(self.rfile.read(int(self.headers["Content-Length"])))
            posts.append((self.path, body))
            bodies.append(body)
            self.send_response(200)
            self.end_headers()

        def log_message(self, *args: object) -> None:
            pass

    server = HTTPServer(("127.0.0.1", 0), Handler)
    thread = threading.Thread(target=server.serve_forever, daemon=True)
    thread.start()
    try:
        yield Receiver(server.server_port, posts, bodies)
    finally:
        server.shutdown()
        server.server_close()
        thread.join(timeout=10)
