"""The dbt models in the one graph: lineage, groups, partitions, checks, automation; and the
warehouse password reaching dbt only as a secret."""

from pathlib import Path

import dagster as dg
import pytest

from taxi_assets.analytics.assets import DBT_GROUP, taxi_dbt_dimensions, taxi_dbt_monthly
from taxi_assets.resources import WarehouseResource
from taxi_assets.shared.partitions import month_partitions
from taxi_assets.zones.assets import taxi_zones
from tests.support.dbt_warehouse import (
    DBT_MODELS,
    build_dimensions,
    load_zones,
    run_dbt_cli,
    with_dbt,
)
from tests.support.postgres import TEST_PG_URL
from tests.support.trips import raw_csv, yellow_taxi
from tests.support.workspace import WORKSPACE as defs

LINEAGE = [
    "raw_csv",
    "yellow_taxi",
    "stg_yellow_tripdata",
    "int_trips_unioned",
    "int_trips",
    "fct_trips",
    "fct_monthly_zone_revenue",
]
PASSWORD = "Dbt-Secret-7Qx"  # the test server trusts local connections and ignores it


def parents(key: str) -> set[str]:
    node = defs.resolve_asset_graph().get(dg.AssetKey(key))
    return {parent.to_user_string() for parent in node.parent_keys}


def test_one_lineage_from_the_mirror_to_the_revenue_mart() -> None:
    for upstream, downstream in zip(LINEAGE, LINEAGE[1:], strict=False):
        assert upstream in parents(downstream)
    assert parents("stg_green_tripdata") == {"green_taxi", "dim_zones"}
    assert parents("stg_fhv_tripdata") == {"fhv_taxi", "dim_zones"}
    assert parents("dim_zones") == {"taxi_zones"} and "dim_zones" in parents("fct_trips")


def test_the_models_form_one_group_on_the_loads_calendar() -> None:
    graph = defs.resolve_asset_graph()
    for model in DBT_MODELS:
        assert graph.get(dg.AssetKey(model)).group_name == DBT_GROUP
    for model in LINEAGE[2:]:
        assert graph.get(dg.AssetKey(model)).partitions_def == month_partitions
    assert graph.get(dg.AssetKey("dim_zones")).partitions_def is None
    assert defs.resolve_job_def("analytics_monthly_job").partitions_def == month_partitions


def test_the_course_tests_are_asset_checks() -> None:
    checks = {key.name for key in defs.resolve_asset_graph().asset_check_keys}
    assert {"unique_fct_trips_trip_id", "not_null_fct_trips_trip_id"} <= checks
    assert "relationships_fct_trips_pickup_location_id__location_id__ref_dim_zones_" in checks
    assert "accepted_values_fct_trips_payment_type__False__1__2__3__4__5__6" in checks


def test_a_landed_month_requests_its_models_once_the_zones_are_in(resources: dict) -> None:
    assets = [raw_csv, yellow_taxi, taxi_zones, taxi_dbt_dimensions, taxi_dbt_monthly]
    automated = dg.Definitions(assets=assets, resources=with_dbt(resources))
    with dg.instance_for_test() as instance:
        dg.materialize(assets[:2], partition_key="2021-03", resources=resources, instance=instance)
        no_zones = dg.evaluate_automation_conditions(defs=automated, instance=instance)
        build_dimensions(with_dbt(resources), instance, with_zones=True)
        zones_in = dg.evaluate_automation_conditions(
            defs=automated, instance=instance, cursor=no_zones.cursor
        )
    staging = dg.AssetKey("stg_yellow_tripdata")
    assert no_zones.get_requested_partitions(staging) == set()
    assert zones_in.get_requested_partitions(staging) == {"2021-03"}
    # the month's tests run in the same run as its models
    vendor_check = dg.AssetCheckKey(staging, "not_null_stg_yellow_tripdata_vendor_id")
    requested = {result.key for result in zones_in.results if result.true_subset.size}
    assert vendor_check in requested
    assert defs.resolve_sensor_def("analytics_automation_sensor").default_status.value == "RUNNING"


def test_the_password_stays_out_of_dbt_files_and_logs(
    resources: dict, pg_schema: str, tmp_path: Path
) -> None:
    load_zones(resources)
    secret_url = TEST_PG_URL.replace("postgres@", f"postgres:{PASSWORD}@")
    env = {"TAXI_PG_URL": secret_url, "TAXI_PG_SCHEMA": pg_schema}
    build = ["--debug", "build", "-s", "dim_zones", "payment_type_lookup"]
    done = run_dbt_cli([*build, "--indirect-selection", "cautious"], env, tmp_path)
    assert done.returncode == 0, done.stdout[-3000:]
    written = [p for p in tmp_path.rglob("*") if p.is_file()]
    assert any(p.name == "dbt.log" for p in written) and any(p.suffix == ".json" for p in written)
    assert not [p for p in written if PASSWORD.encode() in p.read_bytes()]
    assert PASSWORD not in done.stdout + done.stderr


def test_the_password_stays_out_of_a_dagster_run(
    resources: dict, pg_schema: str, capfd: pytest.CaptureFixture[str]
) -> None:
    load_zones(resources)
    postgres = WarehouseResource(
        url=TEST_PG_URL.replace("@", f":{PASSWORD}@"), schema_name=pg_schema
    )
    with dg.instance_for_test() as instance:
        build_dimensions({**with_dbt(resources), "warehouse": postgres}, instance)
        events = instance.all_logs(instance.get_runs()[0].run_id)
    printed = capfd.readouterr()
    assert "dim_zones" in printed.out + printed.err  # dbt's own output was captured
    assert PASSWORD not in printed.out + printed.err + "".join(str(e) for e in events)
