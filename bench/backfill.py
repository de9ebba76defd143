"""Backfill throughput: three months' runs, N at a time, as the run queue would launch them.

Each month is its own `dagster job execute` run (download from the loopback mirror, then load),
like a multi-run backfill; a pool of N launchers plays `max_concurrent_runs: N`, and the
instance's `taxi_warehouse` pool limit is set to `pool_limit`.
"""

import concurrent.futures
import tempfile
import time
from pathlib import Path

from bench.methods import Target, dagster_home, execute_job, job_env
from bench.workspace import fresh_schema

BACKFILL_SCHEMA = "platform_backfill"
_INSTANCE_YAML = """\
concurrency:
  runs:
    max_concurrent_runs: {runs}
  pools:
    default_limit: {pool_limit}
    granularity: op
telemetry:
  enabled: false
"""


def backfill(target: Target, months: list[str], runs: int, pool_limit: int) -> dict:
    """Wall time of the whole backfill and of each month's run."""
    fresh_schema(target.db_url, BACKFILL_SCHEMA)
    with tempfile.TemporaryDirectory(dir=target.workdir) as scratch:
        home = dagster_home(Path(scratch), _INSTANCE_YAML.format(runs=runs, pool_limit=pool_limit))
        env = job_env(target, home, Path(scratch) / "lake", BACKFILL_SCHEMA)
        started = time.monotonic()
        with concurrent.futures.ThreadPoolExecutor(max_workers=runs) as launcher:
            per_month = dict(
                zip(months, launcher.map(lambda m: execute_job(m, env), months), strict=True)
            )
        total = time.monotonic() - started
    return {
        "runs_at_a_time": runs,
        "pool_limit": pool_limit,
        "seconds": round(total, 3),
        "per_month_seconds": {m: round(s, 3) for m, s in per_month.items()},
    }
