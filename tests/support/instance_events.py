"""Read what a Dagster instance recorded: each month's materializations and their metadata."""

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


def only_metadata(instance: dg.DagsterInstance, asset: dg.AssetKey, month: str) -> dict:
    """The metadata of the month's one materialization of `asset` (a ranged run records each
    month exactly once, with its own figures)."""
    records = instance.fetch_materializations(
        dg.AssetRecordsFilter(asset_key=asset, asset_partitions=[month]), limit=10
    ).records
    found = [dict(r.asset_materialization.metadata) for r in records if r.asset_materialization]
    assert len(found) == 1, f"{asset.to_user_string()} {month}: {len(found)} materializations"
    return found[0]
