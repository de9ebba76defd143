"""Standard metadata on every month of yellow_taxi, in single and ranged runs."""

import hashlib

import dagster as dg
import pytest

from taxi_assets.datasets import YELLOW
from taxi_assets.mechanics.writer import PREVIEW_ROWS
from taxi_assets.shared.launch import range_tags
from taxi_assets.zones.assets import ZONE_COLUMNS, taxi_zones
from tests.support.crafted_months import PICKUP, lake_file, lines_of
from tests.support.instance_events import only_metadata
from tests.support.mirror_months import MONTH_ROWS
from tests.support.trips import raw_csv, yellow_taxi

STANDARD_KEYS = {
    "dagster/row_count",
    "dagster/table_name",
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
    assert meta["source_url"].value.endswith("/yellow/yellow_tripdata_2021-01.csv.gz")
    assert meta["source_bytes"].value == stored.stat().st_size
    assert meta["source_sha256"].value == hashlib.sha256(stored.read_bytes()).hexdigest()


@pytest.mark.parametrize(
    ("assets", "month", "columns"),
    [
        ([raw_csv, yellow_taxi], "2021-01", YELLOW.warehouse_columns),
        ([taxi_zones], None, ZONE_COLUMNS),
    ],
)
def test_the_column_schema_is_given_once_with_the_names_sql_knows(
    resources: dict, assets: list, month: str | None, columns: tuple
) -> None:
    """Given twice (definition and materialization), the UI would show lower-cased names."""
    loaded = assets[-1]
    result = dg.materialize(assets, partition_key=month, resources=resources)
    schema = loaded.metadata_by_key[loaded.key]["dagster/column_schema"]
    assert [c.name for c in schema.columns] == [c.name for c in columns]
    materialization = result.asset_materializations_for_node(loaded.key.path[-1])[-1]
    assert "dagster/column_schema" not in materialization.metadata


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
