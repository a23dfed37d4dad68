"""A local HTTP peer that plays a carrier: scripted answers per route, every request recorded.

    with Peer.running() as peer:
        peer.on("POST", "/parcels", Reply(500), Reply(201, json={"id": "X1"}))
        ...  # point the adapter at peer.url
        assert peer.seen("POST", "/parcels")[0].headers["Idempotency-Key"] == "k-1"

Replies to a route are used in order; the last one repeats. A route with no script
answers 404 so a wrong URL fails loudly. It is a real werkzeug server on 127.0.0.1
(a free port), so the adapters' requests go over real sockets.
"""

from __future__ import annotations

import json
import threading
from collections.abc import Callable, Iterator
from contextlib import contextmanager
from dataclasses import dataclass, field
from typing import Any

from werkzeug.datastructures import Headers
from werkzeug.serving import WSGIRequestHandler, make_server
from werkzeug.wrappers import Request, Response


@dataclass(frozen=True)
class Reply:
    """One scripted answer: status, a JSON document or raw body, headers, a delay."""

    status: int = 200
    json: Any = None
    body: bytes | str | None = None  # raw bytes win over json (for malformed answers)
    headers: tuple[tuple[str, str], ...] = ()
    delay: float = 0.0  # seconds to wait before answering (cut short when the peer stops)


@dataclass(frozen=True)
class Seen:
    """One request the peer received."""

    method: str
    path: str
    query: dict[str, str]
    headers: Headers
    body: bytes = field(repr=False)

    def json(self) -> Any:
        """The request body decoded as JSON."""
        return json.loads(self.body)


class _QuietHandler(WSGIRequestHandler):
    """werkzeug's handler without its per-request log lines on stderr."""

    def log_request(self, *args, **kwargs):
        """Say nothing per request."""

    def log(self, *args, **kwargs):
        """Say nothing (a client that timed out and left is expected here)."""


class Peer:
    """A scripted carrier on 127.0.0.1; use Peer.running() to start and stop it."""

    def __init__(self):
        self._lock = threading.Lock()
        self._script: dict[tuple[str, str], list[Reply | Callable[[Seen], Reply]]] = {}
        self._seen: list[Seen] = []
        self._stopping = threading.Event()
        self.url = ""

    @classmethod
    @contextmanager
    def running(cls) -> Iterator[Peer]:
        """Serve on a free port in a thread for the duration of the block."""
        peer = cls()
        server = make_server("127.0.0.1", 0, peer._wsgi, threaded=True,
                             request_handler=_QuietHandler)
        peer.url = f"http://127.0.0.1:{server.port}"
        # A short poll interval: shutdown() waits for the loop to notice, once per test.
        thread = threading.Thread(target=server.serve_forever, kwargs={"poll_interval": 0.05},
                                  name="carrier-peer", daemon=True)
        thread.start()
        try:
            yield peer
        finally:
            peer._stopping.set()  # release handlers still sleeping on a delay
            server.shutdown()
            server.server_close()
            thread.join()

    def on(self, method: str, path: str, *replies: Reply | Callable[[Seen], Reply]) -> None:
        """Script the answers to METHOD path (a callable gets the request and returns a Reply)."""
        with self._lock:
            self._script[(method.upper(), path)] = list(replies)

    def seen(self, method: str | None = None, path: str | None = None) -> list[Seen]:
        """The requests received so far, optionally only those to METHOD path."""
        with self._lock:
            return [s for s in self._seen
                    if (method is None or s.method == method.upper())
                    and (path is None or s.path == path)]

    def _next(self, seen: Seen) -> Reply:
        """The scripted reply for this request (404 when the route has no script)."""
        with self._lock:
            self._seen.append(seen)
            replies = self._script.get((seen.method, seen.path))
            if not replies:
                return Reply(404, json={"error": f"no script for {seen.method} {seen.path}"})
            reply = replies.pop(0) if len(replies) > 1 else replies[0]
        return reply(seen) if callable(reply) else reply

    def _wsgi(self, environ, start_response):
        """The WSGI app: record the request, wait if told, answer as scripted."""
        request = Request(environ)
        seen = Seen(method=request.method, path=request.path, query=dict(request.args),
                    headers=Headers(request.headers), body=request.get_data())
        reply = self._next(seen)
        if reply.delay:
            self._stopping.wait(reply.delay)
        if reply.body is not None:
            response = Response(reply.body, status=reply.status,
                                content_type="application/json")
        elif reply.json is not None:
            response = Response(json.dumps(reply.json), status=reply.status,
                                content_type="application/json")
        else:
            response = Response(b"", status=reply.status)
        for name, value in reply.headers:
            response.headers[name] = value
        return response(environ, start_response)
