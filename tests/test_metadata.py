"""Standard metadata on every month of yellow_taxi, in single and ranged runs."""

import hashlib

import dagster as dg

from taxi_assets.assets import raw_csv, yellow_taxi
from taxi_assets.datasets import YELLOW
from taxi_assets.mechanics.writer import PREVIEW_ROWS
from tests.conftest import MONTH_ROWS
from tests.crafted import PICKUP, lake_file, lines_of, only_metadata, range_tags

STANDARD_KEYS = {
    "dagster/row_count",
    "dagster/table_name",
    "dagster/column_schema",
    "source_url",
    "source_bytes",
    "source_sha256",
    "load_seconds",
    "rows_per_second",
    "preview",
}


def test_a_month_carries_the_standard_metadata(resources: dict) -> None:
    result = dg.materialize([raw_csv, yellow_taxi], partition_key="2021-01", resources=resources)
    meta = result.asset_materializations_for_node("yellow_taxi")[0].metadata
    stored = lake_file(resources, "2021-01")
    assert set(meta) >= STANDARD_KEYS
    assert [c.name for c in meta["dagster/column_schema"].value.columns] == [
        c.name for c in YELLOW.warehouse_columns
    ]
    assert meta["source_url"].value.endswith("/yellow/yellow_tripdata_2021-01.csv.gz")
    assert meta["source_bytes"].value == stored.stat().st_size
    assert meta["source_sha256"].value == hashlib.sha256(stored.read_bytes()).hexdigest()


def test_the_preview_shows_the_first_rows_of_the_file(resources: dict) -> None:
    result = dg.materialize([raw_csv, yellow_taxi], partition_key="2021-02", resources=resources)
    preview = result.asset_materializations_for_node("yellow_taxi")[0].metadata["preview"].value
    table_lines = preview.splitlines()
    first_pickups = [line.split(",")[PICKUP] for line in lines_of(resources, "2021-02")[1:3]]
    assert len(table_lines) == 2 + PREVIEW_ROWS
    assert table_lines[0].startswith("| VendorID | tpep_pickup_datetime |")
    assert [row.split(" | ")[1] for row in table_lines[2:4]] == first_pickups


def test_each_month_of_a_ranged_run_keeps_its_own_metadata(resources: dict) -> None:
    tags = range_tags("2021-01", "2021-02")
    with dg.instance_for_test() as instance:
        dg.materialize([raw_csv, yellow_taxi], resources=resources, tags=tags, instance=instance)
        per_month = {m: only_metadata(instance, yellow_taxi.key, m) for m in ("2021-01", "2021-02")}
    for month, meta in per_month.items():
        assert set(meta) >= STANDARD_KEYS
        assert meta["dagster/row_count"].value == MONTH_ROWS[month]
        assert meta["source_url"].value.endswith(f"yellow_tripdata_{month}.csv.gz")
