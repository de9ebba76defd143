"""One CSV stream fed to several COPY connections at once, so one month is parsed on two cores.

Postgres parses a COPY on one backend: a single stream of a month is bound to one core however
fast we inflate. Here the month's bytes are cut into blocks that end at a line's end (never
inside a quoted field) and handed to whichever stream has room, each stream a connection of its
own written from a thread of its own. Every stream records which file lines it received, so a
row Postgres refuses is still named by its line in the file.

The caller owns the transactions: a stream's rows stay in its connection's transaction until the
caller commits or rolls it back. Any failure (a row refused in one stream, the source failing
after its last byte, an interrupt) ends every stream's COPY before it is raised.
"""

import bisect
import queue
import re
import threading
from collections.abc import Callable, Iterable, Iterator, Sequence
from dataclasses import dataclass, field

import psycopg
from psycopg import sql

BLOCK_BYTES = 256 << 10  # about 2,500 CSV lines; a stream is handed one at a time
_QUEUED_BLOCKS = 4  # per stream: a month holds about streams x 5 blocks (2.5 MB) at a time
_WAIT_SECONDS = 0.05
_JOIN_EVERY_BLOCKS = 16  # how often a free slot is asked for: one round trip per 4 MB
_END, _ABORT = object(), object()
_LINE = re.compile(r"\bline (\d+)\b")


@dataclass
class LineMap:
    """The file lines one stream received: where each of its blocks starts, in the stream's
    numbering and in the file's (both from 1, as COPY counts). `noun` is what the file calls
    a line: a CSV's "line", or a Parquet file's "row" (its COPY text has no header)."""

    stream_starts: list[int] = field(default_factory=list)
    file_starts: list[int] = field(default_factory=list)
    received: int = 0
    noun: str = "line"

    def add(self, file_line: int, lines: int) -> None:
        self.stream_starts.append(self.received + 1)
        self.file_starts.append(file_line)
        self.received += lines

    def file_line(self, stream_line: int) -> int:
        block = bisect.bisect_right(self.stream_starts, stream_line) - 1
        if block < 0:
            return stream_line
        return self.file_starts[block] + stream_line - self.stream_starts[block]

    def in_file_terms(self, text: str) -> str:
        """`text` with each "line N" of the stream turned into the file's line (or row)."""
        return _LINE.sub(lambda m: f"{self.noun} {self.file_line(int(m.group(1)))}", text)


def line_blocks(chunks: Iterable[bytes], block_bytes: int = BLOCK_BYTES) -> Iterator[bytes]:
    """The chunks regrouped into blocks of about `block_bytes`, each ending at a line's end and
    outside any quoted field (an even number of quote characters before the cut)."""
    pending = bytearray()
    for chunk in chunks:
        pending += chunk
        while len(pending) >= block_bytes and (cut := _block_end(pending, block_bytes)):
            with memoryview(pending) as view:
                block = bytes(view[:cut])
            del pending[:cut]
            yield block
    if pending:
        yield bytes(pending)


def _block_end(pending: bytearray, block_bytes: int) -> int:
    """Where the first block of `pending` ends: after its last line end within `block_bytes`
    (or the first beyond), moved on to a later line end while a quoted field is still open;
    0 while `pending` holds no such place yet."""
    cut = pending.rfind(b"\n", 0, block_bytes) + 1 or pending.find(b"\n", block_bytes) + 1
    while cut and pending.count(b'"', 0, cut) % 2:
        cut = pending.find(b"\n", cut) + 1
    return cut


class CopyStream:
    """One COPY on a connection of its own, written from a daemon thread of its own."""

    def __init__(
        self, conn: psycopg.Connection, statement: sql.Composed, line_noun: str = "line"
    ) -> None:
        self.conn, self.statement = conn, statement
        self.lines = LineMap(noun=line_noun)
        self.rows = 0
        self.error: BaseException | None = None
        self._blocks: queue.Queue[object] = queue.Queue(maxsize=_QUEUED_BLOCKS)
        self._abandoned = False
        self._thread = threading.Thread(target=self._copy, name="copy_stream", daemon=True)

    def start(self) -> None:
        self._thread.start()

    @property
    def queued(self) -> int:
        return self._blocks.qsize()

    def offer(self, block: bytes, file_line: int, lines: int) -> bool:
        """Queue the block, waiting a moment for room if there is none."""
        try:
            self._blocks.put(block, timeout=_WAIT_SECONDS)
        except queue.Full:
            return False
        self.lines.add(file_line, lines)
        return True

    def finish(self, marker: object) -> None:
        """Tell the thread the input ended (`_END`) or is abandoned (`_ABORT`), and wait."""
        while self._thread.is_alive():
            try:
                self._blocks.put(marker, timeout=_WAIT_SECONDS)
                break
            except queue.Full:
                continue
        self._thread.join()

    def _copy(self) -> None:
        try:
            with self.conn.cursor() as cur:
                with cur.copy(self.statement) as copy:
                    for block in iter(self._blocks.get, _END):
                        if block is _ABORT:
                            self._abandoned = True
                            raise _Abandoned()
                        copy.write(block)  # type: ignore[arg-type]
                self.rows = cur.rowcount
        except BaseException as exc:  # handed to the splitter's thread, which raises it
            if not self._abandoned:
                self.error = exc
            _drain(self._blocks)  # a splitter waiting for room goes on and sees the error


class _Abandoned(Exception):
    """Raised inside the COPY block: psycopg then ends the COPY with CopyFail."""


class StreamError(Exception):
    """A stream's COPY failed: `error` is what Postgres (or the connection) raised, `lines`
    maps that stream's line numbers to the file's."""

    def __init__(self, stream: CopyStream) -> None:
        assert stream.error is not None
        super().__init__(str(stream.error))
        self.error, self.lines = stream.error, stream.lines


def copy_split(
    streams: list[CopyStream],
    blocks: Iterable[bytes],
    join: Callable[[], CopyStream | None] = lambda: None,
) -> int:
    """Feed `blocks` (a CSV's header line starts the first, which goes to the first stream) to the
    streams, adding the one `join()` returns when it returns one (asked every few blocks);
    return the rows they stored together. The first failure ends every stream's COPY; a
    stream's is raised as StreamError, the source's as itself."""
    for stream in streams:
        stream.start()
    file_line, ready = 1, streams[:1]
    try:
        for number, block in enumerate(blocks):
            if number % _JOIN_EVERY_BLOCKS == 0 and (joined := join()) is not None:
                joined.start()
                streams.append(joined)
            lines = block.count(b"\n") + (0 if block.endswith(b"\n") else 1)
            _hand_over(ready, block, file_line, lines)
            file_line, ready = file_line + lines, streams
    except BaseException:
        for stream in streams:
            stream.finish(_ABORT)
        _raise_stream_error(streams)
        raise
    for stream in streams:
        stream.finish(_END)
    _raise_stream_error(streams)
    return sum(stream.rows for stream in streams)


def _hand_over(streams: Sequence[CopyStream], block: bytes, file_line: int, lines: int) -> None:
    """Give the block to the stream with the fewest blocks waiting, waiting while all are full."""
    while True:
        if any(stream.error is not None for stream in streams):
            raise _StreamFailed()
        if min(streams, key=lambda stream: stream.queued).offer(block, file_line, lines):
            return


class _StreamFailed(Exception):
    """A stream failed while blocks were being handed out: its own error is raised instead."""


def _raise_stream_error(streams: Sequence[CopyStream]) -> None:
    failed = next((stream for stream in streams if stream.error is not None), None)
    if failed is not None:
        raise StreamError(failed) from failed.error


def _drain(blocks: "queue.Queue[object]") -> None:
    while True:
        try:
            blocks.get_nowait()
        except queue.Empty:
            return
