"""A code location for fault tests: the real assets and job, with test resources swapped in.

    dagster job execute -m taxi_testkit.fault_definitions -j yellow_taxi_job ...

- `warehouse` is the real warehouse resource, except that after a month is committed it
  creates the file named by $TAXI_FAULT_PAUSE_MARKER and sleeps, so a test can kill the
  process between the COMMIT and Dagster recording the materialization.
- `storm_job` downloads with step retries on, to bound a retry storm.

Nothing here is imported by taxi_assets: tests swap resources, never assets.
"""

import dataclasses
import time
from dataclasses import dataclass
from pathlib import Path

import dagster as dg
from pydantic import Field

from taxi_assets.assets import TRIPS
from taxi_assets.datasets import LESSON_DATASET
from taxi_assets.mechanics.writer import LoadStats, WarehouseWriter
from taxi_assets.resources import DataLake, TaxiSource, WarehouseResource

LESSON = TRIPS[LESSON_DATASET.name]
HTTP_ATTEMPTS = 3
STEP_RETRIES = 2


@dataclass(frozen=True)
class _PausingWriter(WarehouseWriter):
    pause_marker: str = ""
    pause_seconds: float = 120.0

    def replace_month(self, *args, **kwargs) -> LoadStats:  # type: ignore[no-untyped-def]
        stats = super().replace_month(*args, **kwargs)
        Path(self.pause_marker).touch()
        time.sleep(self.pause_seconds)
        return stats


class PauseAfterCommit(WarehouseResource):
    """The warehouse resource, holding still after a month's commit until the test kills it."""

    pause_marker: str = Field(description="File created once the month is committed.")
    pause_seconds: float = Field(default=120.0, description="How long to hold still.")

    def writer(self) -> WarehouseWriter:
        settings = dataclasses.asdict(super().writer())
        return _PausingWriter(
            **settings, pause_marker=self.pause_marker, pause_seconds=self.pause_seconds
        )


storm_job = dg.define_asset_job(
    "storm_job",
    selection=[LESSON.raw],
    executor_def=dg.in_process_executor,  # step retries without a new process each time
    op_retry_policy=dg.RetryPolicy(
        max_retries=STEP_RETRIES,
        delay=0.2,
        backoff=dg.Backoff.EXPONENTIAL,
        jitter=dg.Jitter.PLUS_MINUS,
    ),
)

defs = dg.Definitions(
    assets=list(LESSON.assets),
    jobs=[LESSON.job, storm_job],
    resources={
        "source": TaxiSource(max_attempts=HTTP_ATTEMPTS, first_backoff_seconds=0.05),
        "lake": DataLake(),
        "warehouse": PauseAfterCommit(pause_marker=dg.EnvVar("TAXI_FAULT_PAUSE_MARKER")),
    },
)
