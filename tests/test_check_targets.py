"""A month's check evaluation targets that month's latest materialization, read in one pass."""

import dagster as dg

from taxi_assets.shared.check_targets import MonthTargets, latest_materialization

KEY = dg.AssetKey("fct_trips")


def materialize(instance: dg.DagsterInstance, month: str, times: int = 1) -> None:
    for _ in range(times):
        instance.report_runless_asset_event(dg.AssetMaterialization(KEY, partition=month))


def test_each_month_gets_its_own_newest_materialization_across_pages() -> None:
    with dg.instance_for_test() as instance:
        materialize(instance, "2019-01")
        materialize(instance, "2019-02", times=3)
        # 2019-01's materialization lies behind more than a page of 2019-03's.
        materialize(instance, "2019-03", times=130)
        materialize(instance, "2019-02")
        months = ["2019-01", "2019-02", "2019-03", "2019-04"]
        targets = MonthTargets(instance, months)
        for month in months[:3]:
            newest = instance.fetch_materializations(
                dg.AssetRecordsFilter(asset_key=KEY, asset_partitions=[month]), limit=1
            ).records[0]
            target = targets.get(KEY, month)
            assert target is not None
            assert (target.storage_id, target.run_id) == (newest.storage_id, newest.run_id)
            assert latest_materialization(instance, KEY, month) == target
        assert targets.get(KEY, "2019-04") is None  # never built: no target
        assert targets.get(dg.AssetKey("other"), "2019-01") is None
