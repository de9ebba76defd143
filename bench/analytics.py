"""The course's analytics over a loaded course set: month by month through Dagster against one
`dbt build --full-refresh`, on the same warehouse, in the same run (`python -m bench.scale
--analytics`).

Month by month is what a deployment does: the zones loaded (untimed), the dimensions, then the
month models over the loaded range as ranged `dagster asset materialize` runs (one run and one
dbt build each: FHV's staging over FHV's months, the other month models over yellow's and
green's). The full refresh is dbt's
own one-shot build of the whole project (`python -m taxi_assets.dbt_cli build --full-refresh`).
Each is timed as its commands' wall time; the ratio is month by month over the full refresh.
"""

import subprocess
import sys
import time
from collections.abc import Mapping, Sequence
from pathlib import Path

from bench.stats import load_average

DAGSTER = str(Path(sys.executable).with_name("dagster"))
DIMENSIONS = "dim_zones,payment_type_lookup"
TRIP_MODELS = (
    "stg_yellow_tripdata,stg_green_tripdata,int_trips_unioned,int_trips,fct_trips,"
    "fct_monthly_zone_revenue"
)


def _timed(commands: Sequence[list[str]], env: Mapping[str, str], cwd: str) -> float:
    started = time.monotonic()
    for command in commands:
        done = subprocess.run(command, env=dict(env), cwd=cwd, capture_output=True, text=True)
        if done.returncode != 0:
            raise RuntimeError(
                f"{' '.join(command)} failed:\n{done.stdout[-3000:]}{done.stderr[-3000:]}"
            )
    return round(time.monotonic() - started, 2)


def _materialize(select: str, months: Sequence[str] | None = None) -> list[str]:
    command = [DAGSTER, "asset", "materialize", "-m", "taxi_assets.analytics", "--select", select]
    if months:
        command += ["--partition-range", f"{months[0]}...{months[-1]}"]
    return command


def measure(env: Mapping[str, str], cwd: str, months: Mapping[str, Sequence[str]]) -> dict:
    """Month by month, then the full refresh, on the warehouse `env` names."""
    trips = sorted(set(months.get("yellow", [])) | set(months.get("green", [])))
    monthly = [_materialize(DIMENSIONS)]
    if trips:
        monthly.append(_materialize(TRIP_MODELS, trips))
    if months.get("fhv"):
        monthly.append(_materialize("stg_fhv_tripdata", sorted(months["fhv"])))
    zones = [DAGSTER, "asset", "materialize", "-m", "taxi_assets", "--select", "taxi_zones"]
    _timed([zones], env, cwd)  # a load, not analytics: untimed
    before = load_average()
    month_by_month = _timed(monthly, env, cwd)
    full = [sys.executable, "-m", "taxi_assets.dbt_cli", "build", "--full-refresh"]
    full_refresh = _timed([full], env, cwd)
    return {
        "month_by_month_seconds": month_by_month,
        "full_refresh_seconds": full_refresh,
        "ratio": round(month_by_month / full_refresh, 3),
        "load_average_before": before,
        "load_average_after": load_average(),
    }
