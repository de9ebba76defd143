"""Months crafted line by line (CRLF like the mirror), and pandas readings of them that owe
nothing to our loader, to compare its figures with."""

import gzip
from pathlib import Path

import pandas as pd

from taxi_assets.datasets import YELLOW
from taxi_assets.mechanics.dataset_spec import DatasetSpec
from taxi_assets.mechanics.months import parse_month
from taxi_assets.resources import DataLake, TaxiSource
from taxi_testkit.generate import LINE_END

PICKUP, DROPOFF, PASSENGERS, TOTAL = 1, 2, 3, 16  # field positions in a CSV line


def lake_file(resources: dict, month: str, spec: DatasetSpec = YELLOW) -> Path:
    """The month's file in the lake the resources point at."""
    return Path(resources["lake"].root) / spec.relative_path(parse_month(month))


def lines_of(resources: dict, month: str, spec: DatasetSpec = YELLOW) -> list[str]:
    """Header and data lines of the month as the lake holds it."""
    return gzip.decompress(lake_file(resources, month, spec).read_bytes()).decode().splitlines()


def gzip_lines(lines: list[str], line_end: str = LINE_END) -> bytes:
    """`lines` as a month's gzip file, every line ended with `line_end` (the mirror's CRLF)."""
    return gzip.compress("".join(line + line_end for line in lines).encode())


def serve_crafted(
    resources: dict, tmp_path: Path, month: str, lines: list[str], spec: DatasetSpec = YELLOW
) -> None:
    """Point the resources at a file:// mirror holding `lines` as the month, and a fresh lake."""
    root = tmp_path / "crafted_mirror"
    target = root / spec.relative_path(parse_month(month))
    target.parent.mkdir(parents=True, exist_ok=True)
    target.write_bytes(gzip_lines(lines))
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
    timestamps = [c.name for c in YELLOW.columns if c.pg_type == "timestamp"]
    dtypes = {c.name: c.pandas_dtype for c in YELLOW.columns if c.name not in timestamps}
    frame = pd.read_csv(path, dtype=dtypes, parse_dates=timestamps)
    assert list(frame.columns) == list(YELLOW.header)
    return frame


def expected_flags(frame: pd.DataFrame, month: str) -> dict[str, int]:
    """What each warning should count, computed with pandas."""
    start = pd.Timestamp(f"{month}-01")
    end = start + pd.offsets.MonthBegin(1)
    pickup, dropoff = frame["tpep_pickup_datetime"], frame["tpep_dropoff_datetime"]
    numeric = [c.name for c in YELLOW.columns if c.pg_type == "numeric"]
    return {
        "pickups_outside_month": int(((pickup < start) | (pickup >= end)).sum()),
        "negative_totals": int((frame["total_amount"] < 0).sum()),
        "dropoff_before_pickup": int((dropoff < pickup).sum()),
        "missing_passenger_counts": int(frame["passenger_count"].isna().sum()),
        "duplicate_rows": int(frame.duplicated().sum()),
        "negative_passenger_counts": int((frame["passenger_count"] < 0).sum()),
        "extreme_amounts": int((frame[numeric].abs() > 1_000_000).any(axis=1).sum()),
    }
