"""Read what a Dagster instance recorded: each month's latest materialization and its metadata."""

import dagster as dg


def latest_metadata_by_month(instance: dg.DagsterInstance, asset: str) -> dict[str, dict]:
    """{month: metadata values} of the latest materialization of each partition of `asset`."""
    key = dg.AssetKey(asset)
    latest: dict[str, dict] = {}
    for record in instance.fetch_materializations(key, limit=1000, ascending=True).records:
        materialization = record.asset_materialization
        if materialization is not None and materialization.partition is not None:
            latest[materialization.partition] = {
                name: value.value for name, value in materialization.metadata.items()
            }
    return latest
