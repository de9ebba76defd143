"""Generate months as the TLC's own Parquet files, each era's column names and Arrow types
(docs/data.md, "The TLC's own Parquet files"), deterministic by seed, any size:

    python -m taxi_testkit.tlc 2024-01 --dataset yellow --rows 2964624 --out mirror/

writes mirror/trip-data/yellow_tripdata_2024-01.parquet: the TLC's layout, so the loopback
mirror serves it at <url>/trip-data/... (TAXI_TLC_URL=<url>/trip-data), with 403 for a month
it does not have, as the TLC's CloudFront answers.

The values are the CSV generator's (generate.py), typed the way the TLC's writers typed them:
before 2023-02 integer IDs int64, some counts and codes double and strings `string`; from
2023-02 IDs int32, counts int64 and strings `large_string`; columns of Arrow type `null` in the
months the TLC's files have them; `Airport_fee` from 2023-02 and `cbd_congestion_fee` from
2025-01. The old writer put a month in one row group, the new one in several.
"""

from pathlib import Path

import numpy as np
import pyarrow as pa
import pyarrow.compute as pc
import pyarrow.parquet as pq

from taxi_assets.datasets import LESSON_DATASET
from taxi_assets.mechanics.dataset_spec import DatasetSpec
from taxi_assets.mechanics.months import parse_month
from taxi_assets.mechanics.schema import Column
from taxi_testkit.generate import CHUNK_ROWS, _columns, _family, month_arguments

TLC_FOLDER = "trip-data"
NEW_WRITER = "2023-02"  # the month the TLC's files changed their types
RENAMED = {"airport_fee": ("Airport_fee", "2023-02")}  # yellow's spelling from that month
ADDED = {"cbd_congestion_fee": "2025-01"}  # columns the TLC's files carry from a month on
NEW_WRITER_ROW_GROUP = 1_000  # small on purpose: a month in several row groups
_DOUBLE_BEFORE = {  # integer-like columns the old writer stored as double, by family
    "_metered_columns": {"passenger_count", "RatecodeID"},
    "_street_hail_columns": {"passenger_count", "RatecodeID", "payment_type", "trip_type"},
    "_dispatched_columns": {"PUlocationID", "DOlocationID"},
    "_high_volume_columns": set(),
}
_INT32_AFTER = {"VendorID", "PULocationID", "DOLocationID", "PUlocationID", "DOlocationID"}
_NULL_TYPED: dict[
    str, dict[str, tuple[tuple[str, str], ...]]
] = {  # (first, last) month spans of columns whose Arrow type is `null`, by family
    "_metered_columns": {"airport_fee": (("2019-01", "2020-07"), ("2020-10", "2020-10"))},
    "_street_hail_columns": {"ehail_fee": (("2019-09", "2023-01"),)},
    "_dispatched_columns": {"SR_Flag": (("2019-03", "2023-01"),)},
    "_high_volume_columns": {
        "wav_match_flag": (("2019-02", "2019-03"),),
        "airport_fee": (("2019-02", "2019-06"), ("2020-04", "2020-04"), ("2020-10", "2020-10")),
    },
}


def _family_name(spec: DatasetSpec) -> str:
    family = _family(spec)
    return family.__name__ if family else ""


def file_name(column: Column, key: str) -> str:
    """The column's name in the TLC's file of month `key`."""
    renamed = RENAMED.get(column.name)
    return (
        renamed[0]
        if renamed and key >= renamed[1] and renamed[0] in column.aliases
        else column.name
    )


def arrow_type(spec: DatasetSpec, column: Column, key: str) -> pa.DataType:
    """The Arrow type the TLC's file of month `key` gives `column`."""
    family, new = _family_name(spec), key >= NEW_WRITER
    spans = _NULL_TYPED.get(family, {}).get(column.name, ())
    if any(first <= key <= last for first, last in spans):
        return pa.null()
    if column.pg_type == "timestamp":
        return pa.timestamp("us")
    if column.pg_type == "text":
        return pa.large_string() if new else pa.string()
    if column.pg_type == "numeric":
        return pa.float64()
    if new:
        return pa.int32() if column.name in _INT32_AFTER else pa.int64()
    return pa.float64() if column.name in _DOUBLE_BEFORE.get(family, set()) else pa.int64()


def file_columns(spec: DatasetSpec, key: str) -> tuple[Column, ...]:
    """The columns the TLC's file of month `key` carries: every declared one, a later one once
    the TLC added it (the airport fee is in every file of the 2011+ layout)."""
    return tuple(c for c in spec.parquet_columns if ADDED.get(c.name, "") <= key)


def _typed(values: np.ndarray, kind: pa.DataType) -> pa.Array:
    """The generator's CSV text as the TLC's typed column (empty text: null)."""
    if pa.types.is_null(kind):
        return pa.nulls(len(values))
    text = pa.array(values.astype(str), pa.string())
    text = pc.if_else(pc.equal(text, ""), pa.scalar(None, pa.string()), text)
    if pa.types.is_floating(kind) or pa.types.is_timestamp(kind):
        return text.cast(kind)
    if pa.types.is_integer(kind):
        return text.cast(pa.int64()).cast(kind)
    return text.cast(kind)


def month_table(spec: DatasetSpec, key: str, start: int, n: int, total: int, seed: int) -> pa.Table:
    """Rows `start`..`start + n` of the month's file, as the TLC typed them."""
    month = parse_month(key)
    rng = np.random.default_rng([seed, month.year, month.month, start])
    values = _columns(spec, month, start, n, total, rng, later=True)
    columns = file_columns(spec, key)
    return pa.table(
        {file_name(c, key): _typed(values[c.name], arrow_type(spec, c, key)) for c in columns}
    )


def write_tlc_month(
    key: str, rows: int, out_dir: Path, spec: DatasetSpec = LESSON_DATASET, seed: int = 42
) -> Path:
    """Write `<out_dir>/trip-data/<name>_tripdata_<key>.parquet` with `rows` rows, in chunks
    (memory stays at one chunk's rows)."""
    path = out_dir / TLC_FOLDER / spec.month_file(parse_month(key), tlc_every_month=True).url_path
    path.parent.mkdir(parents=True, exist_ok=True)
    schema = month_table(spec, key, 0, 1, rows, seed).schema
    group = NEW_WRITER_ROW_GROUP if key >= NEW_WRITER else max(rows, 1)
    with pq.ParquetWriter(path, schema, compression="snappy") as writer:
        for start in range(0, rows, CHUNK_ROWS):
            table = month_table(spec, key, start, min(CHUNK_ROWS, rows - start), rows, seed)
            writer.write_table(table, row_group_size=group)
    return path


def main() -> None:
    args, spec = month_arguments(__doc__.splitlines()[0])
    for key in args.months:
        rows = args.rows or spec.published_rows_in(key) or 2000
        print(f"{write_tlc_month(key, rows, args.out, spec, args.seed)}\t{rows} rows")  # noqa: T201


if __name__ == "__main__":
    main()
