"""A stand-in OpenAI-compatible chat-completions server for the generation tests, on 127.0.0.1 (a free port).

Scriptable per test: `server.script(reply, reply, ...)` queues what the next requests get (the last one repeats):
a plain JSON completion, a streamed SSE one (optionally held after its first chunk until the test says go, to see
deltas arrive one by one), a slow one, a status with headers (429 with Retry-After, 500), a stream cut mid-way,
malformed JSON. Every request is recorded (path, headers, parsed JSON body) so a test can read the prompt it sent.
A context manager: leaving it stops the server and joins every handler thread (waits are cut short by `stopping`).
"""

from __future__ import annotations

import json
import threading
from collections.abc import Sequence
from dataclasses import dataclass, field
from http.server import BaseHTTPRequestHandler, HTTPServer
from socketserver import ThreadingMixIn
from typing import Any


@dataclass(frozen=True)
class Recorded:
    path: str
    headers: dict[str, str]  # names in lower case
    body: Any  # the parsed JSON, or the raw text when it is not JSON


@dataclass
class Reply:
    """What one request gets. kind: "json", "sse", "status", "raw"."""

    kind: str = "json"
    text: str = ""
    pieces: Sequence[str] = ()  # sse: the content deltas
    usage: dict[str, int] | None = None
    status: int = 200
    headers: dict[str, str] = field(default_factory=dict)
    body: bytes = b""  # raw / status: sent as is
    delay: float = 0.0  # seconds before the reply starts
    chunk_delay: float = 0.0  # sse: seconds between chunks
    repeat_forever: bool = False  # sse: trickle the pieces again and again, never finishing
    cut_after: int | None = None  # sse: close the connection after this many chunks, mid-stream
    done: bool = True  # sse: end with "data: [DONE]"
    gate: threading.Event | None = None  # sse: after the first chunk, wait for this (set by the test's on_delta)
    model: str = "stand-in-1"


def completion(text: str, usage: dict[str, int] | None = None, **kw: Any) -> Reply:
    return Reply(kind="json", text=text, usage=usage, **kw)


def streamed(pieces: Sequence[str], usage: dict[str, int] | None = None, **kw: Any) -> Reply:
    return Reply(kind="sse", pieces=pieces, usage=usage, **kw)


def status(code: int, body: str = '{"error": {"message": "busy"}}', **headers: str) -> Reply:
    return Reply(
        kind="status", status=code, body=body.encode(), headers={k.replace("_", "-"): v for k, v in headers.items()}
    )


def raw(body: bytes, content_type: str = "application/json") -> Reply:
    return Reply(kind="raw", body=body, headers={"Content-Type": content_type})


class LLMServer:
    def __init__(self) -> None:
        self.replies: list[Reply] = [completion("NOT_COVERED")]
        self.requests: list[Recorded] = []
        self.chunks_sent = 0  # SSE chunks written so far, over all requests
        self.stopping = threading.Event()
        self._lock = threading.Lock()
        self._httpd = _Server(("127.0.0.1", 0), _handler(self))
        self._thread = threading.Thread(
            target=self._httpd.serve_forever, kwargs={"poll_interval": 0.05}, name="llmserver", daemon=False
        )

    @property
    def url(self) -> str:
        return f"http://127.0.0.1:{self._httpd.server_address[1]}/v1"

    def script(self, *replies: Reply) -> None:
        self.replies = list(replies)

    def next_reply(self) -> Reply:
        with self._lock:
            return self.replies.pop(0) if len(self.replies) > 1 else self.replies[0]

    def __enter__(self) -> LLMServer:
        self._thread.start()
        return self

    def __exit__(self, *exc_info: object) -> None:
        self.stopping.set()
        self._httpd.shutdown()
        self._httpd.server_close()
        self._thread.join()


class _Server(ThreadingMixIn, HTTPServer):
    allow_reuse_address = True
    daemon_threads = False

    def __init__(self, address, handler) -> None:
        super().__init__(address, handler)
        self.handlers: list[threading.Thread] = []

    def process_request(self, request, client_address) -> None:
        thread = threading.Thread(
            target=self.process_request_thread, args=(request, client_address), name="llm-handler"
        )
        self.handlers.append(thread)
        thread.start()

    def server_close(self) -> None:
        super().server_close()
        for thread in self.handlers:
            thread.join(timeout=10)

    def handle_error(self, request, client_address) -> None:
        import sys

        if not isinstance(sys.exc_info()[1], (BrokenPipeError, ConnectionResetError, TimeoutError)):
            super().handle_error(request, client_address)


def _chunk(model: str, content: str | None = None, finish: str | None = None, usage: dict | None = None) -> bytes:
    data: dict[str, Any] = {"id": "c1", "object": "chat.completion.chunk", "model": model}
    if usage is not None:
        data["choices"], data["usage"] = [], usage
    else:
        delta = {"content": content} if content is not None else {}
        data["choices"] = [{"index": 0, "delta": delta, "finish_reason": finish}]
    return f"data: {json.dumps(data, ensure_ascii=False)}\n\n".encode()


def _handler(server: LLMServer) -> type[BaseHTTPRequestHandler]:
    class Handler(BaseHTTPRequestHandler):
        protocol_version = "HTTP/1.1"
        timeout = 10

        def log_message(self, format, *args) -> None:
            pass

        def do_POST(self) -> None:
            length = int(self.headers.get("Content-Length") or 0)
            data = self.rfile.read(length).decode("utf-8", "replace")
            try:
                body: Any = json.loads(data)
            except ValueError:
                body = data
            server.requests.append(Recorded(self.path, {k.lower(): v for k, v in self.headers.items()}, body))
            reply = server.next_reply()
            self.close_connection = True
            if reply.delay and server.stopping.wait(reply.delay):
                return
            if reply.kind == "sse":
                self._sse(reply)
                return
            if reply.kind == "json":
                message = {"role": "assistant", "content": reply.text}
                payload: dict[str, Any] = {
                    "id": "c1",
                    "object": "chat.completion",
                    "model": reply.model,
                    "choices": [{"index": 0, "message": message, "finish_reason": "stop"}],
                }
                if reply.usage is not None:
                    payload["usage"] = reply.usage
                self._send(
                    reply.status, json.dumps(payload, ensure_ascii=False).encode(), {"Content-Type": "application/json"}
                )
            else:
                headers = {"Content-Type": "application/json", **reply.headers}
                self._send(reply.status, reply.body, headers)

        def _send(self, code: int, body: bytes, headers: dict[str, str]) -> None:
            self.send_response(code)
            for name, value in headers.items():
                self.send_header(name, value)
            self.send_header("Content-Length", str(len(body)))
            self.send_header("Connection", "close")
            self.end_headers()
            self.wfile.write(body)

        def _write_chunk(self, data: bytes) -> None:
            self.wfile.write(b"%x\r\n%s\r\n" % (len(data), data))
            self.wfile.flush()

        def _sse(self, reply: Reply) -> None:
            self.send_response(200)
            self.send_header("Content-Type", "text/event-stream")
            self.send_header("Transfer-Encoding", "chunked")
            self.send_header("Connection", "close")
            self.end_headers()
            chunks = [_chunk(reply.model, piece) for piece in reply.pieces]
            sent = 0
            while True:
                for chunk in chunks:
                    if reply.cut_after is not None and sent >= reply.cut_after:
                        self.wfile.write(b"5\r\ndata:")  # half a chunk, then the connection closes
                        self.wfile.flush()
                        return
                    if sent and reply.chunk_delay and server.stopping.wait(reply.chunk_delay):
                        return
                    # counted before it is written, so a caller that has read it always sees it counted
                    sent += 1
                    server.chunks_sent += 1
                    self._write_chunk(chunk)
                    if sent == 1 and reply.gate is not None:
                        reply.gate.wait(timeout=10)
                if not reply.repeat_forever or server.stopping.is_set():
                    break
            self._write_chunk(_chunk(reply.model, finish="stop"))
            if reply.usage is not None:
                self._write_chunk(_chunk(reply.model, usage=reply.usage))
            if reply.done:
                self._write_chunk(b"data: [DONE]\n\n")
            self.wfile.write(b"0\r\n\r\n")

    return Handler
