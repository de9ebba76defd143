"""Materializing months end to end: the lake, the warehouse, reloads, failures, concurrency."""

import gzip
import threading
from pathlib import Path

import dagster as dg
import pytest

from taxi_assets.resources import DataLake, TaxiSource
from tests.conftest import MONTH_ROWS, count_rows, table_fingerprint
from tests.support.trips import raw_csv, yellow_taxi

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
    good = gzip.compress(("\n".join(_lines_of(resources, "2021-02")) + "\n").encode())
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
    lines = _lines_of(resources, "2021-03")
    stored.write_bytes(gzip.compress(("\n".join(lines[:-1]) + "\n").encode()))
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
    lines = _lines_of(resources, "2021-01")
    fields = lines[7].split(",")
    fields[4] = "not-a-number"
    lines[7] = ",".join(fields)
    _point_at_new_mirror(
        resources, tmp_path, "2021-01", gzip.compress(("\n".join(lines) + "\n").encode())
    )
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


def _lines_of(resources: dict, month: str) -> list[str]:
    lake_root = Path(resources["lake"].root)
    path = lake_root / "yellow" / f"yellow_tripdata_{month}.csv.gz"
    return gzip.decompress(path.read_bytes()).decode().splitlines()


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
