"""How a Dagster step runs dbt: quickly, against the loads' warehouse, for the months it builds.

A month's models are seconds of SQL; what used to dominate a step was around dbt: dagster-dbt
asks `dbt --version` in a subprocess and opens a dbt adapter in the step's own process before
every invocation, and dbt parsed the whole project again on each run (`--vars` changed with the
month, and the profile differed from the one the install parsed with). Here:

- `TaxiDbtCli` reads the installed dbt-core's version from its package metadata and opens no
  adapter in the step (dagster-dbt uses it only for optional column and row-count metadata);
- the months reach dbt in `TAXI_DBT_MONTHS`, read only while dbt executes (taxi_dbt/macros/
  month.sql), so the parse does not depend on them;
- dbt's partial-parse file is kept per warehouse profile (`partial_parse_cache`), so every run
  after the first on a warehouse parses only what changed.

Both overrides are private dagster-dbt methods; tests/test_dbt_invocation.py pins them.
"""

import contextlib
import hashlib
import importlib.metadata
import json
import os
import shutil
import tempfile
import threading
from collections.abc import Iterator, Mapping, Sequence
from functools import cached_property
from pathlib import Path

from dagster_dbt import DbtCliResource
from dagster_dbt.core.dbt_cli_invocation import PARTIAL_PARSE_FILE_NAME
from packaging import version

from taxi_assets.analytics.project import connection_profile

MONTHS_ENV = "TAXI_DBT_MONTHS"
# dbt's tests of a model also select tests on other models that compare with it (relationships);
# "buildable" runs a test only when everything it reads is selected or built before it, so a
# dim_zones build never tests fct_trips (which may not exist yet).
INDIRECT_SELECTION = "buildable"
_ENVIRONMENT_LOCK = threading.Lock()


class TaxiDbtCli(DbtCliResource):
    """dagster-dbt's dbt CLI resource without its per-invocation start-up work."""

    @cached_property
    def _cli_version(self) -> version.Version:
        return version.parse(importlib.metadata.version("dbt-core"))

    def _initialize_dbt_core_adapter(self, args: Sequence[str]):  # type: ignore[override]
        return None


def with_profiles(dbt: DbtCliResource, profiles: Path) -> TaxiDbtCli:
    """The same dbt, reading the warehouse's profile from `profiles` (a folder of this step)."""
    return TaxiDbtCli(
        project_dir=dbt.project_dir,
        profiles_dir=str(profiles),
        dbt_executable=dbt.dbt_executable,
        global_config_flags=dbt.global_config_flags,
    )


@contextlib.contextmanager
def dbt_environment(months: Sequence[str]) -> Iterator[None]:
    """TAXI_DBT_MONTHS and dbt's indirect selection for the dbt process started inside.

    dagster-dbt gives the dbt process a copy of this process's environment and takes no other;
    the variables are set only while the process starts (a run worker runs one step at a time)
    and restored right after.
    """
    wanted = {MONTHS_ENV: ",".join(months), "DBT_INDIRECT_SELECTION": INDIRECT_SELECTION}
    with _ENVIRONMENT_LOCK:
        before = {name: os.environ.get(name) for name in wanted}
        os.environ.update(wanted)
        try:
            yield
        finally:
            for name, value in before.items():
                if value is None:
                    os.environ.pop(name, None)
                else:
                    os.environ[name] = value


def profile_key(url: str, schema: str) -> str:
    """What dbt's partial parse depends on in the profile (its connection fields, not the
    password) and the dbt version, as a file name."""
    output = connection_profile(url, schema)["taxi_dbt"]["outputs"]["warehouse"]
    fields = {name: value for name, value in output.items() if name != "password"}
    fields["dbt"] = importlib.metadata.version("dbt-core")
    return hashlib.sha256(json.dumps(fields, sort_keys=True).encode()).hexdigest()[:24]


@contextlib.contextmanager
def partial_parse_cache(project_target: Path, key: str, run_target: Path) -> Iterator[None]:
    """Seed `run_target` with the partial-parse file dbt left for this profile, and keep the
    one this run leaves. A missing or unwritable cache only costs a full parse."""
    cached = project_target / "partial_parse" / f"{key}.msgpack"
    used = run_target / PARTIAL_PARSE_FILE_NAME
    if cached.is_file():
        run_target.mkdir(parents=True, exist_ok=True)
        shutil.copyfile(cached, used)
    seeded = used.stat().st_mtime_ns if used.is_file() else None
    yield
    if not used.is_file() or used.stat().st_mtime_ns == seeded:
        return
    with contextlib.suppress(OSError):  # a read-only project (an image) keeps no cache
        cached.parent.mkdir(parents=True, exist_ok=True)
        with tempfile.NamedTemporaryFile(dir=cached.parent, delete=False) as handle:
            temporary = Path(handle.name)
        shutil.copyfile(used, temporary)
        os.replace(temporary, cached)


def failures(results: Mapping) -> str:
    """What dbt reported for each failed node (compile errors name the missing month)."""
    failed = [
        r
        for r in results.get("results", [])
        if r.get("status") in ("error", "fail", "runtime error")
    ]
    return "; ".join(f"{r['unique_id']}: {' '.join(str(r.get('message')).split())}" for r in failed)
