"""Materialization metadata: one month's own figures on each month's record."""

from collections.abc import Iterable, Sequence
from typing import Any

import dagster as dg

from taxi_assets.mechanics.dataset_spec import DatasetSpec
from taxi_assets.mechanics.lake import LakeFile
from taxi_assets.mechanics.schema import Column
from taxi_assets.mechanics.writer import LoadStats


def lake_file_metadata(lake_file: LakeFile, reused: bool, seconds: float) -> dict[str, Any]:
    """What the lake knows about a month's file, and how long fetching (or re-verifying) took."""
    timing = "verify" if reused else "download"
    return {
        "dagster/row_count": lake_file.rows,
        "dagster/uri": dg.MetadataValue.path(str(lake_file.path)),
        "source": lake_file.source,
        "source_url": dg.MetadataValue.url(lake_file.url),
        "bytes": lake_file.bytes,
        "sha256": lake_file.sha256,
        "reused_from_lake": reused,
        f"{timing}_seconds": round(seconds, 3),
        f"{timing}_mb_per_second": round(lake_file.bytes / 1e6 / max(seconds, 1e-9), 1),
        f"{timing}_rows_per_second": round(lake_file.rows / max(seconds, 1e-9)),
        **source_version_metadata(lake_file),
    }


def source_version_metadata(lake_file: LakeFile) -> dict[str, str]:
    """The published version of the file (ETag, Last-Modified) where the source sent them."""
    version = {"source_etag": lake_file.etag, "source_last_modified": lake_file.last_modified}
    return {key: value for key, value in version.items() if value}


def load_metadata(
    spec: DatasetSpec, stats: LoadStats, schema: str, lake_file: LakeFile
) -> dict[str, Any]:
    """What a month's load into the warehouse did, where it came from, and its first rows."""
    return {
        **table_metadata(spec.warehouse_columns, stats, schema),
        "load_seconds": round(stats.seconds, 3),
        "rows_per_second": round(stats.rows_per_second),
        "copy_streams": stats.copy_streams,
        "source": lake_file.source,
        "source_url": dg.MetadataValue.url(lake_file.url),
        "source_bytes": lake_file.bytes,
        "source_sha256": lake_file.sha256,
        **source_version_metadata(lake_file),
    }


def table_metadata(columns: Sequence[Column], stats: LoadStats, schema: str) -> dict[str, Any]:
    """The standard keys of any write: rows, table and a preview. The column schema is given
    on the asset definition only: when a materialization carries one too, Dagster's UI merges
    the two and lower-cases every name (docs/ui.md), showing names SQL does not know."""
    return {
        "dagster/row_count": stats.rows,
        "dagster/table_name": f"{schema}.{stats.table}",
        "preview": dg.MetadataValue.md(markdown_table([c.name for c in columns], stats.first_rows)),
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


def dagster_column_schema(columns: Sequence[Column]) -> dg.TableSchema:
    """The contract as `dagster/column_schema` metadata, with types and nullability.

    Give it on the asset definition only: when a materialization carries one too, Dagster's UI
    merges the two and lower-cases every name (docs/ui.md), showing names SQL does not know.
    """
    return dg.TableSchema(
        columns=[
            dg.TableColumn(
                name=c.name,
                type=c.pg_type,
                description=c.description,
                constraints=dg.TableColumnConstraints(nullable=c.nullable),
            )
            for c in columns
        ]
    )
