"""Materialization metadata, with one month's own figures on each month, even in ranged runs."""

from collections.abc import Mapping
from typing import Any

import dagster as dg

from taxi_assets.lake import LakeFile
from taxi_assets.warehouse import LoadStats

Metadata = Mapping[str, Any]


def lake_file_metadata(lake_file: LakeFile, reused: bool) -> dict[str, Any]:
    """What the lake knows about a month's file."""
    return {
        "dagster/row_count": lake_file.rows,
        "dagster/uri": dg.MetadataValue.path(str(lake_file.path)),
        "source_url": dg.MetadataValue.url(lake_file.url),
        "bytes": lake_file.bytes,
        "sha256": lake_file.sha256,
        "reused_from_lake": reused,
    }


def load_metadata(stats: LoadStats, schema: str, lake_file: LakeFile) -> dict[str, Any]:
    """What a month's load into the warehouse did."""
    return {
        "dagster/row_count": stats.rows,
        "dagster/table_name": f"{schema}.{stats.table}",
        "load_seconds": round(stats.seconds, 3),
        "rows_per_second": round(stats.rows_per_second),
        "source_sha256": lake_file.sha256,
    }


def month_materialization(
    asset_key: dg.AssetKey, month: str, metadata: Metadata
) -> dg.AssetMaterialization:
    """A month's own materialization, to record the moment that month is done in a ranged run.

    Dagster records a ranged run's months only when the step ends; recording each month as soon
    as it commits keeps finished months on record when the run is cancelled or fails later, so a
    re-execution from failure loads only the rest. The step's own event per month follows at the
    end with the same figures (partition-scoped metadata), so each month's latest entry is its own.
    """
    return dg.AssetMaterialization(asset_key=asset_key, partition=month, metadata=metadata)
