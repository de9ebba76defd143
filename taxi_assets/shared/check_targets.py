"""Which materialization a month's check evaluation speaks about.

A check evaluation built by hand (one per month of a ranged run, where `AssetCheckResult` cannot
name a month) needs the month's latest materialization as its target, as `AssetCheckResult`
finds it for a single partition.
"""

from collections.abc import Sequence

import dagster as dg

# Not exported by dagster; AssetCheckResult fills it the same way for single partitions.
from dagster._core.definitions.asset_checks.asset_check_evaluation import (
    AssetCheckEvaluationTargetMaterializationData,
)

Target = AssetCheckEvaluationTargetMaterializationData


def latest_materialization(
    instance: dg.DagsterInstance, asset_key: dg.AssetKey, partition: str
) -> Target | None:
    """The month's latest materialization, the target of an evaluation about that month."""
    return latest_materializations(instance, asset_key, [partition]).get(partition)


def latest_materializations(
    instance: dg.DagsterInstance, asset_key: dg.AssetKey, partitions: Sequence[str]
) -> dict[str, Target]:
    """Each month's latest materialization, read newest first in pages (one query for a range
    built once; older materializations of the same months only add pages)."""
    wanted, found, cursor = set(partitions), {}, None
    while wanted:
        page = instance.fetch_materializations(
            dg.AssetRecordsFilter(asset_key=asset_key, asset_partitions=sorted(wanted)),
            limit=max(len(wanted), 100),
            cursor=cursor,
        )
        for record in page.records:
            if record.partition_key in wanted:
                wanted.discard(record.partition_key)
                found[record.partition_key] = Target(
                    run_id=record.run_id, storage_id=record.storage_id, timestamp=record.timestamp
                )
        if not page.has_more:
            break
        cursor = page.cursor
    return found


class MonthTargets:
    """The latest materialization of each asset's months, read once per asset in a step.

    A step reports its checks after it materialized their asset, so the first lookup of an
    asset already sees every month the step built.
    """

    def __init__(self, instance: dg.DagsterInstance, months: Sequence[str]) -> None:
        self._instance, self._months = instance, list(months)
        self._by_asset: dict[dg.AssetKey, dict[str, Target]] = {}

    def get(self, asset_key: dg.AssetKey, month: str) -> Target | None:
        if asset_key not in self._by_asset:
            self._by_asset[asset_key] = latest_materializations(
                self._instance, asset_key, self._months
            )
        return self._by_asset[asset_key].get(month)
