"""Loopback mirrors that misbehave on purpose, for the fault tests (docs/failure-modes.md).

    with serve_faulty(root, Fault("status", status=503, failures=2)) as (url, requests):
        ...  # the first two requests of each file answer 503, later ones serve the file

`requests` records every path asked for, so a test can count attempts. Every fault hits the
first `failures` requests of a file and then serves it normally (a large number: always).
"""

import contextlib
import socket
import struct
import threading
import time
import uuid
from collections import Counter
from collections.abc import Iterator
from dataclasses import dataclass
from pathlib import Path

from taxi_testkit.mirror import MirrorHandler, serve_mirror

ALWAYS = 1_000_000
FAULTS = ("status", "drop", "reset", "short", "html", "redirect", "slow")


@dataclass(frozen=True)
class Fault:
    """How the mirror misbehaves.

    kinds: `status` answers `status`; `drop` sends half the body then closes; `reset` sends
    half then resets the connection; `short` announces the full Content-Length and sends fewer
    bytes; `html` answers 200 with an HTML page; `redirect` answers 302 to a signed URL that
    expires after `ttl_seconds`, whose first `failures` downloads stall past the client's read
    timeout; `slow` drips `drip_bytes` every `drip_seconds`.
    """

    kind: str
    failures: int = ALWAYS
    status: int = 503
    ttl_seconds: float = 0.5
    stall_seconds: float = 1.5
    drip_bytes: int = 4096
    drip_seconds: float = 0.05


class RequestLog:
    """Thread-safe record of requested paths."""

    def __init__(self) -> None:
        self._lock = threading.Lock()
        self.paths: list[str] = []

    def add(self, path: str) -> int:
        """Record `path`; return how many times it has been asked for, this one included."""
        with self._lock:
            self.paths.append(path)
            return self.paths.count(path)

    def count(self, fragment: str) -> int:
        """How many requests had `fragment` in their path."""
        with self._lock:
            return sum(1 for p in self.paths if fragment in p)

    def counts(self) -> Counter:
        with self._lock:
            return Counter(self.paths)


class FaultyHandler(MirrorHandler):
    """Serves the mirror's files, misbehaving as `fault` says; subclassed per server."""

    fault: Fault
    log: RequestLog
    tokens: dict[str, float]  # signed-URL token -> expiry (monotonic seconds)

    def do_GET(self) -> None:  # noqa: N802 - stdlib name
        nth = self.log.add(self.path)
        kind = self.fault.kind
        if kind == "redirect":
            self._redirect_or_signed(nth)
            return
        body = self._file_bytes(self.path)
        if body is None:
            self.send_error(404, "not published")
        elif nth > self.fault.failures:
            self._send(body)
        elif kind == "status":
            self.send_error(self.fault.status, "fault injected")
        elif kind == "html":
            self._send(b"<!doctype html><html><body>Rate limit exceeded</body></html>", "text/html")
        elif kind == "slow":
            self._send(body, drip=True)
        else:
            self._send_broken(body, kind)

    def _file_bytes(self, url_path: str) -> bytes | None:
        path = Path(self.translate_path(url_path))
        return path.read_bytes() if path.is_file() else None

    def _send(self, body: bytes, content_type: str = "application/gzip", drip=False) -> None:
        self.send_response(200)
        self.send_header("Content-Type", content_type)
        self.send_header("Content-Length", str(len(body)))
        self.end_headers()
        if not drip:
            self.wfile.write(body)
            return
        step = self.fault.drip_bytes
        for start in range(0, len(body), step):
            self.wfile.write(body[start : start + step])
            self.wfile.flush()
            time.sleep(self.fault.drip_seconds)

    def _send_broken(self, body: bytes, kind: str) -> None:
        self.send_response(200)
        self.send_header("Content-Type", "application/gzip")
        self.send_header("Content-Length", str(len(body)))
        self.end_headers()
        self.wfile.write(body[: len(body) // 2])
        self.wfile.flush()
        if kind == "reset":  # SO_LINGER 0: close() sends RST instead of FIN
            self.connection.setsockopt(socket.SOL_SOCKET, socket.SO_LINGER, struct.pack("ii", 1, 0))
        self.close_connection = True
        self.connection.close()

    def _redirect_or_signed(self, nth: int) -> None:
        if self.path.startswith("/signed/"):
            _, _, token, rest = self.path.split("/", 3)
            expiry = self.tokens.get(token)
            if expiry is None or time.monotonic() > expiry:
                self.send_error(403, "Request has expired")
                return
            body = self._file_bytes("/" + rest) or b""
            if self.log.count("/signed/") <= self.fault.failures:
                self._stall(body)
            else:
                self._send(body)
            return
        token = uuid.uuid4().hex
        self.tokens[token] = time.monotonic() + self.fault.ttl_seconds
        self.send_response(302)
        self.send_header("Location", f"/signed/{token}{self.path}")
        self.send_header("Content-Length", "0")
        self.end_headers()

    def _stall(self, body: bytes) -> None:
        """Send a little, then fall silent past the signature's expiry."""
        self.send_response(200)
        self.send_header("Content-Length", str(len(body)))
        self.end_headers()
        self.wfile.write(body[:1024])
        self.wfile.flush()
        time.sleep(self.fault.stall_seconds)
        self.close_connection = True


@contextlib.contextmanager
def serve_faulty(root: Path, fault: Fault) -> Iterator[tuple[str, RequestLog]]:
    """Serve `root` on loopback with `fault`; yield the base URL and the request log."""
    if fault.kind not in FAULTS:
        raise ValueError(f"unknown fault {fault.kind!r}; one of {FAULTS}")
    log = RequestLog()
    handler = type(
        "ConfiguredFaultyHandler",
        (FaultyHandler,),
        {"fault": fault, "log": log, "tokens": {}},
    )
    with serve_mirror(root, handler=handler) as url:
        yield url, log
