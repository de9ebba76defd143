"""A month COPYed by two connections at once: the same rows as one stream, errors named by the
file's line, nothing left behind, one stream when no second load slot is free."""

import datetime as dt
import threading
import time
from collections.abc import Callable, Iterator

import psycopg
import pytest

from taxi_assets.datasets import YELLOW
from taxi_assets.mechanics.copy_streams import LineMap, line_blocks
from taxi_assets.mechanics.errors import BadSourceFileError, LoadRejectedError, TaxiError
from taxi_assets.mechanics.load_slots import load_slot
from taxi_assets.mechanics.writer import LoadStats, WarehouseWriter
from taxi_testkit.generate import month_chunks
from tests.support.postgres import TEST_PG_URL, table_fingerprint, tables_like

MONTH, ROWS, CHILD = dt.date(2021, 3, 1), 20_000, "yellow_taxi_2021_03"
SMALL_BLOCKS = 64 << 10  # a 20,000-row month is about 40 blocks


def load(
    schema: str,
    chunks: list[bytes] | Callable[[], Iterator[bytes]],
    streams: int = 2,
    rows: int = ROWS,
) -> LoadStats:
    """The month through the writer in small blocks: `chunks`, or what `chunks()` yields."""
    writer = WarehouseWriter(
        url=TEST_PG_URL,
        schema=schema,
        second_stream=streams == 2,
        copy_block_bytes=SMALL_BLOCKS,
        load_attempts=1,
    )
    where = f"{MONTH:%Y-%m} (yellow_tripdata_{MONTH:%Y-%m}.csv.gz)"
    source = chunks if callable(chunks) else lambda: iter(chunks)
    return writer.replace_month(YELLOW.parent_table, MONTH, source, rows, where)


def refused(
    schema: str,
    month: list[bytes],
    chunks: list[bytes] | Callable[[], Iterator[bytes]],
    error: type[TaxiError],
    rows: int = ROWS,
) -> str:
    """The message of a load of `chunks` over the loaded `month` that must fail with `error`,
    once the month is checked to be as it was, with no staging table left."""
    load(schema, month)
    before = table_fingerprint(schema, CHILD)
    with pytest.raises(error) as raised:
        load(schema, chunks, rows=rows)
    assert table_fingerprint(schema, CHILD) == before
    assert tables_like(schema, "%staging") == []
    return str(raised.value)


def pieces(month: list[bytes]) -> list[bytes]:
    """The month in pieces of one small block each."""
    body = b"".join(month)
    return [body[i : i + SMALL_BLOCKS] for i in range(0, len(body), SMALL_BLOCKS)]


@pytest.fixture(scope="module")
def month() -> list[bytes]:
    return list(month_chunks(YELLOW, MONTH, ROWS))


def with_field(chunks: list[bytes], file_line: int, column: int, value: bytes) -> list[bytes]:
    lines = b"".join(chunks).split(b"\r\n")
    fields = lines[file_line - 1].split(b",")
    fields[column] = value
    lines[file_line - 1] = b",".join(fields)
    body = b"\r\n".join(lines)
    return [body[i : i + 100_000] for i in range(0, len(body), 100_000)]


@pytest.mark.parametrize("chunk_bytes", [777, 20_000], ids=["small chunks", "large chunks"])
def test_blocks_end_at_line_ends_and_give_the_input_back(chunk_bytes: int) -> None:
    text = b"h\r\n" + b"".join(b"%d,x\r\n" % n for n in range(5000))
    chunks = [text[i : i + chunk_bytes] for i in range(0, len(text), chunk_bytes)]
    blocks = list(line_blocks(chunks, 4096))
    assert b"".join(blocks) == text
    assert len(blocks) > 5 and all(block.endswith(b"\r\n") for block in blocks)
    assert max(len(block) for block in blocks) <= 4096  # a stream's queue holds small blocks


def test_a_block_never_ends_inside_a_quoted_field() -> None:
    text = b'a,"x\nspans\nlines"\n' * 50
    blocks = list(line_blocks([text[i : i + 7] for i in range(0, len(text), 7)], 16))
    assert b"".join(blocks) == text
    assert all(block.count(b'"') % 2 == 0 for block in blocks)


def test_a_stream_line_maps_to_the_file_line() -> None:
    lines = LineMap()
    lines.add(file_line=11, lines=5)  # the stream's lines 1-5 are the file's 11-15
    lines.add(file_line=31, lines=5)  # 6-10 are 31-35
    assert [lines.file_line(n) for n in (1, 5, 6, 10)] == [11, 15, 31, 35]
    assert lines.in_file_terms("COPY t, line 7, column a") == "COPY t, line 32, column a"


def test_two_streams_store_exactly_the_rows_of_one(pg_schema: str, month: list[bytes]) -> None:
    assert load(pg_schema, month, streams=1).copy_streams == 1
    one_stream = table_fingerprint(pg_schema, CHILD)
    assert load(pg_schema, month, streams=2).copy_streams == 2
    assert table_fingerprint(pg_schema, CHILD) == one_stream == (ROWS, one_stream[1])
    assert tables_like(pg_schema, "%staging") == []


def test_a_bad_row_deep_in_the_file_is_named_by_its_file_line(
    pg_schema: str, month: list[bytes]
) -> None:
    bad = with_field(month, file_line=17_001, column=10, value=b"abc")  # fare_amount
    message = refused(pg_schema, month, bad, BadSourceFileError)
    assert message.startswith("2021-03 (yellow_tripdata_2021-03.csv.gz) has a row Postgres")
    assert "line 17001, column fare_amount" in message


def test_a_source_failing_after_its_last_byte_leaves_the_month_as_it_was(
    pg_schema: str, month: list[bytes]
) -> None:
    def changed_since_verified() -> Iterator[bytes]:
        yield from month
        raise BadSourceFileError("2021-03 (lake file) no longer matches its manifest sha256")

    message = refused(pg_schema, month, changed_since_verified, BadSourceFileError)
    assert "no longer matches" in message


def test_a_month_takes_one_stream_when_no_second_slot_is_free(
    pg_schema: str, month: list[bytes]
) -> None:
    with psycopg.connect(TEST_PG_URL, autocommit=True) as other, load_slot(other, pg_schema, 2):
        assert load(pg_schema, month).copy_streams == 1
    assert load(pg_schema, month).copy_streams == 2


def wait_for_backend_exit(pid: int, seconds: float = 30.0) -> None:
    deadline = time.monotonic() + seconds
    with psycopg.connect(TEST_PG_URL, autocommit=True) as conn:
        query = "SELECT count(*) FROM pg_stat_activity WHERE pid = %s"
        while conn.execute(query, (pid,)).fetchone()[0]:  # type: ignore[index]
            assert time.monotonic() < deadline, f"backend {pid} still alive after {seconds}s"
            time.sleep(0.01)


def test_a_second_stream_joins_when_a_slot_frees_up_mid_load(
    pg_schema: str, month: list[bytes]
) -> None:
    other = psycopg.connect(TEST_PG_URL, autocommit=True)
    other_pid = other.info.backend_pid

    def slot_freed_after_three_blocks() -> Iterator[bytes]:
        for number, piece in enumerate(pieces(month)):
            if number == 3:
                other.close()  # the other load ends: its slot is free
                # Its backend releases the slot as it exits, a moment after the close: on a
                # busy machine later than the load's last ask for a slot, 0.2 s on.
                wait_for_backend_exit(other_pid)
            yield piece

    with load_slot(other, pg_schema, 2):
        stats = load(pg_schema, slot_freed_after_three_blocks)
    assert stats.copy_streams == 2 and stats.rows == ROWS
    assert table_fingerprint(pg_schema, CHILD)[0] == ROWS


def test_a_wrong_row_count_keeps_the_month_and_commits_no_stream(
    pg_schema: str, month: list[bytes]
) -> None:
    message = refused(pg_schema, month, month, LoadRejectedError, rows=ROWS + 1)
    assert "staged 20,000 rows but the lake manifest records 20,001" in message


def test_a_load_waiting_for_a_slot_gets_it_before_a_second_stream(
    pg_schema: str, month: list[bytes]
) -> None:
    """Both slots taken (another load, and this month's first stream); when the other load
    ends, the load that waited takes its slot, not this month's second stream."""
    other = psycopg.connect(TEST_PG_URL, autocommit=True)
    waiter = psycopg.connect(TEST_PG_URL, autocommit=True)
    got: list[int] = []

    def wait_for_a_slot() -> None:
        with load_slot(waiter, pg_schema, 2, poll_seconds=1.5) as slot:  # slower than a join
            got.append(slot)
            time.sleep(2.0)  # held while the month goes on loading

    def others_come_and_go() -> Iterator[bytes]:
        for number, piece in enumerate(pieces(month)):
            if number == 2:
                waiting.start()
                time.sleep(0.3)  # the waiter has found both slots taken
            if number == 3:
                other.close()  # the other load ends
            time.sleep(0.05)  # a second stream asks for a slot every 16 pieces, 0.8 s
            yield piece

    waiting = threading.Thread(target=wait_for_a_slot)
    with load_slot(other, pg_schema, 2):
        stats = load(pg_schema, others_come_and_go)
    waiting.join()
    waiter.close()
    assert got == [0] and stats.copy_streams == 1


def test_a_parquet_months_stream_names_rows_not_lines() -> None:
    """COPY text has no header, so the stream's line N is the file's row N (copy_format.TEXT)."""
    lines = LineMap(noun="row")
    lines.add(file_line=1, lines=100)
    context = 'COPY yellow_taxi_2024_01_staging, line 7, column fare_amount: "x"'
    assert lines.in_file_terms(context) == context.replace("line 7", "row 7")
