"""A code location for fault tests: the real assets and job, with test resources swapped in.

    dagster job execute -m taxi_testkit.fault_definitions -j yellow_taxi_job ...

- `warehouse` is the real Postgres IO manager, except that after a month is committed it
  creates the file named by $TAXI_FAULT_PAUSE_MARKER and sleeps, so a test can kill the
  process between the COMMIT and Dagster recording the materialization.
- `storm_job` downloads with step retries on, to bound a retry storm.

Nothing here is imported by taxi_assets: tests swap resources, never assets.
"""

import time
from collections.abc import Iterator
from pathlib import Path

import dagster as dg
from dagster._core.events import DagsterEvent
from pydantic import Field

from taxi_assets.assets import raw_csv, yellow_taxi
from taxi_assets.io_manager import PostgresIOManager
from taxi_assets.jobs import yellow_taxi_job
from taxi_assets.resources import DataLake, PostgresResource, TaxiSource

HTTP_ATTEMPTS = 3
STEP_RETRIES = 2


class PauseAfterCommit(PostgresIOManager):
    """The Postgres IO manager, holding still after the commit until the test kills it."""

    pause_marker: str = Field(description="File created once the month is committed.")
    pause_seconds: float = Field(default=120.0, description="How long to hold still.")

    def handle_output(self, context: dg.OutputContext, obj) -> Iterator[DagsterEvent]:  # type: ignore[override]
        yield from super().handle_output(context, obj)
        Path(self.pause_marker).touch()
        time.sleep(self.pause_seconds)


storm_job = dg.define_asset_job(
    "storm_job",
    selection=[raw_csv],
    executor_def=dg.in_process_executor,  # step retries without a new process each time
    op_retry_policy=dg.RetryPolicy(
        max_retries=STEP_RETRIES,
        delay=0.2,
        backoff=dg.Backoff.EXPONENTIAL,
        jitter=dg.Jitter.PLUS_MINUS,
    ),
)

defs = dg.Definitions(
    assets=[raw_csv, yellow_taxi],
    jobs=[yellow_taxi_job, storm_job],
    resources={
        "source": TaxiSource(max_attempts=HTTP_ATTEMPTS, first_backoff_seconds=0.05),
        "lake": DataLake(),
        "warehouse": PauseAfterCommit(
            postgres=PostgresResource(), pause_marker=dg.EnvVar("TAXI_FAULT_PAUSE_MARKER")
        ),
    },
)
