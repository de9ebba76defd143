"""Which materialization a month's check evaluation speaks about.

A check evaluation built by hand (one per month of a ranged run, where `AssetCheckResult` cannot
name a month) needs the month's latest materialization as its target, as `AssetCheckResult`
finds it for a single partition.
"""

import dagster as dg

# Not exported by dagster; AssetCheckResult fills it the same way for single partitions.
from dagster._core.definitions.asset_checks.asset_check_evaluation import (
    AssetCheckEvaluationTargetMaterializationData,
)


def latest_materialization(
    instance: dg.DagsterInstance, asset_key: dg.AssetKey, partition: str
) -> AssetCheckEvaluationTargetMaterializationData | None:
    """The month's latest materialization, the target of an evaluation about that month."""
    records = instance.fetch_materializations(
        dg.AssetRecordsFilter(asset_key=asset_key, asset_partitions=[partition]), limit=1
    ).records
    if not records:
        return None
    return AssetCheckEvaluationTargetMaterializationData(
        run_id=records[0].run_id, storage_id=records[0].storage_id, timestamp=records[0].timestamp
    )
