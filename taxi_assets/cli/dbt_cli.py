"""`python -m taxi_assets.dbt_cli <dbt arguments>`: dbt's own CLI against the loads' warehouse.

For learners who want `dbt build`, `dbt test` or `dbt docs generate` themselves. The connection
comes from the same settings as the loads (TAXI_PG_URL, TAXI_PG_SCHEMA; with neither, the
embedded server is started and kept up while dbt runs), through a profile written for this
command alone (taxi_assets/analytics/project.py). Build one file month with
`--vars '{month: 2021-03}'`; without it every month is read (a full rebuild).
"""

import os
import subprocess
import sys

from taxi_assets.analytics.project import dbt_executable, project_dir, warehouse_profile
from taxi_assets.resources import WarehouseResource


def run(arguments: list[str]) -> int:
    """Run dbt with `arguments` in the project folder; return its exit code."""
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
    sys.exit(run(sys.argv[1:] or ["--help"]))


if __name__ == "__main__":
    main()
