"""Crafted months, independent pandas readings of them, and run helpers shared by the tests."""

import gzip
from pathlib import Path

import dagster as dg
import pandas as pd

from taxi_assets.resources import DataLake, TaxiSource
from taxi_assets.schema import SOURCE_HEADER, YELLOW_COLUMNS

PICKUP, DROPOFF, PASSENGERS, TOTAL = 1, 2, 3, 16  # field positions in a CSV line


def lake_file(resources: dict, month: str) -> Path:
    """The month's file in the lake the resources point at."""
    return Path(resources["lake"].root) / "yellow" / f"yellow_tripdata_{month}.csv.gz"


def lines_of(resources: dict, month: str) -> list[str]:
    """Header and data lines of the month as the lake holds it."""
    return gzip.decompress(lake_file(resources, month).read_bytes()).decode().splitlines()


def serve_crafted(resources: dict, tmp_path: Path, month: str, lines: list[str]) -> None:
    """Point the resources at a file:// mirror holding `lines` as the month, and a fresh lake."""
    root = tmp_path / "crafted_mirror"
    target = root / "yellow" / f"yellow_tripdata_{month}.csv.gz"
    target.parent.mkdir(parents=True, exist_ok=True)
    target.write_bytes(gzip.compress(("\n".join(lines) + "\n").encode()))
    resources["source"] = TaxiSource(base_url=root.as_uri())
    resources["lake"] = DataLake(root=str(tmp_path / "crafted_lake"))


def set_field(lines: list[str], rows: range, position: int, value: str) -> None:
    """Overwrite one field of the given data rows (1 = first data line)."""
    for i in rows:
        fields = lines[i].split(",")
        fields[position] = value
        lines[i] = ",".join(fields)


def read_month(path: Path) -> pd.DataFrame:
    """The month read with pandas alone: typed by the contract's pandas dtypes."""
    timestamps = [c.name for c in YELLOW_COLUMNS if c.pg_type == "timestamp"]
    dtypes = {c.name: c.pandas_dtype for c in YELLOW_COLUMNS if c.name not in timestamps}
    frame = pd.read_csv(path, dtype=dtypes, parse_dates=timestamps)
    assert list(frame.columns) == list(SOURCE_HEADER)
    return frame


def expected_flags(frame: pd.DataFrame, month: str) -> dict[str, int]:
    """What each warning should count, computed with pandas."""
    start = pd.Timestamp(f"{month}-01")
    end = start + pd.offsets.MonthBegin(1)
    pickup, dropoff = frame["tpep_pickup_datetime"], frame["tpep_dropoff_datetime"]
    numeric = [c.name for c in YELLOW_COLUMNS if c.pg_type == "numeric"]
    return {
        "pickups_outside_month": int(((pickup < start) | (pickup >= end)).sum()),
        "negative_totals": int((frame["total_amount"] < 0).sum()),
        "dropoff_before_pickup": int((dropoff < pickup).sum()),
        "missing_passenger_counts": int(frame["passenger_count"].isna().sum()),
        "duplicate_rows": int(frame.duplicated().sum()),
        "negative_passenger_counts": int((frame["passenger_count"] < 0).sum()),
        "extreme_amounts": int((frame[numeric].abs() > 1_000_000).any(axis=1).sum()),
    }


def range_tags(first: str, last: str) -> dict[str, str]:
    """Tags that make one run carry the months first..last (a single-run backfill)."""
    return {
        "dagster/asset_partition_range_start": first,
        "dagster/asset_partition_range_end": last,
    }


def only_metadata(instance: dg.DagsterInstance, asset: dg.AssetKey, month: str) -> dict:
    """The month's metadata of `asset`; every materialization of the month must carry the same.

    A ranged run records a month twice, when the month commits and when the step ends (see
    metadata.month_materialization); a figure copied from another month would differ.
    """
    records = instance.fetch_materializations(
        dg.AssetRecordsFilter(asset_key=asset, asset_partitions=[month]), limit=10
    ).records
    found = [dict(r.asset_materialization.metadata) for r in records if r.asset_materialization]
    assert found and all(metadata == found[0] for metadata in found)
    return found[0]
