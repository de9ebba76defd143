"""Where the dbt project lives, how dbt reaches the warehouse, and its parsed manifest.

dbt connects from the loads' own settings (TAXI_PG_URL, TAXI_PG_SCHEMA, or the embedded
server): `connection_env` turns the warehouse resource into the variables taxi_dbt/profiles.yml
reads. The password travels only as DBT_ENV_SECRET_TAXI_PG_PASSWORD, which dbt masks in its
logs and never writes to target/.

Nothing here imports dbt or dagster-dbt: the manifest is made by running the `dbt` executable.
"""

import contextlib
import fcntl
import os
import shutil
import subprocess
import sys
import tempfile
from collections.abc import Iterator, Mapping
from pathlib import Path

from psycopg.conninfo import conninfo_to_dict

from taxi_assets.credentials import masked_url
from taxi_assets.errors import TaxiError
from taxi_assets.resources import PostgresResource

PROJECT_DIR_ENV = "TAXI_DBT_PROJECT_DIR"
PASSWORD_ENV = "DBT_ENV_SECRET_TAXI_PG_PASSWORD"
_CONNECTION_NAMES = ("HOST", "PORT", "USER", "DBNAME", "SCHEMA", "SSLMODE")
# What `dbt parse` needs to render profiles.yml; parsing never connects.
_PARSE_ONLY_ENV = {
    "TAXI_DBT_HOST": "localhost",
    "TAXI_DBT_PORT": "5432",
    "TAXI_DBT_USER": "postgres",
    "TAXI_DBT_DBNAME": "postgres",
    "TAXI_DBT_SCHEMA": "public",
}
_SOURCES = ("dbt_project.yml", "models", "macros", "seeds", "tests")
# dbt's sessions sort and hash a month's trips (int_trips' duplicates, the unique trip_id test,
# the mart's groups): with Postgres' default 4 MB they spill to disk. Per sort or hash node.
DBT_SESSION_OPTIONS = "-c work_mem=256MB"


def project_dir() -> Path:
    """The dbt project: $TAXI_DBT_PROJECT_DIR, else taxi_dbt/ beside the package (a checkout)."""
    configured = os.environ.get(PROJECT_DIR_ENV)
    folder = Path(configured) if configured else Path(__file__).resolve().parent.parent / "taxi_dbt"
    if not (folder / "dbt_project.yml").is_file():
        raise TaxiError(
            f"no dbt project at {folder} (dbt_project.yml missing): set {PROJECT_DIR_ENV} to "
            "the taxi_dbt folder of the checkout"
        )
    return folder


def manifest_path() -> Path:
    return project_dir() / "target" / "manifest.json"


def dbt_executable() -> str:
    """The venv's own dbt, beside this Python: found even when the venv is not on PATH."""
    beside = Path(sys.executable).parent / "dbt"
    if beside.is_file():
        return str(beside)
    found = shutil.which("dbt")
    if found is None:
        raise TaxiError("the dbt executable is not installed beside Python nor on PATH")
    return found


def connection_env(postgres: PostgresResource) -> dict[str, str]:
    """The variables profiles.yml reads, for the warehouse the loads use (may start it)."""
    try:
        params = conninfo_to_dict(postgres.target_url())
    except Exception:  # libpq's message may quote the password: withheld
        raise TaxiError(
            f"dbt cannot use the warehouse URL {masked_url(postgres.target_url())}: libpq cannot "
            "parse it; check TAXI_PG_URL (percent-encode reserved characters)"
        ) from None
    env = {
        "TAXI_DBT_HOST": str(params.get("host") or "localhost"),
        "TAXI_DBT_PORT": str(params.get("port") or "5432"),
        "TAXI_DBT_USER": str(params.get("user") or os.environ.get("USER", "postgres")),
        "TAXI_DBT_DBNAME": str(params.get("dbname") or params.get("user") or "postgres"),
        "TAXI_DBT_SCHEMA": postgres.warehouse_schema,
        "TAXI_DBT_SSLMODE": str(params.get("sslmode") or "prefer"),
        # libpq reads PGOPTIONS when dbt's adapter connects
        "PGOPTIONS": f"{os.environ.get('PGOPTIONS', '')} {DBT_SESSION_OPTIONS}".strip(),
    }
    if params.get("password"):
        env[PASSWORD_ENV] = str(params["password"])
    return env


@contextlib.contextmanager
def environment(values: Mapping[str, str]) -> Iterator[None]:
    """os.environ with `values` set (a dbt subprocess inherits them), restored afterwards.

    Connection variables not in `values` are removed for the duration, so a stale password from
    the caller's environment never reaches dbt.
    """
    names = {f"TAXI_DBT_{n}" for n in _CONNECTION_NAMES} | {PASSWORD_ENV, *values}
    saved = {name: os.environ.get(name) for name in names}
    try:
        for name in names:
            os.environ.pop(name, None)
        os.environ.update(values)
        yield
    finally:
        for name, value in saved.items():
            if value is None:
                os.environ.pop(name, None)
            else:
                os.environ[name] = value


def _newest_source_mtime(folder: Path) -> float:
    newest = 0.0
    for name in _SOURCES:
        path = folder / name
        paths = [path] if path.is_file() else path.rglob("*") if path.is_dir() else []
        newest = max([newest, *(p.stat().st_mtime for p in paths if p.is_file())])
    return newest


def manifest_is_current() -> bool:
    manifest = manifest_path()
    return manifest.is_file() and manifest.stat().st_mtime >= _newest_source_mtime(project_dir())


def ensure_manifest() -> Path:
    """The parsed manifest, running `dbt parse` first when it is missing or older than the project.

    Processes loading the definitions at once parse one after the other (a file lock), each
    into its own folder, and the manifest is renamed into place, so no reader sees half a file.
    """
    folder = project_dir()
    target = folder / "target"
    target.mkdir(exist_ok=True)
    with open(target / ".parse.lock", "w") as lock:
        fcntl.flock(lock, fcntl.LOCK_EX)
        if not manifest_is_current():
            with tempfile.TemporaryDirectory(dir=target, prefix="parse-") as scratch:
                _parse(folder, Path(scratch))
                os.replace(Path(scratch) / "manifest.json", target / "manifest.json")
    return target / "manifest.json"


def _parse(folder: Path, target_path: Path) -> None:
    env = {**os.environ, **_PARSE_ONLY_ENV, "DBT_SEND_ANONYMOUS_USAGE_STATS": "false"}
    command = [dbt_executable(), "parse", "--quiet", "--no-partial-parse"]
    command += ["--project-dir", str(folder), "--profiles-dir", str(folder)]
    command += ["--target-path", str(target_path), "--log-path", str(target_path)]
    done = subprocess.run(command, env=env, capture_output=True, text=True, check=False)
    if done.returncode != 0:
        raise TaxiError(f"dbt parse of {folder} failed:\n{done.stdout}{done.stderr}")


def main() -> None:
    """`python -m taxi_assets.dbt_project`: prepare the manifest (make install, the image)."""
    print(ensure_manifest())  # noqa: T201


if __name__ == "__main__":
    main()
