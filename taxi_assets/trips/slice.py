"""Everything Dagster knows of one dataset, built from its declaration alone."""

from dataclasses import dataclass

import dagster as dg
from dagster._core.definitions.partitions.partitioned_schedule import (
    UnresolvedPartitionedAssetScheduleDefinition,
)
from dagster._core.definitions.unresolved_asset_job_definition import UnresolvedAssetJobDefinition

from taxi_assets.mechanics.dataset_spec import DatasetSpec
from taxi_assets.trips.assets import dataset_assets
from taxi_assets.trips.jobs import dataset_job, monthly_schedule


@dataclass(frozen=True)
class TripSlice:
    """A dataset's raw and warehouse assets (with the warehouse asset's checks), job and
    schedule."""

    spec: DatasetSpec
    raw: dg.AssetsDefinition
    warehouse: dg.AssetsDefinition
    job: UnresolvedAssetJobDefinition
    schedule: UnresolvedPartitionedAssetScheduleDefinition

    @property
    def assets(self) -> tuple[dg.AssetsDefinition, dg.AssetsDefinition]:
        return self.raw, self.warehouse


def trip_slice(spec: DatasetSpec) -> TripSlice:
    """Build the dataset's definitions from `spec`: nothing else is needed to add a dataset."""
    assets = dataset_assets(spec)
    job = dataset_job(assets)
    return TripSlice(spec, assets.raw, assets.warehouse, job, monthly_schedule(job))
