"""Local HTTP servers for the fetch tests: canned replies per path, streamed and endless bodies, and a server that
accepts connections and never answers.

Each runs on 127.0.0.1 on a free port and is a context manager; leaving it stops the server and joins every
thread it started, including handlers still streaming an endless body, so no test leaves a thread running.
"""

from __future__ import annotations

import socket
import threading
from collections.abc import Callable, Iterator
from dataclasses import dataclass, field
from http.server import BaseHTTPRequestHandler, HTTPServer
from socketserver import ThreadingMixIn

Stream = Callable[[threading.Event], Iterator[bytes]]  # chunks to send; the event is set when the server stops


@dataclass
class Reply:
    status: int = 200
    body: bytes | Stream = b""  # a callable streams its chunks with chunked encoding, without Content-Length
    content_type: str | None = "text/html; charset=utf-8"
    headers: dict[str, str] = field(default_factory=dict)  # a Content-Length here replaces the real one


@dataclass(frozen=True)
class Request:
    path: str
    headers: dict[str, str]  # names in lower case


Route = Reply | Callable[[Request], Reply]


class WebServer:
    """A threaded HTTP/1.1 server answering from `routes` (path with query → Reply, or a function of the request)."""

    def __init__(self) -> None:
        self.routes: dict[str, Route] = {}
        self.requests: list[Request] = []
        self.stopping = threading.Event()
        self._httpd = _Server(("127.0.0.1", 0), _handler(self))
        self._thread = threading.Thread(
            target=self._httpd.serve_forever, kwargs={"poll_interval": 0.05}, name="webserver", daemon=False
        )

    @property
    def port(self) -> int:
        return self._httpd.server_address[1]

    def url(self, path: str = "/") -> str:
        return f"http://127.0.0.1:{self.port}{path}"

    def add(self, path: str, body: bytes | str | Stream = b"", **reply) -> str:
        """Serve `body` at `path`; returns the full URL."""
        self.routes[path] = Reply(body=body.encode() if isinstance(body, str) else body, **reply)
        return self.url(path)

    def redirect(self, path: str, location: str, status: int = 302) -> str:
        self.routes[path] = Reply(status=status, content_type=None, headers={"Location": location})
        return self.url(path)

    def paths(self) -> list[str]:
        return [request.path for request in self.requests]

    def __enter__(self) -> WebServer:
        self._thread.start()
        return self

    def __exit__(self, *exc_info) -> None:
        self.stopping.set()  # endless bodies stop at their next chunk
        self._httpd.shutdown()
        self._httpd.server_close()  # joins the handler threads
        self._thread.join()
        running = [thread.name for thread in [self._thread, *self._httpd.handlers] if thread.is_alive()]
        if running:
            raise RuntimeError(f"threads still running after the server stopped: {running}")


class SilentServer:
    """Accepts TCP connections (the kernel completes the handshake) and never reads or answers: no thread at all."""

    def __init__(self) -> None:
        self._socket = socket.socket(socket.AF_INET, socket.SOCK_STREAM)
        self._socket.bind(("127.0.0.1", 0))
        self._socket.listen(8)

    def url(self, path: str = "/") -> str:
        return f"http://127.0.0.1:{self._socket.getsockname()[1]}{path}"

    def __enter__(self) -> SilentServer:
        return self

    def __exit__(self, *exc_info) -> None:
        self._socket.close()


class _Server(ThreadingMixIn, HTTPServer):
    """Keeps its handler threads (not daemons), so closing it can wait for every one of them."""

    allow_reuse_address = True
    daemon_threads = False

    def __init__(self, address, handler) -> None:
        super().__init__(address, handler)
        self.handlers: list[threading.Thread] = []

    def process_request(self, request, client_address) -> None:
        thread = threading.Thread(
            target=self.process_request_thread, args=(request, client_address), name="webserver-handler"
        )
        self.handlers.append(thread)
        thread.start()

    def server_close(self) -> None:
        super().server_close()
        for thread in self.handlers:
            thread.join(timeout=10)

    def handle_error(self, request, client_address) -> None:
        """A client that hangs up mid-body (the fetch stopping at its size limit) is expected here."""
        import sys

        if not isinstance(sys.exc_info()[1], (BrokenPipeError, ConnectionResetError, TimeoutError)):
            super().handle_error(request, client_address)


def _handler(server: WebServer) -> type[BaseHTTPRequestHandler]:
    class Handler(BaseHTTPRequestHandler):
        protocol_version = "HTTP/1.1"  # chunked transfer encoding needs it
        timeout = 10  # a client that connects and sends nothing cannot hold a thread for long

        def log_message(self, format, *args) -> None:
            pass

        def do_GET(self) -> None:
            request = Request(self.path, {name.lower(): value for name, value in self.headers.items()})
            server.requests.append(request)
            route = server.routes.get(self.path) or server.routes.get(self.path.split("?", 1)[0])
            if route is None:
                route = Reply(status=404, body=b"<html><body><p>Not found</p></body></html>")
            reply = route(request) if callable(route) else route
            self.close_connection = True
            self.send_response(reply.status)
            if reply.content_type:
                self.send_header("Content-Type", reply.content_type)
            self.send_header("Connection", "close")
            for name, value in reply.headers.items():
                self.send_header(name, value)
            if callable(reply.body):
                self.send_header("Transfer-Encoding", "chunked")
                self.end_headers()
                self._stream(reply.body)
                return
            if not any(name.lower() == "content-length" for name in reply.headers):
                self.send_header("Content-Length", str(len(reply.body)))
            self.end_headers()
            self.wfile.write(reply.body)

        def _stream(self, body: Stream) -> None:
            for chunk in body(server.stopping):
                if server.stopping.is_set():
                    return
                if chunk:
                    self.wfile.write(b"%x\r\n%s\r\n" % (len(chunk), chunk))
                    self.wfile.flush()
            self.wfile.write(b"0\r\n\r\n")

    return Handler


def fake_internet(monkeypatch, port: int) -> dict[str, list[str]]:
    """Public host names for the SSRF tests: the returned map sends a name to its addresses (fake DNS), and
    connections to public addresses reach the local server on `port` (fake routing); everything else
    resolves and connects for real, so the private-address checks still see the true addresses."""
    import ipaddress

    from index.web import classify_address, safety

    names: dict[str, list[str]] = {}
    real_resolve, real_dial = safety.resolve, safety.dial

    def resolve(host, port_):
        if host in names:
            return [ipaddress.ip_address(address) for address in names[host]]
        return real_resolve(host, port_)

    def dial(address, port_, timeout):
        if classify_address(address) is None:
            return real_dial(ipaddress.ip_address("127.0.0.1"), port, timeout)
        return real_dial(address, port_, timeout)

    monkeypatch.setattr(safety, "resolve", resolve)
    monkeypatch.setattr(safety, "dial", dial)
    return names
