"""Green and FHV on yellow's guarantees, FHV's two headers, and a dataset declared in a test."""

import csv
import datetime as dt
import gzip
import json
from pathlib import Path

import dagster as dg
import psycopg
from psycopg import sql

from taxi_assets.datasets import FHV
from taxi_assets.mechanics.dataset_spec import DatasetSpec, WarningRule
from taxi_assets.mechanics.schema import Column
from taxi_assets.resources import TaxiSource
from taxi_assets.trips.assets import DatasetAssets, dataset_assets
from taxi_assets.trips.slice import trip_slice
from taxi_testkit import trip_tables
from taxi_testkit.generate import write_month
from taxi_testkit.mirror import serve_mirror
from tests.support.crafted_months import lake_file, lines_of, serve_crafted, set_field
from tests.support.mirror_months import DATASET_ROWS
from tests.support.postgres import TEST_PG_URL, count_rows, table_fingerprint
from tests.support.runs import failure_message
from tests.support.trips import FHV_ASSETS, GREEN_ASSETS
from tests.test_cli import run_cli


def load(resources: dict, dataset: DatasetAssets, month: str, raise_on_error: bool = True):
    return dg.materialize(
        [dataset.raw, dataset.warehouse],
        partition_key=month,
        resources=resources,
        raise_on_error=raise_on_error,
    )


def column_names(schema: str, table: str) -> list[str]:
    with psycopg.connect(TEST_PG_URL) as conn:
        query = sql.SQL("SELECT * FROM {} LIMIT 0").format(sql.Identifier(schema, table))
        return [d.name for d in conn.execute(query).description or []]


def test_a_green_month_loads_through_the_real_cli(cli_env: dict, pg_schema: str) -> None:
    tags = json.dumps({"dagster/partition": "2019-10"})
    done = run_cli(
        ["job", "execute", "-m", "taxi_assets", "-j", "green_taxi_job", "--tags", tags], cli_env
    )
    assert done.returncode == 0, done.stderr[-3000:]
    assert (
        count_rows(pg_schema, "green_taxi_2019_10") == DATASET_ROWS[(GREEN_ASSETS.spec, "2019-10")]
    )
    assert count_rows(pg_schema, "green_taxi") == count_rows(pg_schema, "green_taxi_2019_10")


def test_both_fhv_headers_load_into_the_2019_spelling(resources: dict, pg_schema: str) -> None:
    for month in ("2019-12", "2020-01"):
        load(resources, FHV_ASSETS, month)
    assert lines_of(resources, "2020-01", FHV)[0].split(",")[2:5] == [
        "dropoff_datetime",
        "PULocationID",
        "DOLocationID",
    ]
    assert column_names(pg_schema, "fhv_taxi_2020_01") == [c.name for c in FHV.warehouse_columns]
    with gzip.open(lake_file(resources, "2020-01", FHV), "rt") as handle:
        located = sum(1 for row in csv.DictReader(handle) if row["PULocationID"])
    with psycopg.connect(TEST_PG_URL) as conn:
        query = 'SELECT count("PUlocationID") FROM {}'
        found = conn.execute(sql.SQL(query).format(sql.Identifier(pg_schema, "fhv_taxi_2020_01")))
        assert found.fetchone() == (located,)


def test_a_fhv_header_matching_no_variant_is_refused_before_the_lake(
    resources: dict, tmp_path: Path
) -> None:
    load(resources, FHV_ASSETS, "2020-01")
    lines = lines_of(resources, "2020-01", FHV)
    lines[0] = lines[0].replace("PULocationID", "PULocationId")
    serve_crafted(resources, tmp_path, "2020-01", lines, FHV)
    message = failure_message(load(resources, FHV_ASSETS, "2020-01", raise_on_error=False))
    assert "2020-01" in message and "drifts from the schema contract (fhv)" in message
    assert "['PULocationID']" in message and "['PULocationId']" in message
    assert not list(Path(resources["lake"].root).rglob("*.gz"))


def test_a_green_row_postgres_rejects_is_named_and_the_month_stays(
    resources: dict, pg_schema: str, tmp_path: Path
) -> None:
    load(resources, GREEN_ASSETS, "2019-10")
    before = table_fingerprint(pg_schema, "green_taxi_2019_10")
    lines = lines_of(resources, "2019-10", GREEN_ASSETS.spec)
    set_field(lines, range(7, 8), 9, "not-a-number")  # fare_amount of data line 7
    serve_crafted(resources, tmp_path, "2019-10", lines, GREEN_ASSETS.spec)
    message = failure_message(load(resources, GREEN_ASSETS, "2019-10", raise_on_error=False))
    assert "2019-10" in message and "line 8" in message and "fare_amount" in message
    assert table_fingerprint(pg_schema, "green_taxi_2019_10") == before


def test_reloading_a_fhv_month_replaces_it_exactly(resources: dict, pg_schema: str) -> None:
    load(resources, FHV_ASSETS, "2019-12")
    first = table_fingerprint(pg_schema, "fhv_taxi_2019_12")
    load(resources, FHV_ASSETS, "2019-12")
    assert table_fingerprint(pg_schema, "fhv_taxi_2019_12") == first
    assert first[0] == DATASET_ROWS[(FHV, "2019-12")]


FHVHV = DatasetSpec(
    name="fhvhv",
    title="High-volume for-hire trips",
    table="fhvhv_taxi",
    raw_asset="fhvhv_raw_csv",
    columns=(
        Column("hvfhs_license_num", "text", "string", "The high-volume company's licence."),
        Column("pickup_datetime", "timestamp", "datetime64[us]", "Pickup.", nullable=False),
        Column("PULocationID", "smallint", "Int16", "Pickup TLC taxi zone."),
        Column("base_passenger_fare", "numeric", "Float64", "Fare before tolls and tips."),
    ),
    warnings=(
        WarningRule("negative_fares", "negative", ("base_passenger_fare",), 0.01, "Refunds."),
        WarningRule("duplicate_rows", "duplicates", (), 0.01, "Identical rows."),
    ),
    first_month="2021-01",
    last_month="2021-12",
    pickup_column="pickup_datetime",
    pickup_zone_column="PULocationID",
)
FHVHV_LINES = [
    "hvfhs_license_num,pickup_datetime,PULocationID,base_passenger_fare",
    "HV0003,2021-05-01 00:01:02,132,31.5",
    "HV0005,2021-05-01 00:03:04,,12",
    "HV0003,2021-05-02 10:00:00,48,-7.25",
]


def test_a_fourth_dataset_is_one_spec_and_nothing_else(
    resources: dict, pg_schema: str, tmp_path: Path
) -> None:
    serve_crafted(resources, tmp_path, "2021-05", FHVHV_LINES, FHVHV)
    assets = dataset_assets(FHVHV)
    result = load(resources, assets, "2021-05")
    assert count_rows(pg_schema, "fhvhv_taxi_2021_05") == 3
    found = {e.check_name: e for e in result.get_asset_check_evaluations()}
    assert set(found) == {
        "row_count_matches_lake",
        "schema_matches_contract",
        *("negative_fares", "duplicate_rows"),
    }
    assert found["negative_fares"].metadata["flagged_rows"].value == 1
    assert found["row_count_matches_lake"].passed and found["schema_matches_contract"].passed


def test_a_dataset_declared_here_gets_its_job_schedule_files_and_tables(
    resources: dict, pg_schema: str, tmp_path: Path
) -> None:
    trips = trip_slice(FHVHV)  # nothing but the declaration above
    write_month("2021-06", 700, tmp_path / "mirror", spec=FHVHV)  # the generator's file
    with serve_mirror(tmp_path / "mirror") as url:
        slice_defs = dg.Definitions(
            assets=list(trips.assets),
            jobs=[trips.job],
            schedules=[trips.schedule],
            resources={**resources, "source": TaxiSource(base_url=url)},
        )
        schedule = slice_defs.resolve_schedule_def("fhvhv_taxi_job_schedule")
        assert (schedule.job_name, schedule.cron_schedule) == ("fhvhv_taxi_job", "0 6 2 * *")
        job = slice_defs.resolve_job_def("fhvhv_taxi_job")
        assert job.execute_in_process(partition_key="2021-06").success
    assert count_rows(pg_schema, "fhvhv_taxi_2021_06") == 700
    trip_tables.replace_month(TEST_PG_URL, pg_schema, FHVHV, dt.date(2021, 7, 1), 50)
    assert count_rows(pg_schema, "fhvhv_taxi") == 750  # the test kit's month joined the parent
