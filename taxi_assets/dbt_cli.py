"""`python -m taxi_assets.dbt_cli <dbt arguments>`: dbt's own CLI against the loads' warehouse.

For learners who want `dbt build`, `dbt test` or `dbt docs generate` themselves. The connection
comes from the same settings as the loads (TAXI_PG_URL, TAXI_PG_SCHEMA; with neither, the
embedded server is started and kept up while dbt runs); the password reaches dbt only as a
DBT_ENV_SECRET_ variable. Build one file month with `--vars '{month: 2021-03}'`; without it
every month is read (a full rebuild).
"""

import os
import subprocess
import sys

from taxi_assets.dbt_project import PASSWORD_ENV, connection_env, dbt_executable, project_dir
from taxi_assets.resources import PostgresResource


def run(arguments: list[str]) -> int:
    """Run dbt with `arguments` in the project folder; return its exit code."""
    folder = str(project_dir())
    inherited = {k: v for k, v in os.environ.items() if k != PASSWORD_ENV}
    env = {
        **inherited,
        **connection_env(PostgresResource()),
        "DBT_PROJECT_DIR": folder,
        "DBT_PROFILES_DIR": folder,
        "DBT_SEND_ANONYMOUS_USAGE_STATS": "false",
    }
    done = subprocess.run([dbt_executable(), *arguments], env=env, cwd=folder, check=False)
    return done.returncode


def main() -> None:
    sys.exit(run(sys.argv[1:] or ["--help"]))


if __name__ == "__main__":
    main()
