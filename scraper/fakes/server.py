"""A tiny threaded WSGI server and the base class of the fake services."""

from __future__ import annotations

import threading
import time
from collections import deque
from contextlib import contextmanager
from dataclasses import dataclass, field
from socketserver import ThreadingMixIn
from typing import Iterator
from urllib.parse import parse_qs
from wsgiref.simple_server import WSGIRequestHandler, WSGIServer, make_server

STATUS_TEXT = {200: "OK", 204: "No Content", 301: "Moved Permanently", 302: "Found", 400: "Bad Request",
               403: "Forbidden", 404: "Not Found", 429: "Too Many Requests", 500: "Internal Server Error",
               502: "Bad Gateway", 503: "Service Unavailable", 504: "Gateway Timeout"}


@dataclass
class Request:
    method: str
    path: str
    query: dict[str, list[str]]
    body: bytes
    headers: dict[str, str]

    def arg(self, name: str, default: str | None = None) -> str | None:
        vals = self.query.get(name)
        return vals[0] if vals else default

    def form(self) -> dict[str, list[str]]:
        return parse_qs(self.body.decode("utf-8"), keep_blank_values=True)


@dataclass
class Fault:
    """One injected misbehaviour, used by the next matching request.

    ``status``: answer with this HTTP status (and ``body``); ``body`` alone: answer 200 with
    this body; ``delay``: sleep this many seconds first (a time-out for a client with a
    shorter one); ``path``: only requests whose path contains this string consume it (the
    whole path when ``exact``: ``/youtube/v3/comments`` then misses ``.../commentThreads``).
    """

    status: int | None = None
    body: bytes | str | None = None
    delay: float = 0.0
    path: str | None = None
    headers: dict[str, str] = field(default_factory=dict)
    exact: bool = False


class FakeService:
    """Subclasses implement :meth:`handle`; the base logs requests and applies faults."""

    def __init__(self) -> None:
        self.requests: list[Request] = []
        self.faults: deque[Fault] = deque()
        self._lock = threading.Lock()

    def inject(self, *faults: Fault) -> None:
        with self._lock:
            self.faults.extend(faults)

    def _take_fault(self, path: str) -> Fault | None:
        with self._lock:
            for i, f in enumerate(self.faults):
                if f.path is None or (f.path == path if f.exact else f.path in path):
                    del self.faults[i]
                    return f
        return None

    def handle(self, req: Request) -> tuple[int, dict[str, str], bytes]:
        raise NotImplementedError

    def __call__(self, environ, start_response):
        length = int(environ.get("CONTENT_LENGTH") or 0)
        body = environ["wsgi.input"].read(length) if length else b""
        headers = {k[5:].replace("_", "-").lower(): v for k, v in environ.items() if k.startswith("HTTP_")}
        if environ.get("CONTENT_TYPE"):
            headers["content-type"] = environ["CONTENT_TYPE"]
        req = Request(environ["REQUEST_METHOD"], environ.get("PATH_INFO", "/"),
                      parse_qs(environ.get("QUERY_STRING", ""), keep_blank_values=True), body, headers)
        with self._lock:
            self.requests.append(req)
        fault = self._take_fault(req.path)
        if fault is not None and fault.delay:
            time.sleep(fault.delay)
        if fault is not None and (fault.status is not None or fault.body is not None):
            status = fault.status or 200
            payload = fault.body if fault.body is not None else b"fault"
            hdrs = {"Content-Type": "text/plain; charset=utf-8", **fault.headers}
        else:
            status, hdrs, payload = self.handle(req)
        if isinstance(payload, str):
            payload = payload.encode("utf-8")
        start_response(f"{status} {STATUS_TEXT.get(status, 'Status')}",
                       [*hdrs.items(), ("Content-Length", str(len(payload)))])
        return [payload]


class _ThreadingWSGIServer(ThreadingMixIn, WSGIServer):
    daemon_threads = True
    allow_reuse_address = True

    def handle_error(self, request, client_address) -> None:
        import ssl
        import sys

        if isinstance(sys.exc_info()[1], (ssl.SSLError, ConnectionResetError)):
            return  # a client that refused our certificate: what an HTTPS test expects
        super().handle_error(request, client_address)


class _QuietHandler(WSGIRequestHandler):
    def log_message(self, *args) -> None:  # keep test and demo output clean
        pass


@contextmanager
def serve(app, host: str = "127.0.0.1", port: int = 0, ssl_context=None) -> Iterator[str]:
    """Serve ``app`` on a free local port; yields its base URL (``http://127.0.0.1:PORT``).

    With ``ssl_context`` (an ``ssl.SSLContext`` holding a certificate) it serves HTTPS and yields
    ``https://...``; the handshake happens in the request's thread, so a client that rejects the
    certificate never reaches ``app``.
    """
    server = make_server(host, port, app, server_class=_ThreadingWSGIServer, handler_class=_QuietHandler)
    if ssl_context is not None:
        server.socket = ssl_context.wrap_socket(server.socket, server_side=True, do_handshake_on_connect=False)
    # A short poll keeps shutdown (once per test server) fast.
    thread = threading.Thread(target=server.serve_forever, kwargs={"poll_interval": 0.05}, daemon=True)
    thread.start()
    try:
        yield f"{'https' if ssl_context is not None else 'http'}://{host}:{server.server_port}"
    finally:
        server.shutdown()
        server.server_close()
