"""The load location's trip datasets under the names the tests speak of."""

from taxi_assets.assets import TRIPS

YELLOW_ASSETS, GREEN_ASSETS, FHV_ASSETS = TRIPS["yellow"], TRIPS["green"], TRIPS["fhv"]
raw_csv, yellow_taxi = YELLOW_ASSETS.raw, YELLOW_ASSETS.warehouse
yellow_taxi_job = YELLOW_ASSETS.job
