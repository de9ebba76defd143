"""The TLC's Parquet files as the second source: each era loads with the file's counts and sums,
drift is refused before any write, later columns join without rewriting loaded months."""

import datetime as dt
from pathlib import Path

import dagster as dg
import psycopg
import pyarrow as pa
import pyarrow.compute as pc
import pyarrow.parquet as pq
import pytest
from psycopg import sql

from taxi_assets.assets import TRIPS
from taxi_assets.datasets import FHV, FHVHV, GREEN, YELLOW
from taxi_assets.mechanics.dataset_spec import DatasetSpec
from taxi_assets.mechanics.months import parse_month
from taxi_assets.mechanics.parquet import text_chunks
from taxi_assets.mechanics.quality_sql import table_counts
from taxi_assets.resources import DataLake, TaxiSource
from taxi_assets.trips.slice import TripSlice
from taxi_testkit.mirror import serve_mirror
from taxi_testkit.tlc import TLC_FOLDER, write_tlc_month
from tests.support.postgres import TEST_PG_URL, count_rows, table_fingerprint
from tests.support.runs import failure_message

ERAS = [  # (dataset, month, rows): old and new writer, null-typed columns, renamed, added
    (YELLOW, "2022-03", 2_000),  # old writer after the mirror's range: airport_fee double
    (YELLOW, "2023-06", 2_500),  # new writer: int32 IDs, large_string, Airport_fee
    (YELLOW, "2025-02", 1_500),  # cbd_congestion_fee
    (GREEN, "2025-11", 1_200),  # the course's 2026 module-1 homework month
    (FHV, "2022-05", 1_800),  # SR_Flag null-typed, location IDs double
    (FHVHV, "2019-03", 2_200),  # wav_match_flag and airport_fee null-typed
    (FHVHV, "2025-03", 1_700),
]
MIRROR_MONTH_AS_TLC = (YELLOW, "2021-01", 2_300)  # also in the mirror, as CSV


@pytest.fixture(scope="session")
def tlc_root(tmp_path_factory: pytest.TempPathFactory) -> Path:
    root = tmp_path_factory.mktemp("tlc")
    for spec, month, rows in [*ERAS, MIRROR_MONTH_AS_TLC]:
        write_tlc_month(month, rows, root, spec)
    return root


@pytest.fixture(scope="session")
def tlc_url(tlc_root: Path):
    with serve_mirror(tlc_root) as url:
        yield f"{url}/{TLC_FOLDER}"


def with_tlc(resources: dict, tlc_url: str, every_month: bool = False) -> dict:
    """The resources with the TLC's files at `tlc_url` (and for every month, if asked)."""
    source = TaxiSource(
        base_url=resources["source"].base_url, tlc_url=tlc_url, first_backoff_seconds=0.01
    )
    lake = DataLake(root=resources["lake"].root, tlc_every_month=every_month)
    return {**resources, "source": source, "lake": lake}


@pytest.fixture
def tlc_resources(resources: dict, tlc_url: str) -> dict:
    return with_tlc(resources, tlc_url)


def slice_of(spec: DatasetSpec) -> TripSlice:
    return TRIPS[spec.name]


def load(resources: dict, spec: DatasetSpec, month: str, **kwargs) -> dg.ExecuteInProcessResult:
    trips = slice_of(spec)
    return dg.materialize(
        [trips.raw, trips.warehouse], partition_key=month, resources=resources, **kwargs
    )


def tlc_file(root: Path, spec: DatasetSpec, month: str) -> Path:
    return root / TLC_FOLDER / spec.month_file(parse_month(month), True).url_path


def warehouse_sums(schema: str, table: str, columns: list[str]) -> list:
    query = sql.SQL("SELECT {} FROM {}").format(
        sql.SQL(", ").join(sql.SQL("sum({})::float8").format(sql.Identifier(c)) for c in columns),
        sql.Identifier(schema, table),
    )
    with psycopg.connect(TEST_PG_URL) as conn:
        return list(conn.execute(query).fetchone() or ())


def file_sums(path: Path, columns: list[str]) -> list:
    table = pq.read_table(path)
    return [pc.sum(table.column(c).cast(pa.float64())).as_py() for c in columns]


def money_columns(spec: DatasetSpec, path: Path) -> list[tuple[str, str]]:
    """(warehouse name, file name) of the numeric columns the file has values in."""
    schema = pq.read_schema(path)
    pairs = []
    for column in spec.parquet_columns:
        names = [n for n in spec.parquet_names(column) if n in schema.names]
        if (
            column.pg_type == "numeric"
            and names
            and not pa.types.is_null(schema.field(names[0]).type)
        ):
            pairs.append((column.name, names[0]))
    return pairs


@pytest.mark.parametrize(("spec", "month", "rows"), ERAS, ids=lambda v: getattr(v, "name", v))
def test_each_era_loads_with_the_files_count_and_sums(
    tlc_resources: dict, tlc_root: Path, pg_schema: str, spec: DatasetSpec, month: str, rows: int
) -> None:
    result = load(tlc_resources, spec, month)
    assert all(check.passed for check in result.get_asset_check_evaluations())
    table = spec.child_table(parse_month(month))
    path = tlc_file(tlc_root, spec, month)
    assert count_rows(pg_schema, table) == rows == pq.ParquetFile(path).metadata.num_rows
    pairs = money_columns(spec, path)
    found = warehouse_sums(pg_schema, table, [w for w, _ in pairs])
    assert found == pytest.approx(file_sums(path, [f for _, f in pairs]), rel=1e-12)


def test_a_months_metadata_names_its_source_and_file(tlc_resources: dict) -> None:
    result = load(tlc_resources, YELLOW, "2023-06")
    for event in result.get_asset_materialization_events():
        metadata = event.materialization.metadata
        assert metadata["source"].value == "tlc"
        assert metadata["source_url"].value.endswith("/trip-data/yellow_tripdata_2023-06.parquet")


def test_a_mirror_month_still_comes_from_the_mirrors_csv(tlc_resources: dict) -> None:
    result = load(tlc_resources, YELLOW, "2021-01")
    metadata = result.get_asset_materialization_events()[-1].materialization.metadata
    assert metadata["source"].value == "mirror"
    assert metadata["source_url"].value.endswith("/yellow/yellow_tripdata_2021-01.csv.gz")


def test_the_tlc_for_every_month_setting_loads_the_parquet_file_of_a_mirror_month(
    tlc_resources: dict, pg_schema: str
) -> None:
    load(tlc_resources, YELLOW, "2021-01")  # from the CSV first: 3,000 rows
    every_month = with_tlc(tlc_resources, tlc_resources["source"].tlc_url, every_month=True)
    result = load(every_month, YELLOW, "2021-01")
    metadata = result.get_asset_materialization_events()[-1].materialization.metadata
    assert metadata["source"].value == "tlc"
    assert count_rows(pg_schema, "yellow_taxi_2021_01") == MIRROR_MONTH_AS_TLC[2]


def test_later_columns_join_an_old_parent_without_rewriting_its_months(
    tlc_resources: dict, pg_schema: str
) -> None:
    load(tlc_resources, YELLOW, "2021-01")
    with psycopg.connect(TEST_PG_URL, autocommit=True) as conn:  # a parent made before them
        for name in ("airport_fee", "cbd_congestion_fee"):
            drop = sql.SQL("ALTER TABLE {} DROP COLUMN {}")
            conn.execute(
                drop.format(sql.Identifier(pg_schema, "yellow_taxi"), sql.Identifier(name))
            )
        before = relfilenode(conn, pg_schema, "yellow_taxi_2021_01")
    rows = count_rows(pg_schema, "yellow_taxi_2021_01")
    result = load(tlc_resources, YELLOW, "2025-02")
    assert all(check.passed for check in result.get_asset_check_evaluations())
    with psycopg.connect(TEST_PG_URL) as conn:
        assert relfilenode(conn, pg_schema, "yellow_taxi_2021_01") == before
        query = sql.SQL("SELECT count(*), count(airport_fee) FROM {}")
        found = conn.execute(query.format(sql.Identifier(pg_schema, "yellow_taxi_2021_01")))
        assert found.fetchone() == (rows, 0)  # the CSV month: every row, no airport fee


def relfilenode(conn: psycopg.Connection, schema: str, table: str) -> int:
    name = sql.Identifier(schema, table).as_string(conn)
    return conn.execute("SELECT pg_relation_filenode(%s::regclass)", (name,)).fetchone()[0]


def test_an_unpublished_tlc_month_fails_at_once_with_the_403(tlc_resources: dict) -> None:
    result = load(tlc_resources, YELLOW, "2024-04", raise_on_error=False)
    message = failure_message(result)
    assert "2024-04 is not published at" in message and "HTTP 403" in message


def crafted(tmp_path: Path, spec: DatasetSpec, month: str, table: pa.Table) -> str:
    """Serve only `table` as the month's TLC file; the TLC base URL."""
    path = tmp_path / "crafted" / spec.month_file(parse_month(month), True).url_path
    path.parent.mkdir(parents=True, exist_ok=True)
    pq.write_table(table, path)
    return f"file://{path.parent}"


def real_month(tlc_root: Path, spec: DatasetSpec, month: str) -> pa.Table:
    return pq.read_table(tlc_file(tlc_root, spec, month))


@pytest.mark.parametrize(
    ("change", "named"),
    [
        (
            lambda t: t.append_column("__index_level_0__", pa.array(range(len(t)))),
            "unexpected columns ['__index_level_0__']",
        ),
        (lambda t: t.drop_columns(["trip_distance"]), "missing column trip_distance"),
        (
            lambda t: t.set_column(1, "tpep_pickup_datetime", t.column(1).cast(pa.string())),
            "tpep_pickup_datetime is string, which cannot be a timestamp",
        ),
    ],
    ids=["unknown column", "missing column", "times as text"],
)
def test_a_drifted_file_is_refused_before_any_write_naming_the_difference(
    tlc_resources: dict, tlc_root: Path, tmp_path: Path, pg_schema: str, change, named: str
) -> None:
    url = crafted(tmp_path, YELLOW, "2023-06", change(real_month(tlc_root, YELLOW, "2023-06")))
    result = load(with_tlc(tlc_resources, url), YELLOW, "2023-06", raise_on_error=False)
    message = failure_message(result)
    assert "2023-06" in message and "drift from the schema contract (yellow)" in message
    assert named in message
    lake = Path(tlc_resources["lake"].root) / "yellow"
    assert not lake.exists() or not list(lake.iterdir())  # only ever a temporary, removed


def test_a_value_the_cast_refuses_names_the_column_and_leaves_the_month_as_it_was(
    tlc_resources: dict, tlc_root: Path, tmp_path: Path, pg_schema: str
) -> None:
    load(tlc_resources, YELLOW, "2022-03")
    before = table_fingerprint(pg_schema, "yellow_taxi_2022_03")
    table = real_month(tlc_root, YELLOW, "2022-03")
    index = table.schema.get_field_index("passenger_count")
    counts = pc.add(table.column(index).cast(pa.float64()), 0.5)  # 1.5 passengers
    url = crafted(tmp_path, YELLOW, "2022-03", table.set_column(index, "passenger_count", counts))
    crafted_run = {**with_tlc(tlc_resources, url), "lake": DataLake(root=str(tmp_path / "lake2"))}
    message = failure_message(load(crafted_run, YELLOW, "2022-03", raise_on_error=False))
    assert "column passenger_count cannot be read as smallint in rows 1.." in message
    assert table_fingerprint(pg_schema, "yellow_taxi_2022_03") == before


@pytest.mark.parametrize("value", [float("nan"), float("inf"), float("-inf")])
def test_a_nan_or_infinite_amount_is_refused_naming_column_and_row(
    tlc_resources: dict, tlc_root: Path, tmp_path: Path, pg_schema: str, value: float
) -> None:
    load(tlc_resources, YELLOW, "2022-03")
    before = table_fingerprint(pg_schema, "yellow_taxi_2022_03")
    table = real_month(tlc_root, YELLOW, "2022-03")
    index = table.schema.get_field_index("tip_amount")
    tips = table.column(index).to_pylist()
    tips[len(tips) - 2] = value  # the last batch's second-to-last row
    table = table.set_column(index, "tip_amount", pa.array(tips, pa.float64()))
    url = crafted(tmp_path, YELLOW, "2022-03", table)
    crafted_run = {**with_tlc(tlc_resources, url), "lake": DataLake(root=str(tmp_path / "lake2"))}
    message = failure_message(load(crafted_run, YELLOW, "2022-03", raise_on_error=False))
    assert "2022-03 (" in message and "NaN or infinite" in message
    assert f"column tip_amount, row {len(tips) - 1:,} of the file" in message
    assert table_fingerprint(pg_schema, "yellow_taxi_2022_03") == before


AWKWARD_TEXT = ["a\\b", "tab\there", "two\nlines", "cr\rlf", 'a "quote"', "", "\\N", "x,y", None]


def test_text_and_times_that_copy_text_must_escape_arrive_unchanged(
    tlc_resources: dict, tlc_root: Path, tmp_path: Path, pg_schema: str
) -> None:
    """A Parquet month travels as COPY text (copy_format.py): backslashes, tabs, line ends and
    quotes in text, the empty string next to NULL, and a fractional second all load as the
    file holds them, and whole seconds stay whole."""
    table = real_month(tlc_root, YELLOW, "2022-03")
    flags = table.column("store_and_fwd_flag").to_pylist()
    last = len(flags) - len(AWKWARD_TEXT)  # the last batch: a batch of its own gets escaped
    flags[last:] = AWKWARD_TEXT
    table = table.set_column(
        table.schema.get_field_index("store_and_fwd_flag"), "store_and_fwd_flag", pa.array(flags)
    )
    index = table.schema.get_field_index("tpep_pickup_datetime")
    times = table.column(index).to_pylist()
    times[1] = times[1].replace(microsecond=123_456)
    table = table.set_column(index, "tpep_pickup_datetime", pa.array(times, pa.timestamp("us")))
    url = crafted(tmp_path, YELLOW, "2022-03", table)
    assert load(with_tlc(tlc_resources, url), YELLOW, "2022-03").success
    with psycopg.connect(TEST_PG_URL) as conn:
        stored = conn.execute(
            sql.SQL("SELECT store_and_fwd_flag, tpep_pickup_datetime FROM {}").format(
                sql.Identifier(pg_schema, "yellow_taxi_2022_03")
            )
        ).fetchall()
    assert sorted(map(repr, (flag for flag, _ in stored))) == sorted(map(repr, flags))
    assert sorted(when for _, when in stored) == sorted(times)


def flag_every_rule(table: pa.Table) -> pa.Table:
    """The month with a few rows flagged by each of yellow's warning rules, -0.0, NULLs, and
    three extra copies of rows (one of them with NULLs)."""

    def edited(table: pa.Table, name: str, rows: dict[int, object]) -> pa.Table:
        index = table.schema.get_field_index(name)
        values = [rows.get(i, v) for i, v in enumerate(table.column(index).to_pylist())]
        return table.set_column(index, name, pa.array(values, table.schema.field(index).type))

    early, late = dt.datetime(2022, 2, 27, 23, 0), dt.datetime(2022, 4, 1, 0, 0)
    table = edited(table, "tpep_pickup_datetime", {3: early, 4: late, 5: early})
    table = edited(table, "total_amount", {6: -5.5, 7: -0.0, 8: None, 9: -0.01})
    table = edited(table, "passenger_count", {10: None, 11: -2, 12: None})
    table = edited(table, "fare_amount", {13: 1_000_000.5, 14: -2e9, 15: 1_000_000.0})
    table = edited(table, "tolls_amount", {16: None, 17: 3e12})
    return pa.concat_tables([table, table.slice(20, 2), table.slice(10, 1)])


def test_a_parquet_months_checks_count_what_sql_counts_on_its_table(
    tlc_resources: dict, tlc_root: Path, tmp_path: Path, pg_schema: str
) -> None:
    table = flag_every_rule(real_month(tlc_root, YELLOW, "2022-03"))
    url = crafted(tmp_path, YELLOW, "2022-03", table)
    result = load(with_tlc(tlc_resources, url), YELLOW, "2022-03")
    flagged = {
        e.check_name: e.metadata["flagged_rows"].value
        for e in result.get_asset_check_evaluations()
        if "flagged_rows" in e.metadata
    }
    with psycopg.connect(TEST_PG_URL) as conn:
        child = sql.Identifier(pg_schema, "yellow_taxi_2022_03")
        in_sql = table_counts(conn, child, YELLOW, dt.date(2022, 3, 1), duplicates=0)
    with psycopg.connect(TEST_PG_URL) as conn:
        repeated = sql.SQL("SELECT count(*) - count(DISTINCT t) FROM {} AS t").format(child)
        in_sql.flagged["duplicate_rows"] = conn.execute(repeated).fetchone()[0]
    expected = in_sql.flagged
    assert {k: v for k, v in flagged.items() if k in expected} == expected
    assert expected["duplicate_rows"] >= 3
    assert expected["negative_totals"] >= 2 and expected["extreme_amounts"] >= 3
    assert expected["pickups_outside_month"] >= 3 and expected["missing_passenger_counts"] >= 2


def test_a_truncated_file_never_gets_its_final_name(
    tlc_resources: dict, tlc_root: Path, tmp_path: Path
) -> None:
    body = tlc_file(tlc_root, GREEN, "2025-11").read_bytes()
    path = tmp_path / "cut" / "green_tripdata_2025-11.parquet"
    path.parent.mkdir()
    path.write_bytes(body[: len(body) // 2])
    result = load(
        with_tlc(tlc_resources, f"file://{path.parent}"), GREEN, "2025-11", raise_on_error=False
    )
    assert "is not a readable Parquet file" in failure_message(result)
    assert not (Path(tlc_resources["lake"].root) / "green" / path.name).exists()


def test_a_verified_parquet_file_is_not_downloaded_again(tlc_resources: dict) -> None:
    trips = slice_of(FHV)
    for _ in range(2):
        result = dg.materialize([trips.raw], partition_key="2022-05", resources=tlc_resources)
    metadata = result.get_asset_materialization_events()[0].materialization.metadata
    assert metadata["reused_from_lake"].value is True and metadata["source"].value == "tlc"


def test_a_changed_lake_file_is_downloaded_again(tlc_resources: dict) -> None:
    trips = slice_of(FHV)
    dg.materialize([trips.raw], partition_key="2022-05", resources=tlc_resources)
    lake_file = Path(tlc_resources["lake"].root) / "fhv" / "fhv_tripdata_2022-05.parquet"
    body = bytearray(lake_file.read_bytes())
    body[100] ^= 0xFF
    lake_file.write_bytes(bytes(body))
    result = dg.materialize([trips.raw], partition_key="2022-05", resources=tlc_resources)
    metadata = result.get_asset_materialization_events()[0].materialization.metadata
    assert metadata["reused_from_lake"].value is False


def test_rows_stream_in_bounded_batches_whatever_the_row_groups(tmp_path: Path) -> None:
    path = write_tlc_month("2022-03", 5_000, tmp_path, YELLOW)  # old writer: one row group
    assert pq.ParquetFile(path).metadata.num_row_groups == 1
    chunks = list(text_chunks(path, YELLOW, parse_month("2022-03"), "test", batch_rows=1_000))
    assert len(chunks) == 5
    assert sum(chunk.count(b"\n") for chunk in chunks) == 5_000  # COPY text: no header


def test_a_parquet_load_allocates_from_jemalloc() -> None:
    """The memory bound of a full-size fhvhv month relies on it (parquet._steady_memory_pool)."""
    import pyarrow as pa

    import taxi_assets.mechanics.parquet  # noqa: F401

    assert pa.default_memory_pool().backend_name == "jemalloc"
