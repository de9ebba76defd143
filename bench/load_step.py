"""(c) A warehouse step alone, in a process of its own: load time and peak memory.

    python -m bench.load_step --month 2021-03 --lake DIR --pg URL --schema S [--dataset green]

The month's file is already in the lake (download excluded). The step runs through Dagster and
the warehouse writer exactly as in a job; the figures printed (one JSON line) are the ones the
materialization records for the UI, plus the step's duration and this process's memory: its
resident set after importing its modules, and its peak (VmHWM) when the load is done.
"""

import argparse
import json

import dagster as dg

from taxi_assets.assets import TRIPS
from taxi_assets.mechanics.months import parse_month
from taxi_assets.resources import DataLake, WarehouseResource


def _status_mb(field: str) -> float:
    """A memory figure of this process from /proc/self/status (VmRSS, VmHWM), in MB."""
    with open("/proc/self/status") as status:
        for line in status:
            if line.startswith(field + ":"):
                return int(line.split()[1]) / 1024
    raise RuntimeError(f"{field} not in /proc/self/status")


def _step_seconds(result: dg.ExecuteInProcessResult) -> float:
    """The step's own duration, as the run log and the UI show it."""
    success = next(e for e in result.all_events if e.event_type == dg.DagsterEventType.STEP_SUCCESS)
    return round(success.event_specific_data.duration_ms / 1000, 3)  # type: ignore[union-attr]


def load_month(month: str, lake: str, pg_url: str, schema: str, dataset: str = "yellow") -> dict:
    """Materialize the dataset's warehouse asset for `month` and return the figures.

    A Parquet month's reader (pyarrow) is imported before the footprint is taken: it is one of
    the process's imports, only deferred until such a month loads."""
    spec = TRIPS[dataset].spec
    if DataLake(root=lake).lake().month_file(spec, parse_month(month)).parquet:
        import taxi_assets.mechanics.parquet  # noqa: F401
    rss_after_imports = _status_mb("VmRSS")
    postgres = WarehouseResource(url=pg_url, schema_name=schema)
    asset = TRIPS[dataset].warehouse
    result = dg.materialize(
        [asset],
        partition_key=month,
        resources={"lake": DataLake(root=lake), "warehouse": postgres},
    )
    metadata = result.asset_materializations_for_node(asset.node_def.name)[0].metadata
    peak = _status_mb("VmHWM")
    return {
        "rows": metadata["dagster/row_count"].value,
        "load_seconds": metadata["load_seconds"].value,
        "rows_per_second": metadata["rows_per_second"].value,
        "step_seconds": _step_seconds(result),
        "rss_after_imports_mb": round(rss_after_imports, 1),
        "peak_rss_mb": round(peak, 1),
        "rss_growth_mb": round(peak - rss_after_imports, 1),
    }


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    for name in ("--month", "--lake", "--pg", "--schema"):
        parser.add_argument(name, required=True)
    parser.add_argument("--dataset", default="yellow")
    args = parser.parse_args()
    print(json.dumps(load_month(args.month, args.lake, args.pg, args.schema, args.dataset)))


if __name__ == "__main__":
    main()
