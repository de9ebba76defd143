"""Cheap guards against silent renames: what users type and what the UI shows."""

import datetime as dt
from pathlib import Path

import dagster as dg
from dagster._core.definitions.freshness import CronFreshnessPolicy

from taxi_assets import analytics, defs
from taxi_assets.datasets import DATASETS, FHVHV, YELLOW
from taxi_assets.marts.assets import COLUMN_LINEAGE, MART_COLUMNS
from taxi_assets.shared.partitions import (
    PUBLICATION_DEADLINE_DAY,
    PUBLICATION_WINDOW,
    latest_publishable_month,
    month_partitions,
    monthly_partitions,
)
from taxi_assets.trips.checks import MONTH_CHECK, ROW_COUNT_CHECK, SCHEMA_CHECK
from taxi_assets.zones.assets import ZONE_COLUMNS


def test_definitions_load_with_the_pinned_asset_keys() -> None:
    keys = {key.to_user_string() for key in defs.resolve_asset_graph().get_all_asset_keys()}
    assert {"raw_csv", "yellow_taxi", "taxi_zones", "daily_borough_trips"} <= keys


def test_yellow_taxi_depends_on_raw_csv() -> None:
    graph = defs.resolve_asset_graph()
    assert graph.get(dg.AssetKey("yellow_taxi")).parent_keys == {dg.AssetKey("raw_csv")}


def test_job_selects_both_assets() -> None:
    job = defs.resolve_job_def("yellow_taxi_job")
    assert {k.to_user_string() for k in job.asset_layer.executable_asset_keys} >= {
        "raw_csv",
        "yellow_taxi",
    }


def test_schedule_cron_matches_the_airflow_dag() -> None:
    schedule = defs.resolve_schedule_def("yellow_taxi_job_schedule")
    assert schedule.cron_schedule == "0 6 2 * *"
    assert schedule.execution_timezone in (None, "UTC")


def test_default_partitions_run_from_2019_01_to_the_latest_month_the_tlc_can_have_published() -> (
    None
):
    keys = month_partitions.get_partition_keys()
    assert keys[0] == "2019-01" and keys[-1] == latest_publishable_month()
    assert len(keys) == len(monthly_partitions("2019-01", keys[-1]).get_partition_keys())


def test_bounds_are_inclusive_months() -> None:
    keys = monthly_partitions("2021-01", "2021-03").get_partition_keys()
    assert keys == ["2021-01", "2021-02", "2021-03"]


def test_groups_and_kinds_layer_the_graph() -> None:
    graph = defs.resolve_asset_graph()
    layers = {
        "raw_csv": ("raw", {"csv", "parquet"}),
        "fhvhv_raw_parquet": ("raw", {"parquet"}),
        "yellow_taxi": ("warehouse", {"postgres"}),
        "taxi_zones": ("warehouse", {"csv", "postgres"}),
        "daily_borough_trips": ("marts", {"postgres"}),
    }
    for key, (group, kinds) in layers.items():
        node = graph.get(dg.AssetKey(key))
        assert (node.group_name, node.kinds) == (group, kinds)


def test_the_mart_depends_on_trips_and_zones() -> None:
    graph = defs.resolve_asset_graph()
    parents = graph.get(dg.AssetKey("daily_borough_trips")).parent_keys
    assert parents == {dg.AssetKey("yellow_taxi"), dg.AssetKey("taxi_zones")}


def test_yellow_taxi_has_the_pinned_checks_and_blocking_ones() -> None:
    graph = defs.resolve_asset_graph()
    yellow = [k for k in graph.asset_check_keys if k.asset_key == dg.AssetKey("yellow_taxi")]
    checks = {k.name: graph.get_check_spec(k) for k in yellow}
    assert set(checks) == {
        "row_count_matches_lake",
        "schema_matches_contract",
        "pickups_in_file_month",
        "pickups_outside_month",
        "negative_totals",
        "dropoff_before_pickup",
        "missing_passenger_counts",
        "duplicate_rows",
        "negative_passenger_counts",
        "extreme_amounts",
    }
    assert {name for name, spec in checks.items() if spec.blocking} == {
        "row_count_matches_lake",
        "schema_matches_contract",
        "pickups_in_file_month",
    }


def test_the_monthly_job_runs_the_checks() -> None:
    job = defs.resolve_job_def("yellow_taxi_job")
    checks = {key.name for key in job.asset_layer.asset_graph.asset_check_keys}
    assert {"row_count_matches_lake", "schema_matches_contract"} <= checks


def test_freshness_follows_the_tlcs_publication_window() -> None:
    policy = defs.resolve_asset_graph().get(dg.AssetKey("yellow_taxi")).freshness_policy
    assert isinstance(policy, CronFreshnessPolicy)
    assert policy.deadline_cron == "0 6 4 * *" and policy.timezone == "UTC"
    assert policy.lower_bound_delta == dt.timedelta(days=20)


def test_every_publication_deadline_falls_inside_the_window() -> None:
    """Day 47 to 62 after each month's end lies within the window before the next deadline."""
    for year, month in ((year, m) for year in (2024, 2025) for m in range(1, 13)):
        end = dt.date(year + month // 12, month % 12 + 1, 1) - dt.timedelta(days=1)
        first, last = end + dt.timedelta(days=47), end + dt.timedelta(days=62)
        deadline = (last + dt.timedelta(days=10)).replace(day=PUBLICATION_DEADLINE_DAY)
        assert last < deadline and deadline - first <= PUBLICATION_WINDOW, (year, month)


def test_each_dataset_has_a_tlc_sensor_running_by_default() -> None:
    for name in ("yellow_taxi", "green_taxi", "fhv_taxi", "fhvhv_taxi"):
        sensor = defs.resolve_sensor_def(f"{name}_tlc_sensor")
        assert sensor.default_status == dg.DefaultSensorStatus.RUNNING
        assert sensor.job_name == f"{name}_job"


def test_the_marts_sensor_runs_by_default() -> None:
    sensor = defs.resolve_sensor_def("marts_automation_sensor")
    assert sensor.default_status == dg.DefaultSensorStatus.RUNNING


def test_column_lineage_names_real_upstream_columns() -> None:
    lineage = COLUMN_LINEAGE.deps_by_column
    known = {
        dg.AssetKey("yellow_taxi"): {c.name for c in YELLOW.warehouse_columns},
        dg.AssetKey("taxi_zones"): {c.name for c in ZONE_COLUMNS},
    }
    assert set(lineage) == {c.name for c in MART_COLUMNS}
    for deps in lineage.values():
        assert all(dep.column_name in known[dep.asset_key] for dep in deps)


def test_green_fhv_and_fhvhv_follow_yellows_pattern() -> None:
    graph = defs.resolve_asset_graph()
    pairs = (("green_raw_csv", "green_taxi"), ("fhv_raw_csv", "fhv_taxi"))
    for raw, table in (*pairs, ("fhvhv_raw_parquet", "fhvhv_taxi")):
        assert graph.get(dg.AssetKey(table)).parent_keys == {dg.AssetKey(raw)}
        job = defs.resolve_job_def(f"{table}_job")
        assert {k.to_user_string() for k in job.asset_layer.executable_asset_keys} >= {raw, table}
        assert defs.resolve_schedule_def(f"{table}_job_schedule").cron_schedule == "0 6 2 * *"


def test_every_dataset_has_the_blocking_checks_and_its_warnings() -> None:
    graph = defs.resolve_asset_graph()
    for spec in DATASETS:
        checks = {k.name for k in graph.asset_check_keys if k.asset_key.path == [spec.table]}
        blocking = {ROW_COUNT_CHECK, SCHEMA_CHECK, MONTH_CHECK}
        assert checks == {*blocking, *(rule.name for rule in spec.warnings)}


def test_every_dataset_runs_from_its_first_month_to_the_latest_the_tlc_can_have_published() -> None:
    graph = defs.resolve_asset_graph()
    firsts = {spec.table: "2019-02" if spec is FHVHV else "2019-01" for spec in DATASETS}
    for spec in DATASETS:
        keys = graph.get(dg.AssetKey(spec.table)).partitions_def.get_partition_keys()
        assert (keys[0], keys[-1]) == (firsts[spec.table], latest_publishable_month())


def test_every_asset_of_both_locations_has_an_owner_and_a_link_to_its_code() -> None:
    for location in (defs, analytics.defs):
        graph = location.resolve_asset_graph()
        for key in graph.executable_asset_keys:
            node = graph.get(key)
            references = node.metadata["dagster/code_references"].code_references
            assert node.owners == ["team:taxi-data"], key
            assert all(Path(ref.file_path).is_file() for ref in references), key
