"""A loopback HTTP mirror of the release tree, for tests, CI and the benchmark.

    python -m taxi_testkit.mirror --root mirror --port 8765
serves `mirror/yellow/...` at http://127.0.0.1:8765/yellow/... (and the TLC's layout,
`mirror/trip-data/...`, at http://127.0.0.1:8765/trip-data/...); `serve_mirror()` does the same
inside a test and can be handed a request handler that misbehaves on purpose.
"""

import argparse
import contextlib
import functools
import http.server
import threading
from collections.abc import Iterator
from pathlib import Path

TLC_PREFIX = "/trip-data/"  # the TLC's layout (tlc.py writes it): a missing month is a 403


class MirrorHandler(http.server.SimpleHTTPRequestHandler):
    """Serves files of the root folder (GET and HEAD, with Last-Modified and an ETag that
    changes when a file is rewritten, as CloudFront's does); no directory listings, quiet logs.
    Under the TLC's layout a month it lacks answers 403, as the TLC's CloudFront does;
    elsewhere 404."""

    etag: str | None = None

    def send_head(self):  # type: ignore[no-untyped-def]
        path = Path(self.translate_path(self.path))
        if self.path.startswith(TLC_PREFIX) and not path.is_file():
            self.send_error(403, "AccessDenied")
            return None
        if path.is_file():
            facts = path.stat()
            self.etag = f'"{facts.st_size:x}-{facts.st_mtime_ns:x}"'
        return super().send_head()

    def end_headers(self) -> None:
        if self.etag:
            self.send_header("ETag", self.etag)
        super().end_headers()

    def list_directory(self, path):  # type: ignore[override]
        self.send_error(404, "not published")
        return None

    def log_message(self, format: str, *args) -> None:  # noqa: A002 - stdlib signature
        pass


@contextlib.contextmanager
def serve_mirror(
    root: Path, handler: type[http.server.SimpleHTTPRequestHandler] = MirrorHandler, port: int = 0
) -> Iterator[str]:
    """Serve `root` on 127.0.0.1 in a background thread; yield the base URL."""
    factory = functools.partial(handler, directory=str(root))
    server = http.server.ThreadingHTTPServer(("127.0.0.1", port), factory)
    thread = threading.Thread(target=server.serve_forever, daemon=True)
    thread.start()
    try:
        yield f"http://127.0.0.1:{server.server_address[1]}"
    finally:
        server.shutdown()
        server.server_close()
        thread.join()


def main() -> None:
    parser = argparse.ArgumentParser(description="Serve a local release tree on loopback.")
    parser.add_argument("--root", type=Path, default=Path("mirror"))
    parser.add_argument("--port", type=int, default=8765)
    args = parser.parse_args()
    factory = functools.partial(MirrorHandler, directory=str(args.root))
    with http.server.ThreadingHTTPServer(("127.0.0.1", args.port), factory) as server:
        server.serve_forever()


if __name__ == "__main__":
    main()
