"""The TLC's Parquet files: checked against the declaration by name, read in bounded batches.

Each declared column is found by name (its own, an alias such as `Airport_fee`, a CSV variant's
spelling) and cast to the table's fixed type, whatever the file's era wrote: int64 or int32 or
double, `string` or `large_string`, or Arrow's `null` type (a column without values). A column
the declaration does not know, a declared one missing from a month that must carry it, or a
type that cannot mean the declared one (times as strings) refuses the file before any write.
Rows stream to COPY in its text format written by Arrow, one batch at a time (`iter_batches`
over a buffered stream, so neither a row group nor the file is ever held whole).

pyarrow is imported only here, and this module only when a Parquet month is verified or loaded:
a load location's start-up does not pay for it.
"""

import contextlib
import datetime as dt
from collections.abc import Callable, Iterator
from pathlib import Path
from typing import TYPE_CHECKING, Any

import numpy as np
import pyarrow as pa
import pyarrow.compute as pc
import pyarrow.csv as pa_csv
import pyarrow.parquet as pq

from taxi_assets.mechanics.dataset_spec import DatasetSpec
from taxi_assets.mechanics.errors import BadSourceFileError
from taxi_assets.mechanics.finite_numbers import non_finite_refusal
from taxi_assets.mechanics.schema import Column

if TYPE_CHECKING:
    from taxi_assets.mechanics.lake import LakePath

# 16k rows a batch: the CSV of a batch (2-3 MB) and its Python copy stay small, and a full-size
# fhvhv month's load stays about 65 MB above the reader's footprint (64k rows: about 145 MB).
BATCH_ROWS = 16_384
READ_BUFFER_BYTES = 1 << 20


def _steady_memory_pool() -> None:
    """Arrow's allocations from jemalloc where the build has it: with the default mimalloc the
    resident memory of a 24-million-row month crept up batch after batch (to +100 MB at a
    third of the file) while Arrow's own allocated bytes stayed at 21 MB; jemalloc stays flat."""
    with contextlib.suppress(NotImplementedError):
        pa.set_memory_pool(pa.jemalloc_memory_pool())


_steady_memory_pool()
# Arrow registers its compute functions on their first call, about 35 MB resident once per
# process: called here, that is part of the reader's import footprint, not of a month's load.
pc.is_finite(pa.array([], pa.float64()))

_TARGET_TYPES = {
    "smallint": pa.int16(),
    "integer": pa.int32(),
    "bigint": pa.int64(),
    "numeric": pa.float64(),
    "timestamp": pa.timestamp("us"),
    "text": pa.string(),
}


# COPY text (copy_format.TEXT) as Arrow writes it: tab-separated, NULL as `\N`, no quotes.
_TEXT_OPTIONS = pa_csv.WriteOptions(
    include_header=False, delimiter="\t", null_string="\\N", quoting_style="none"
)
# Its escapes, the backslash first: the others add backslashes of their own.
_TEXT_ESCAPES = (("\\", "\\\\"), ("\t", "\\t"), ("\n", "\\n"), ("\r", "\\r"), ('"', "\\042"))


def _fits(found: pa.DataType, pg_type: str) -> bool:
    """Whether a file's Arrow type can hold the declared column's values (a cast then checks
    each value: a fraction or an overflow in an integer column still fails, naming it)."""
    if pa.types.is_null(found):
        return True
    if pg_type in ("smallint", "integer", "bigint", "numeric"):
        numeric = pa.types.is_integer(found) or pa.types.is_floating(found)
        return numeric or (pg_type == "numeric" and pa.types.is_decimal(found))
    if pg_type == "timestamp":
        return pa.types.is_timestamp(found) and found.tz is None
    if pg_type == "text":
        return pa.types.is_string(found) or pa.types.is_large_string(found)
    return False


def column_plan(spec: DatasetSpec, month: dt.date, schema: pa.Schema) -> dict[str, str | None]:
    """Each declared column's name in the file (None: absent, loaded as NULL), or
    BadSourceFileError's text spelling out how the file differs from the declaration."""
    key, plan, problems, claimed = f"{month:%Y-%m}", {}, [], set()
    for column in spec.parquet_columns:
        found = [n for n in spec.parquet_names(column) if n in schema.names]
        claimed.update(found)
        if len(found) > 1:
            problems.append(f"{column.name} appears as {found}")
        elif not found and (column.since is None or column.since <= key):
            problems.append(f"missing column {column.name}")
        elif found and not _fits(schema.field(found[0]).type, column.pg_type):
            kind = schema.field(found[0]).type
            problems.append(f"{found[0]} is {kind}, which cannot be a {column.pg_type}")
        plan[column.name] = found[0] if found else None
    unknown = [n for n in schema.names if n not in claimed]
    if unknown:
        problems.insert(0, f"unexpected columns {unknown}")
    if problems:
        raise ValueError("; ".join(problems))
    return plan


@contextlib.contextmanager
def _opened(source: "LakePath") -> Iterator[Any]:
    """A local file by its path (Arrow reads it natively, without the GIL); an object store's
    through its file object."""
    if isinstance(source, Path):
        yield str(source)
        return
    with source.open("rb") as handle:
        yield handle


def inspect(source: "LakePath", spec: DatasetSpec, month: dt.date, where: str) -> int:
    """Check a Parquet file's footer against the declaration; its row count (the footer's)."""
    with _opened(source) as handle:
        try:
            metadata = pq.ParquetFile(handle).metadata
            schema = metadata.schema.to_arrow_schema()
        except (pa.ArrowException, OSError) as exc:
            raise BadSourceFileError(f"{where} is not a readable Parquet file ({exc})") from exc
    try:
        column_plan(spec, month, schema)
    except ValueError as exc:
        raise BadSourceFileError(
            f"{where} has columns that drift from the schema contract ({spec.name}): {exc}"
        ) from None
    if metadata.num_rows <= 0:
        raise BadSourceFileError(f"{where} has no rows (a month never has zero trips)")
    return int(metadata.num_rows)


def text_chunks(
    source: "LakePath",
    spec: DatasetSpec,
    month: dt.date,
    where: str,
    batch_rows: int = BATCH_ROWS,
    on_batch: Callable[[pa.RecordBatch], None] | None = None,
) -> Iterator[bytes]:
    """The file's rows in COPY's text format (copy_format.TEXT: no header), cast to the
    declared types, one bounded batch at a time; a value the cast refuses names the column and
    the rows. `on_batch` sees each cast batch before its text is yielded (the checks' counts)."""
    for cast in cast_batches(source, spec, month, where, batch_rows):
        if on_batch is not None:
            on_batch(cast)
        yield _copy_text(_whole_seconds(cast))


def _copy_text(batch: pa.RecordBatch) -> bytes:
    """The batch as lines of COPY text: tab-separated, NULL as `\\N`, Arrow's own rendering of
    each value. Arrow refuses to write a tab, line end or quote unquoted and does not know
    text's backslash; a batch with any of them in its text columns is written escaped."""
    if any(_has_backslash(array) for array in batch.columns):
        batch = _escaped(batch)
    try:
        return _written(batch)
    except pa.ArrowInvalid:  # a tab, line end or quote in some text value
        return _written(_escaped(batch))


def _written(batch: pa.RecordBatch) -> bytes:
    sink = pa.BufferOutputStream()
    pa_csv.write_csv(batch, sink, _TEXT_OPTIONS)
    return sink.getvalue().to_pybytes()


def _has_backslash(array: pa.Array) -> bool:
    """Whether a text column's bytes hold a backslash: one scan of its value buffer."""
    if not pa.types.is_string(array.type) or array.buffers()[2] is None:
        return False
    return bool((np.frombuffer(array.buffers()[2], np.uint8) == ord("\\")).any())


def _escaped(batch: pa.RecordBatch) -> pa.RecordBatch:
    arrays = []
    for array in batch.columns:
        if pa.types.is_string(array.type):
            for plain, escaped in _TEXT_ESCAPES:
                array = pc.replace_substring(array, plain, escaped)
        arrays.append(array)
    return pa.RecordBatch.from_arrays(arrays, names=batch.schema.names)


def cast_batches(
    source: "LakePath", spec: DatasetSpec, month: dt.date, where: str, batch_rows: int = BATCH_ROWS
) -> Iterator[pa.RecordBatch]:
    """The file's rows cast by name to the declared columns and types, one bounded batch at a
    time; a value the cast refuses names the column and the rows."""
    with _opened(source) as handle:
        reader = pq.ParquetFile(handle, buffer_size=READ_BUFFER_BYTES, pre_buffer=False)
        plan = column_plan(spec, month, reader.schema_arrow)
        wanted = [name for name in plan.values() if name is not None]
        columns = spec.parquet_columns
        target = pa.schema([pa.field(c.name, _TARGET_TYPES[c.pg_type]) for c in columns])
        first_row = 0
        # One thread decodes: reading is a tenth of the load's time, and each reader thread
        # would hold buffers of its own.
        batches = reader.iter_batches(batch_size=batch_rows, columns=wanted, use_threads=False)
        for batch in batches:
            yield _cast(batch, plan, columns, target, where, first_row)
            first_row += batch.num_rows


def _whole_seconds(batch: pa.RecordBatch) -> pa.RecordBatch:
    """The batch with each timestamp column in whole seconds where none of its values has a
    fraction (the trip files' clocks tick in seconds): Arrow then writes `01:03:19`, not
    `01:03:19.000000`, and Postgres parses the shorter text faster (a tenth of a yellow
    month's COPY). A column with a fraction anywhere in the batch keeps its microseconds."""
    arrays = []
    for array in batch.columns:
        if pa.types.is_timestamp(array.type):
            with contextlib.suppress(pa.ArrowInvalid):  # a fraction: keep the microseconds
                array = array.cast(pa.timestamp("s"), safe=True)
        arrays.append(array)
    return pa.RecordBatch.from_arrays(arrays, names=batch.schema.names)


def _cast(
    batch: pa.RecordBatch,
    plan: dict[str, str | None],
    columns: tuple[Column, ...],
    target: pa.Schema,
    where: str,
    first_row: int,
) -> pa.RecordBatch:
    arrays: list[Any] = []
    for column, field in zip(columns, target, strict=True):
        name = plan[column.name]
        if name is None:
            arrays.append(pa.nulls(batch.num_rows, field.type))
            continue
        try:
            array = batch.column(name).cast(field.type, safe=True)
        except (pa.ArrowInvalid, pa.ArrowNotImplementedError) as exc:
            last = first_row + batch.num_rows
            raise BadSourceFileError(
                f"{where}: column {name} cannot be read as {column.pg_type} in rows "
                f"{first_row + 1:,}..{last:,} ({exc}); the previous rows are unchanged"
            ) from exc
        if pa.types.is_floating(array.type):
            _refuse_non_finite(array, name, where, first_row)
        arrays.append(array)
    return pa.RecordBatch.from_arrays(arrays, schema=target)


def _refuse_non_finite(array: pa.Array, name: str, where: str, first_row: int) -> None:
    """NaN and infinities are refused here, vectorized, before they become CSV: Postgres'
    numeric would take them (finite_numbers.py says why the table does not check)."""
    first_bad = pc.index(pc.is_finite(array), False).as_py()
    if first_bad >= 0:
        raise non_finite_refusal(where, name, f"row {first_row + first_bad + 1:,} of the file")
