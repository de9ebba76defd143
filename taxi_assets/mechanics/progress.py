"""Progress lines in the run log during long downloads and loads, at most one every few seconds."""

import logging
import time
from collections.abc import Iterable, Iterator

_MB = 1_000_000


class Progress:
    """Logs `<label>: <MB> so far, <MB/s>[, <rows>]` while a stream is consumed."""

    def __init__(self, log: logging.Logger, label: str, every_seconds: float = 5.0) -> None:
        self._log = log
        self._label = label
        self._every = every_seconds
        self._started = time.monotonic()
        self._last = self._started

    def update(self, done_bytes: int, rows: int | None = None) -> None:
        """Report if enough time has passed since the last line."""
        now = time.monotonic()
        if now - self._last < self._every:
            return
        self._last = now
        rate = done_bytes / _MB / max(now - self._started, 1e-9)
        rows_text = f", {rows:,} rows" if rows is not None else ""
        self._log.info(
            f"{self._label}: {done_bytes / _MB:,.1f} MB so far, {rate:,.1f} MB/s{rows_text}"
        )


def counting_lines(
    chunks: Iterable[bytes], progress: Progress, header: bool = True
) -> Iterator[bytes]:
    """Pass COPY's chunks through unchanged, reporting bytes and data rows seen so far (a
    CSV's first line is its `header`)."""
    done = lines = 0
    for chunk in chunks:
        done += len(chunk)
        lines += chunk.count(b"\n")
        progress.update(done, max(lines - header, 0))
        yield chunk
