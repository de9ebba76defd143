"""Single-pass verification of a gzip-compressed CSV as its bytes stream past.

The download feeds every chunk through `GzipCsvVerifier`, so the sha256, the complete gzip
stream (CRC and length trailer), the header and the data-row count are known the moment the
last byte arrives, without a second read of the file or holding it in memory.
"""

import hashlib
import zlib
from collections.abc import Iterator
from dataclasses import dataclass
from pathlib import Path
from typing import TYPE_CHECKING

from taxi_assets.mechanics.dataset_spec import DatasetSpec
from taxi_assets.mechanics.errors import BadSourceFileError

if TYPE_CHECKING:
    from upath import UPath  # a lake on an object store (the `scale` extra)

GZIP_MAGIC = b"\x1f\x8b"
CHUNK_BYTES = 1 << 20
_HEADER_LIMIT = 64 * 1024


@dataclass(frozen=True)
class FileFacts:
    """What verification established about one compressed CSV."""

    bytes: int
    sha256: str
    rows: int
    uncompressed_bytes: int


class GzipCsvVerifier:
    """Feed compressed chunks in order; `finish()` raises or returns the file's facts.

    `where` names the month and file in every error message; the header must be one that
    `spec` accepts.
    """

    def __init__(self, where: str, max_uncompressed_bytes: int, spec: DatasetSpec) -> None:
        self._where = where
        self._spec = spec
        self._max = max_uncompressed_bytes
        self._sha = hashlib.sha256()
        self._inflater = zlib.decompressobj(wbits=31)
        self._bytes = 0
        self._uncompressed = 0
        self._newlines = 0
        self._quoted = False  # the bytes counted so far end inside a quoted field
        self._last_byte = b""
        self._header: bytes | None = None
        self._head = b""

    def feed(self, chunk: bytes) -> None:
        """Hash, inflate and count one chunk; raise BadSourceFileError as soon as it is wrong."""
        if self._bytes == 0 and chunk and not chunk.startswith(GZIP_MAGIC[: len(chunk)]):
            preview = chunk[:40].decode("latin-1").strip()
            self._fail(f"is not a gzip file (it starts with {preview!r})")
        self._bytes += len(chunk)
        self._sha.update(chunk)
        self._inflate(chunk)

    def _inflate(self, chunk: bytes) -> None:
        while chunk:
            try:
                out = self._inflater.decompress(chunk, CHUNK_BYTES)
            except zlib.error as exc:
                self._fail(f"has a corrupt gzip stream ({exc})")
            self._count(out)
            if self._inflater.eof:
                chunk = self._inflater.unused_data
                if chunk:  # a second gzip member follows, as `gzip -c a b` writes
                    self._inflater = zlib.decompressobj(wbits=31)
            else:
                chunk = self._inflater.unconsumed_tail

    def _count(self, out: bytes) -> None:
        if not out:
            return
        self._uncompressed += len(out)
        if self._uncompressed > self._max:
            self._fail(f"inflates beyond the cap of {self._max:,} bytes (a decompression bomb?)")
        self._newlines += self._record_ends(out)
        self._last_byte = out[-1:]
        if self._header is None:
            self._head += out[:_HEADER_LIMIT]
            if b"\n" in self._head or len(self._head) >= _HEADER_LIMIT:
                self._header = self._head.split(b"\n", 1)[0]
                self._check_header()

    def _record_ends(self, out: bytes) -> int:
        """Newlines that end a record, as COPY reads CSV: those outside quoted fields.

        Real files hold no quote at all, so they only pay for one scan for `"`. Between quotes
        every newline is data; a doubled quote inside a field toggles twice, which keeps the
        parity right.
        """
        if not self._quoted and b'"' not in out:
            return out.count(b"\n")
        pieces = out.split(b'"')
        ends = sum(piece.count(b"\n") for piece in pieces[1 if self._quoted else 0 :: 2])
        self._quoted ^= len(pieces) % 2 == 0
        return ends

    def _check_header(self) -> None:
        assert self._header is not None
        found = self._header.decode("utf-8", "replace").rstrip("\r").split(",")
        difference = self._spec.header_difference(found)
        if difference:
            name = self._spec.name
            self._fail(f"has a header that drifts from the schema contract ({name}): {difference}")

    def finish(self) -> FileFacts:
        """Check the stream ended cleanly and return the facts."""
        if self._bytes == 0:
            self._fail("is empty")
        if not self._inflater.eof:
            self._fail("has a truncated gzip stream (it ends before its trailer)")
        if self._uncompressed == 0:
            self._fail("is an empty file: a valid gzip stream of no bytes, not even a header")
        if self._quoted:
            self._fail("ends inside a quoted field (a quote is never closed)")
        if self._header is None:
            self._header = self._head
            self._check_header()
        lines = self._newlines + (0 if self._last_byte == b"\n" else 1)  # records, not lines
        rows = lines - 1
        if rows <= 0:
            self._fail("has a header but no data rows (a month never has zero trips)")
        return FileFacts(self._bytes, self._sha.hexdigest(), rows, self._uncompressed)

    def _fail(self, what: str) -> None:
        raise BadSourceFileError(f"{self._where} {what}")


def read_chunks(path: "Path | UPath") -> Iterator[bytes]:
    """Yield a file's raw bytes in fixed chunks."""
    with path.open("rb") as handle:
        while chunk := handle.read(CHUNK_BYTES):
            yield chunk


def verify_file(
    path: "Path | UPath", where: str, max_uncompressed_bytes: int, spec: DatasetSpec
) -> FileFacts:
    """Verify a gzip CSV already on disk, streaming."""
    verifier = GzipCsvVerifier(where, max_uncompressed_bytes, spec)
    for chunk in read_chunks(path):
        verifier.feed(chunk)
    return verifier.finish()


def inflate_chunks(
    path: "Path | UPath", where: str, sha: "hashlib._Hash | None" = None
) -> Iterator[bytes]:
    """Yield the decompressed bytes of a gzip file in bounded chunks (flat memory).

    `sha`, if given, is fed the compressed bytes, so the caller can compare the file with
    its manifest without a second read.
    """
    inflater = zlib.decompressobj(wbits=31)
    for chunk in read_chunks(path):
        if sha is not None:
            sha.update(chunk)
        while chunk:
            try:
                out = inflater.decompress(chunk, CHUNK_BYTES)
            except zlib.error as exc:
                raise BadSourceFileError(f"{where} has a corrupt gzip stream ({exc})") from exc
            if out:
                yield out
            if inflater.eof:
                chunk = inflater.unused_data
                inflater = zlib.decompressobj(wbits=31) if chunk else inflater
            else:
                chunk = inflater.unconsumed_tail
    if not inflater.eof:
        raise BadSourceFileError(f"{where} has a truncated gzip stream")
