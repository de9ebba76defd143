"""Materializing months end to end: the lake, the warehouse, reloads, failures, concurrency."""

import codecs
import gzip
import threading
from collections import Counter
from pathlib import Path

import dagster as dg
import psycopg
import pytest
from psycopg import sql

from taxi_assets.datasets import FHV, GREEN
from taxi_assets.mechanics.months import parse_month
from taxi_assets.resources import DataLake, TaxiSource
from taxi_assets.trips.slice import TripSlice
from tests.support.crafted_months import gzip_lines, lines_of
from tests.support.mirror_months import DATASET_ROWS, MONTH_ROWS
from tests.support.postgres import TEST_PG_URL, count_rows, table_fingerprint
from tests.support.runs import failure_message
from tests.support.trips import FHV_ASSETS, GREEN_ASSETS, YELLOW_ASSETS, raw_csv, yellow_taxi

ASSETS = [raw_csv, yellow_taxi]


def materialize(
    resources: dict, month: str, raise_on_error: bool = True
) -> dg.ExecuteInProcessResult:
    return dg.materialize(
        ASSETS, partition_key=month, resources=resources, raise_on_error=raise_on_error
    )


def test_a_month_lands_in_its_own_child_table(resources: dict, pg_schema: str) -> None:
    materialize(resources, "2021-03")
    assert count_rows(pg_schema, "yellow_taxi_2021_03") == MONTH_ROWS["2021-03"]
    assert count_rows(pg_schema, "yellow_taxi") == MONTH_ROWS["2021-03"]


def test_the_lake_holds_the_file_and_its_manifest(resources: dict, lake_dir: Path) -> None:
    result = materialize(resources, "2021-02")
    stored = lake_dir / "yellow" / "yellow_tripdata_2021-02.csv.gz"
    assert stored.is_file() and Path(f"{stored}.manifest.json").is_file()
    assert not list(stored.parent.glob("*.part-*"))
    meta = result.asset_materializations_for_node("raw_csv")[0].metadata
    assert meta["dagster/row_count"].value == MONTH_ROWS["2021-02"]
    assert meta["bytes"].value == stored.stat().st_size


def test_warehouse_metadata_names_table_rows_and_speed(resources: dict, pg_schema: str) -> None:
    result = materialize(resources, "2021-01")
    meta = result.asset_materializations_for_node("yellow_taxi")[0].metadata
    assert meta["dagster/row_count"].value == MONTH_ROWS["2021-01"]
    assert meta["dagster/table_name"].value == f"{pg_schema}.yellow_taxi_2021_01"
    assert meta["rows_per_second"].value > 0


def test_reloading_a_month_replaces_it_exactly(resources: dict, pg_schema: str) -> None:
    materialize(resources, "2021-03")
    first = table_fingerprint(pg_schema, "yellow_taxi_2021_03")
    materialize(resources, "2021-03")
    assert table_fingerprint(pg_schema, "yellow_taxi_2021_03") == first
    assert first[0] == MONTH_ROWS["2021-03"]


# The mirror ends every line with CRLF (docs/data.md); a re-saved copy may have LF alone.


def test_the_generator_ends_every_line_with_crlf_like_the_mirror(mirror_dir: Path) -> None:
    months = sorted(mirror_dir.glob("*/*_tripdata_*.csv.gz"))
    for path in months:
        data = gzip.decompress(path.read_bytes())
        assert data.count(b"\n") == data.count(b"\r\n") == data.count(b"\r"), path.name
        assert data.endswith(b"\r\n") and not data.startswith(codecs.BOM_UTF8)
        assert b'"' not in data, path.name
    assert len(months) == len(MONTH_ROWS) + len(DATASET_ROWS)


def values_of(schema: str, table: str, column: str) -> Counter:
    """How often each value of `column` occurs, as Postgres writes it as text (NULL: None)."""
    query = sql.SQL("SELECT {}::text, count(*) FROM {} GROUP BY 1").format(
        sql.Identifier(column), sql.Identifier(schema, table)
    )
    with psycopg.connect(TEST_PG_URL) as conn:
        return Counter(dict(conn.execute(query).fetchall()))


@pytest.mark.parametrize(
    ("dataset", "month", "rows"),
    [
        (YELLOW_ASSETS, "2021-03", MONTH_ROWS["2021-03"]),
        (GREEN_ASSETS, "2019-10", DATASET_ROWS[(GREEN, "2019-10")]),
        (FHV_ASSETS, "2020-01", DATASET_ROWS[(FHV, "2020-01")]),  # its last column is text
    ],
    ids=["yellow", "green", "fhv"],
)
def test_a_crlf_month_loads_exact_counts_and_clean_last_values(
    dataset: TripSlice, month: str, rows: int, resources: dict, pg_schema: str
) -> None:
    dg.materialize([dataset.raw, dataset.warehouse], partition_key=month, resources=resources)
    lines = lines_of(resources, month, dataset.spec)[1:]
    table = dataset.spec.child_table(parse_month(month))
    assert count_rows(pg_schema, table) == len(lines) == rows
    expected = Counter(line.rsplit(",", 1)[1] or None for line in lines)
    assert values_of(pg_schema, table, dataset.spec.columns[-1].name) == expected


def test_a_month_resaved_with_lf_alone_loads_the_same_rows(
    resources: dict, pg_schema: str, tmp_path: Path
) -> None:
    crlf = materialize(resources, "2021-01").asset_materializations_for_node("yellow_taxi")
    before = table_fingerprint(pg_schema, "yellow_taxi_2021_01")
    lf = gzip_lines(lines_of(resources, "2021-01"), line_end="\n")
    _point_at_new_mirror(resources, tmp_path, "2021-01", lf)
    again = materialize(resources, "2021-01").asset_materializations_for_node("yellow_taxi")
    assert table_fingerprint(pg_schema, "yellow_taxi_2021_01") == before
    assert again[0].metadata["duplicate_rows"].value == crlf[0].metadata["duplicate_rows"].value


def test_a_month_mixing_crlf_and_lf_is_refused_at_its_first_lf_line(
    resources: dict, mirror_dir: Path, tmp_path: Path
) -> None:
    data = gzip.decompress((mirror_dir / "yellow" / "yellow_tripdata_2021-02.csv.gz").read_bytes())
    mixed = data.replace(b"\r\n", b"\n").replace(b"\n", b"\r\n", 1)  # a CRLF header only
    _point_at_new_mirror(resources, tmp_path, "2021-02", gzip.compress(mixed))
    message = failure_message(materialize(resources, "2021-02", raise_on_error=False))
    assert "2021-02" in message and "unquoted newline found in data" in message
    assert "line 2" in message


def test_a_verified_lake_file_is_reused(resources: dict) -> None:
    materialize(resources, "2021-01")
    second = materialize(resources, "2021-01")
    meta = second.asset_materializations_for_node("raw_csv")[0].metadata
    assert meta["reused_from_lake"].value is True


def test_corrupt_download_for_a_loaded_month_fails_and_keeps_old_rows(
    resources: dict, pg_schema: str, tmp_path: Path
) -> None:
    materialize(resources, "2021-02")
    before = table_fingerprint(pg_schema, "yellow_taxi_2021_02")
    good = gzip_lines(lines_of(resources, "2021-02"))
    _point_at_new_mirror(resources, tmp_path, "2021-02", good[: len(good) // 2])
    result = materialize(resources, "2021-02", raise_on_error=False)
    message = str(result.get_step_failure_events()[0].step_failure_data.error)
    assert "2021-02" in message and "truncated gzip stream" in message
    assert table_fingerprint(pg_schema, "yellow_taxi_2021_02") == before


def test_lake_file_changed_after_verification_is_not_loaded(
    resources: dict, pg_schema: str, lake_dir: Path
) -> None:
    materialize(resources, "2021-03")
    before = table_fingerprint(pg_schema, "yellow_taxi_2021_03")
    stored = lake_dir / "yellow" / "yellow_tripdata_2021-03.csv.gz"
    stored.write_bytes(gzip_lines(lines_of(resources, "2021-03")[:-1]))
    result = dg.materialize(
        [yellow_taxi], partition_key="2021-03", resources=resources, raise_on_error=False
    )
    message = str(result.get_step_failure_events()[0].step_failure_data.error)
    assert "2021-03" in message and "manifest" in message
    assert table_fingerprint(pg_schema, "yellow_taxi_2021_03") == before


def test_a_month_with_a_bad_row_is_refused_and_old_rows_stay(
    resources: dict, pg_schema: str, tmp_path: Path
) -> None:
    materialize(resources, "2021-01")
    before = table_fingerprint(pg_schema, "yellow_taxi_2021_01")
    lines = lines_of(resources, "2021-01")
    fields = lines[7].split(",")
    fields[4] = "not-a-number"
    lines[7] = ",".join(fields)
    _point_at_new_mirror(resources, tmp_path, "2021-01", gzip_lines(lines))
    result = materialize(resources, "2021-01", raise_on_error=False)
    message = str(result.get_step_failure_events()[0].step_failure_data.error)
    assert "2021-01" in message and "line 8" in message
    assert table_fingerprint(pg_schema, "yellow_taxi_2021_01") == before


def test_two_months_load_concurrently(resources: dict, pg_schema: str) -> None:
    errors: list[BaseException] = []

    def run(month: str) -> None:
        try:
            materialize(resources, month)
        except BaseException as exc:  # collected and re-raised in the main thread
            errors.append(exc)

    threads = [threading.Thread(target=run, args=(m,)) for m in ("2021-01", "2021-02")]
    for t in threads:
        t.start()
    for t in threads:
        t.join()
    assert not errors
    assert count_rows(pg_schema, "yellow_taxi_2021_01") == MONTH_ROWS["2021-01"]
    assert count_rows(pg_schema, "yellow_taxi_2021_02") == MONTH_ROWS["2021-02"]


def test_unpublished_month_fails_at_once_naming_the_url(resources: dict) -> None:
    result = dg.materialize(
        [raw_csv], partition_key="2020-06", resources=resources, raise_on_error=False
    )
    message = str(result.get_step_failure_events()[0].step_failure_data.error)
    assert "2020-06 is not published at http://127.0.0.1:" in message


def _point_at_new_mirror(resources: dict, tmp_path: Path, month: str, content: bytes) -> None:
    """Serve `content` as the month from a file:// mirror, into a fresh lake."""
    target = tmp_path / "mirror2" / "yellow" / f"yellow_tripdata_{month}.csv.gz"
    target.parent.mkdir(parents=True, exist_ok=True)
    target.write_bytes(content)
    resources["source"] = TaxiSource(base_url=(tmp_path / "mirror2").as_uri())
    resources["lake"] = DataLake(root=str(tmp_path / "lake2"))


@pytest.mark.parametrize("key", ["../../x", "2021-13", "2021-01'; drop table x;--", "2021-1"])
def test_hostile_partition_keys_are_rejected(key: str) -> None:
    from taxi_assets.mechanics.months import parse_month

    with pytest.raises(ValueError, match="not a month"):
        parse_month(key)
