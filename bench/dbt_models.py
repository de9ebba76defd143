"""(e) The dbt models of one file month, beside that month's load (c), in a process of its own.

    python -m bench.dbt_models --month 2021-03 --mirror URL --pg URL --schema S \
        --yellow-rows 1925152 --reps 2

The schema already holds the month's yellow trips (left there by (c)). Green and FHV months in
their published 2021-03 proportion to yellow are made in SQL, the zones loaded from the mirror,
then the dimensions built once and the month's models built `reps` times through Dagster as in a
run: the first build creates the tables, the next ones replace the month (the steady state).
Prints one JSON line: the step's seconds per build and dbt's own seconds per model.
"""

import argparse
import datetime as dt
import json

import dagster as dg

from taxi_assets.analytics.assets import dbt_cli_resource, taxi_dbt_dimensions, taxi_dbt_monthly
from taxi_assets.datasets import DATASETS
from taxi_assets.resources import TaxiSource, WarehouseResource
from taxi_assets.zones.assets import taxi_zones
from taxi_testkit import trip_tables

# Green and FHV rows per yellow row in 2021-03 (the mirror's CSVs: yellow 1,925,152, green
# 83,827, FHV about a million), so a smaller bench month keeps the proportions.
GREEN_PER_YELLOW = 83_827 / 1_925_152
FHV_PER_YELLOW = 1_000_000 / 1_925_152


def _step_seconds(result: dg.ExecuteInProcessResult) -> float:
    success = next(e for e in result.all_events if e.event_type == dg.DagsterEventType.STEP_SUCCESS)
    return round(success.event_specific_data.duration_ms / 1000, 3)  # type: ignore[union-attr]


def _model_seconds(result: dg.ExecuteInProcessResult) -> dict[str, float]:
    """dbt's own execution time of each model (materialization metadata)."""
    out = {}
    for materialization in result.get_asset_materialization_events():
        event = materialization.event_specific_data.materialization  # type: ignore[union-attr]
        duration = event.metadata.get("Execution Duration")
        if duration is not None:
            out[event.asset_key.to_user_string()] = round(float(duration.value), 3)
    return out


def measure(month: str, mirror_url: str, pg_url: str, schema: str, rows: int, reps: int) -> dict:
    green_rows, fhv_rows = round(rows * GREEN_PER_YELLOW), round(rows * FHV_PER_YELLOW)
    postgres = WarehouseResource(url=pg_url, schema_name=schema)
    resources = {"source": TaxiSource(base_url=mirror_url), "warehouse": postgres}
    resources["dbt"] = dbt_cli_resource()
    first = dt.datetime.strptime(month, "%Y-%m").date()
    specs = {spec.name: spec for spec in DATASETS}
    trip_tables.replace_month(pg_url, schema, specs["green"], first, green_rows)
    trip_tables.replace_month(pg_url, schema, specs["fhv"], first, fhv_rows)
    dg.materialize([taxi_zones], resources=resources)
    dimensions = dg.materialize([taxi_dbt_dimensions], resources=resources)
    builds = []
    for _ in range(reps):
        result = dg.materialize([taxi_dbt_monthly], partition_key=month, resources=resources)
        builds.append({"step_seconds": _step_seconds(result), "models": _model_seconds(result)})
    return {
        "green_rows": green_rows,
        "fhv_rows": fhv_rows,
        "dimensions_step_seconds": _step_seconds(dimensions),
        "builds": builds,
    }


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    for name in ("--month", "--mirror", "--pg", "--schema"):
        parser.add_argument(name, required=True)
    parser.add_argument("--yellow-rows", type=int, required=True, help="rows (c) loaded")
    parser.add_argument("--reps", type=int, default=2)
    args = parser.parse_args()
    figures = measure(args.month, args.mirror, args.pg, args.schema, args.yellow_rows, args.reps)
    print(json.dumps(figures))


if __name__ == "__main__":
    main()
