"""Materialization metadata, with one month's own figures on each month, even in ranged runs."""

from collections.abc import Iterable, Mapping, Sequence
from typing import Any

import dagster as dg

from taxi_assets.lake import LakeFile
from taxi_assets.schema import WAREHOUSE_COLUMNS
from taxi_assets.warehouse import LoadStats

Metadata = Mapping[str, Any]
_NAMES = [c.name for c in WAREHOUSE_COLUMNS]


def lake_file_metadata(lake_file: LakeFile, reused: bool, seconds: float) -> dict[str, Any]:
    """What the lake knows about a month's file, and how long fetching (or re-verifying) took."""
    timing = "verify" if reused else "download"
    return {
        "dagster/row_count": lake_file.rows,
        "dagster/uri": dg.MetadataValue.path(str(lake_file.path)),
        "source_url": dg.MetadataValue.url(lake_file.url),
        "bytes": lake_file.bytes,
        "sha256": lake_file.sha256,
        "reused_from_lake": reused,
        f"{timing}_seconds": round(seconds, 3),
        f"{timing}_mb_per_second": round(lake_file.bytes / 1e6 / max(seconds, 1e-9), 1),
        f"{timing}_rows_per_second": round(lake_file.rows / max(seconds, 1e-9)),
    }


def load_metadata(stats: LoadStats, schema: str, lake_file: LakeFile) -> dict[str, Any]:
    """What a month's load into the warehouse did, where it came from, and its first rows."""
    return {
        "dagster/row_count": stats.rows,
        "dagster/table_name": f"{schema}.{stats.table}",
        "load_seconds": round(stats.seconds, 3),
        "rows_per_second": round(stats.rows_per_second),
        "source_url": dg.MetadataValue.url(lake_file.url),
        "source_bytes": lake_file.bytes,
        "source_sha256": lake_file.sha256,
        "preview": dg.MetadataValue.md(
            markdown_table([c.name for c in WAREHOUSE_COLUMNS], stats.first_rows)
        ),
    }


def markdown_table(columns: Sequence[str], rows: Iterable[Sequence[Any]]) -> str:
    """A small markdown table; empty cells for NULLs, pipes escaped."""

    def cell(value: Any) -> str:
        return "" if value is None else str(value).replace("|", "\\|")

    lines = [
        "| " + " | ".join(columns) + " |",
        "|" + "---|" * len(columns),
        *("| " + " | ".join(cell(v) for v in row) + " |" for row in rows),
    ]
    return "\n".join(lines)


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
