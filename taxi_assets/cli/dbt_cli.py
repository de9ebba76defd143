"""`python -m taxi_assets.dbt_cli <dbt arguments>`: dbt's own CLI against the loads' warehouse.

For learners who want `dbt build`, `dbt test` or `dbt docs generate` themselves. The connection
comes from the same settings as the loads (TAXI_PG_URL, TAXI_PG_SCHEMA; with neither, the
embedded server is started and kept up while dbt runs), through a profile written for this
command alone (taxi_assets/analytics/project.py). Build one file month with
`--vars '{month: 2021-03}'`; without it every month is read (a full rebuild).
`--full-refresh` with a month is refused before dbt starts: it would rebuild the tables from
that month alone.
"""

import os
import subprocess
import sys

import yaml

from taxi_assets.analytics.project import dbt_executable, project_dir, warehouse_profile
from taxi_assets.mechanics.errors import TaxiError
from taxi_assets.resources import WarehouseResource

FULL_REFRESH_OF_A_MONTH = (
    "--full-refresh rebuilds every month from scratch and cannot be limited to {months}: build "
    "the month without --full-refresh (it replaces that month's rows exactly), or run "
    "--full-refresh without naming a month"
)


def named_months(arguments: list[str]) -> str | None:
    """The months `--vars` names (`{month: ...}`), or None."""
    for index, argument in enumerate(arguments):
        given = None
        if argument == "--vars" and index + 1 < len(arguments):
            given = arguments[index + 1]
        elif argument.startswith("--vars="):
            given = argument.split("=", 1)[1]
        if given is not None:
            parsed = yaml.safe_load(given)
            month = parsed.get("month") if isinstance(parsed, dict) else None
            if month not in (None, "", []):
                return ", ".join(map(str, month)) if isinstance(month, list) else str(month)
    return os.environ.get("TAXI_DBT_MONTHS") or None


def run(arguments: list[str]) -> int:
    """Run dbt with `arguments` in the project folder; return its exit code."""
    months = named_months(arguments)
    if "--full-refresh" in arguments and months:
        sys.stderr.write(f"dbt_cli: {FULL_REFRESH_OF_A_MONTH.format(months=months)}\n")
        return 2
    folder = str(project_dir())
    warehouse = WarehouseResource()
    with warehouse_profile(warehouse.target_url(), warehouse.warehouse_schema) as profiles:
        env = {
            **os.environ,
            "DBT_PROJECT_DIR": folder,
            "DBT_PROFILES_DIR": str(profiles),
            "DBT_SEND_ANONYMOUS_USAGE_STATS": "false",
        }
        done = subprocess.run([dbt_executable(), *arguments], env=env, cwd=folder, check=False)
    return done.returncode


def main() -> None:
    try:
        sys.exit(run(sys.argv[1:] or ["--help"]))
    except TaxiError as error:  # a setting refused before dbt starts: its message, no traceback
        sys.stderr.write(f"dbt_cli: {error}\n")
        sys.exit(2)


if __name__ == "__main__":
    main()
