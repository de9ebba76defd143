"""The course's dbt project (taxi_dbt/) as dagster-dbt's `DbtProject`, and how dbt reaches
the loads' warehouse.

The manifest is prepared at install and in the image (`dagster-dbt project prepare-and-package
--file taxi_assets/analytics/project.py`, with the venv's `dbt` on PATH), or by
`prepare_if_dev()` under `dagster dev`; nothing else runs when the code location loads.
Importing this file builds no definitions (the dagster-dbt CLI above loads it by path).

dbt connects with the loads' own settings (TAXI_PG_URL, TAXI_PG_SCHEMA, or the embedded
server): each dbt invocation gets a profiles folder of its own, made for it and removed after it
(`warehouse_profile`), so no process-wide environment is changed and a password is never in a
variable, a log or dbt's target/.
"""

import contextlib
import json
import os
import shutil
import sys
import tempfile
from collections.abc import Iterator
from pathlib import Path

from dagster_dbt import DbtProject
from psycopg.conninfo import conninfo_to_dict

from taxi_assets.mechanics.credentials import masked_url
from taxi_assets.mechanics.errors import TaxiError

PROJECT_DIR_ENV = "TAXI_DBT_PROJECT_DIR"
PROFILE = "taxi_dbt"


def project_dir() -> Path:
    """The dbt project: $TAXI_DBT_PROJECT_DIR (the image), else taxi_dbt/ of the checkout."""
    configured = os.environ.get(PROJECT_DIR_ENV)
    here = Path(__file__).resolve().parent.parent.parent / "taxi_dbt"
    folder = Path(configured) if configured else here
    if not (folder / "dbt_project.yml").is_file():
        raise TaxiError(
            f"no dbt project at {folder} (dbt_project.yml missing): set {PROJECT_DIR_ENV} to "
            "the taxi_dbt folder of the checkout"
        )
    return folder


def dbt_executable() -> str:
    """The venv's own dbt, beside this Python: found even when the venv is not on PATH."""
    beside = Path(sys.executable).parent / "dbt"
    if beside.is_file():
        return str(beside)
    found = shutil.which("dbt")
    if found is None:
        raise TaxiError("the dbt executable is not installed beside Python nor on PATH")
    return found


TAXI_DBT = DbtProject(project_dir=project_dir(), profiles_dir=project_dir())
"""The project; its `profiles.yml` serves dbt's own parse and CLI (docs/dbt.md)."""


def connection_profile(url: str, schema: str) -> dict:
    """The dbt-postgres output for the warehouse at `url`, schema `schema`."""
    try:
        params = conninfo_to_dict(url)
    except Exception:  # libpq's message may quote the password: withheld
        raise TaxiError(
            f"dbt cannot use the warehouse URL {masked_url(url)}: libpq cannot parse it; "
            "check TAXI_PG_URL (percent-encode reserved characters)"
        ) from None
    output = {
        "type": "postgres",
        "host": str(params.get("host") or "localhost"),
        "port": int(params.get("port") or 5432),
        "user": str(params.get("user") or os.environ.get("USER", "postgres")),
        "password": str(params.get("password") or ""),
        "dbname": str(params.get("dbname") or params.get("user") or "postgres"),
        "schema": schema,
        "sslmode": str(params.get("sslmode") or "prefer"),
        "threads": 2,
        "connect_timeout": 10,
    }
    return {PROFILE: {"target": "warehouse", "outputs": {"warehouse": output}}}


@contextlib.contextmanager
def warehouse_profile(url: str, schema: str) -> Iterator[Path]:
    """A private folder holding a `profiles.yml` for this warehouse, removed afterwards.

    The file is JSON (a subset of YAML dbt reads), mode 0600 in a 0700 folder: the password
    stays out of the environment, the command line and dbt's logs.
    """
    with tempfile.TemporaryDirectory(prefix="taxi-dbt-profile-") as folder:
        path = Path(folder) / "profiles.yml"
        descriptor = os.open(path, os.O_WRONLY | os.O_CREAT | os.O_EXCL, 0o600)
        with os.fdopen(descriptor, "w") as handle:
            json.dump(connection_profile(url, schema), handle)
        yield Path(folder)


def prepare_if_missing(project: DbtProject = TAXI_DBT) -> None:
    """Parse the project when its manifest does not exist yet: a checkout where only
    `pip install -e .` ran. Processes starting at once parse one at a time (dagster's own
    concurrent-update guard, as dagster-dbt's preparer uses); with a manifest this does nothing.
    """
    if project.manifest_path.exists():
        return
    from dagster._utils import run_with_concurrent_update_guard
    from dagster_dbt import DbtCliResource

    def parse(**_: object) -> None:
        dbt = DbtCliResource(project_dir=project, dbt_executable=dbt_executable())
        dbt.cli(["parse", "--quiet"], target_path=project.target_path).wait()

    run_with_concurrent_update_guard(project.manifest_path, parse)
