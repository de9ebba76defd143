"""Everything Dagster knows of one dataset, built from its declaration alone."""

from dataclasses import dataclass

import dagster as dg
from dagster._core.definitions.unresolved_asset_job_definition import UnresolvedAssetJobDefinition

from taxi_assets.mechanics.dataset_spec import DatasetSpec
from taxi_assets.trips.assets import dataset_assets
from taxi_assets.trips.jobs import dataset_job, monthly_schedule
from taxi_assets.trips.publication_sensor import WatchSettings, publication_sensor


@dataclass(frozen=True)
class TripSlice:
    """A dataset's raw and warehouse assets (with the warehouse asset's checks), job, schedule
    (the mirror's months) and sensor (the TLC's)."""

    spec: DatasetSpec
    raw: dg.AssetsDefinition
    warehouse: dg.AssetsDefinition
    job: UnresolvedAssetJobDefinition
    schedule: dg.ScheduleDefinition
    sensor: dg.SensorDefinition

    @property
    def assets(self) -> tuple[dg.AssetsDefinition, dg.AssetsDefinition]:
        return self.raw, self.warehouse


def trip_slice(spec: DatasetSpec) -> TripSlice:
    """Build the dataset's definitions from `spec`: nothing else is needed to add a dataset."""
    assets = dataset_assets(spec)
    job = dataset_job(assets)
    partitions = assets.warehouse.partitions_def
    assert partitions is not None  # every dataset is monthly
    schedule = monthly_schedule(spec, job, partitions)
    sensor = publication_sensor(assets, job, WatchSettings.from_environment())
    return TripSlice(spec, assets.raw, assets.warehouse, job, schedule, sensor)
