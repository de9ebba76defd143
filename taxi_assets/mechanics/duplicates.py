"""Counting a month's duplicate lines while its CSV streams into COPY, at flat memory.

Counting exactly identical rows in Postgres (`SELECT DISTINCT *`) scanned and hashed the whole
month again after the load: 5.7 s for a 1.9-million-row month, more than half the load itself.
The load already passes every decompressed byte through Python, so each data line's 64-bit hash
is taken there (about 0.3 s of CPU per 1.9 million lines) and written to one of a few bucket
files on disk; at the end each bucket is sorted and equal neighbours counted. Memory stays at one
bucket's hashes (a sixteenth of a 23-million-row month is 12 MB), whatever the month's size.

The count is exact up to 64-bit hash collisions: two different lines share a hash with
probability about n**2 / 2**65 for n lines (1e-5 for 23 million). It counts identical *lines*:
two lines that differ only in how a value is written (`2.1` and `2.10`) are different lines.
Lines are split at LF and keep the CR of a CRLF file (the mirror's), which COPY requires to be
the same on every line, so equal records are equal lines without a copy to strip it.
"""

import tempfile
from collections.abc import Iterable, Iterator
from pathlib import Path
from typing import TYPE_CHECKING

if TYPE_CHECKING:
    import numpy as np

DUPLICATE_ROWS = "duplicate_rows"  # the metadata key, as the warning is named
_BUCKET_BITS = 4  # 16 files: a bucket of the largest month (FHV 2019-01) sorts in about 12 MB


class DuplicateLines:
    """Feed a CSV's chunks in order (header first); `extra_copies()` is the duplicate count."""

    def __init__(self, scratch: Path | None = None) -> None:
        # Files without a name (O_TMPFILE, or unlinked at once): the kernel frees them when the
        # process ends, so a load killed with SIGKILL leaves nothing in the scratch folder.
        self._buckets = [
            tempfile.TemporaryFile(prefix="taxi_dups_", dir=scratch)  # noqa: SIM115 - close()
            for _ in range(1 << _BUCKET_BITS)
        ]
        self._tail = b""
        self._header_seen = False
        self._cr = b""  # b"\r" when the header ends with CRLF, as the mirror's lines all do

    def feed(self, chunk: bytes) -> None:
        """Hash the complete lines of `chunk` (the last partial line waits for the next)."""
        lines = (self._tail + chunk).split(b"\n")
        self._tail = lines.pop()
        if not self._header_seen and lines:
            self._cr = b"\r" if lines[0].endswith(b"\r") else b""
            lines = lines[1:]
            self._header_seen = True
        self._store(lines)

    def extra_copies(self) -> int:
        """Lines that repeat an earlier line of the file, as `pandas.duplicated().sum()` counts."""
        if self._tail:  # the last line lacks its line end: it gets the CR its equals carry
            self._store([self._tail.removesuffix(b"\r") + self._cr] if self._header_seen else [])
            self._tail = b""
        import numpy as np  # here, not at import: a load's start-up need not pay for it

        extra = 0
        for handle in self._buckets:
            handle.flush()
            handle.seek(0)
            hashes = np.fromfile(handle, dtype=np.uint64)
            handle.close()
            hashes.sort()
            extra += int(np.count_nonzero(hashes[1:] == hashes[:-1]))
        return extra

    def close(self) -> None:
        for handle in self._buckets:
            handle.close()

    def store_hashes(self, hashes: "np.ndarray") -> None:
        """Record rows by a 64-bit hash taken elsewhere (a Parquet month's, from its Arrow
        batches: arrow_counts.py) instead of by their lines."""
        import numpy as np

        bucket = hashes >> np.uint64(64 - _BUCKET_BITS)
        for b, handle in enumerate(self._buckets):
            handle.write(hashes[bucket == b].tobytes())

    def _store(self, lines: list[bytes]) -> None:
        if not lines:
            return
        import numpy as np

        # Python's own 64-bit string hash (SipHash, seeded per process: fine within one load).
        hashes = np.fromiter(map(hash, lines), dtype=np.int64, count=len(lines)).view(np.uint64)
        self.store_hashes(hashes)


def counting_duplicates(chunks: Iterable[bytes], counter: DuplicateLines) -> Iterator[bytes]:
    """Pass chunks through unchanged, feeding each to `counter`."""
    for chunk in chunks:
        counter.feed(chunk)
        yield chunk
