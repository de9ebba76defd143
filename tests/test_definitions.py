"""Cheap guards against silent renames: what users type and what the UI shows."""

import dagster as dg

from taxi_assets import defs
from taxi_assets.partitions import month_partitions, monthly_partitions


def test_definitions_load_with_the_pinned_asset_keys() -> None:
    keys = {key.to_user_string() for key in defs.resolve_asset_graph().get_all_asset_keys()}
    assert {"raw_csv", "yellow_taxi"} <= keys


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


def test_default_partitions_are_the_published_months() -> None:
    keys = month_partitions.get_partition_keys()
    assert keys[0] == "2019-01" and keys[-1] == "2021-07" and len(keys) == 31


def test_bounds_are_inclusive_months() -> None:
    keys = monthly_partitions("2021-01", "2021-03").get_partition_keys()
    assert keys == ["2021-01", "2021-02", "2021-03"]
