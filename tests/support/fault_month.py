"""The month the fault tests load, break and compare: its names, and a run that may fail.

Every fault run uses a lake of its own (tests/faults/conftest.py), so it downloads while
writing to the same warehouse schema as the month already loaded.
"""

from pathlib import Path

import dagster as dg

from tests.support.trips import raw_csv, yellow_taxi

ASSETS = [raw_csv, yellow_taxi]
MONTH = "2021-01"
CHILD = "yellow_taxi_2021_01"
MONTH_FILE = f"yellow/yellow_tripdata_{MONTH}.csv.gz"


def materialize(
    resources: dict, month: str = MONTH, assets=None, instance: dg.DagsterInstance | None = None
) -> dg.ExecuteInProcessResult:
    """Run the assets for `month`, returning the result even when a step fails."""
    return dg.materialize(
        assets or ASSETS,
        partition_key=month,
        resources=resources,
        raise_on_error=False,
        instance=instance,
    )


def lake_files(root: Path) -> list[Path]:
    """Every file in a lake folder (final names, manifests, temporaries)."""
    return sorted(p for p in root.rglob("*") if p.is_file()) if root.exists() else []
