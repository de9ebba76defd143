"""The load assets the Definitions use: a raw and a warehouse asset for every dataset in
`DATASETS` (yellow keeps the lesson's `raw_csv` -> `yellow_taxi`; the others follow
`<name>_raw_csv` -> `<name>_taxi`), the zone lookup and the borough mart."""

from taxi_assets.datasets import DATASETS
from taxi_assets.marts.assets import daily_borough_trips
from taxi_assets.trips.slice import TripSlice, trip_slice
from taxi_assets.zones.assets import taxi_zones

TRIPS: dict[str, TripSlice] = {spec.name: trip_slice(spec) for spec in DATASETS}
"""Each dataset's assets, job and schedule, by dataset name."""

LOAD_ASSETS = [
    *(asset for trips in TRIPS.values() for asset in trips.assets),
    taxi_zones,
    daily_borough_trips,
]
