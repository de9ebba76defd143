"""The trip datasets' assets: for each, a month's file lands in the lake, then becomes a table.

Yellow keeps the lesson's names (`raw_csv`, `yellow_taxi`); green and FHV follow the pattern
(`green_raw_csv` -> `green_taxi`, `fhv_raw_csv` -> `fhv_taxi`). See datasets.py.
"""

from taxi_assets.asset_factory import RANGE_IN_ONE_RUN, WAREHOUSE_POOL, dataset_assets
from taxi_assets.datasets import FHV, GREEN, YELLOW

YELLOW_ASSETS = dataset_assets(YELLOW)
GREEN_ASSETS = dataset_assets(GREEN)
FHV_ASSETS = dataset_assets(FHV)
DATASET_ASSETS = (YELLOW_ASSETS, GREEN_ASSETS, FHV_ASSETS)

raw_csv, yellow_taxi = YELLOW_ASSETS.raw, YELLOW_ASSETS.warehouse
green_raw_csv, green_taxi = GREEN_ASSETS.raw, GREEN_ASSETS.warehouse
fhv_raw_csv, fhv_taxi = FHV_ASSETS.raw, FHV_ASSETS.warehouse

__all__ = ["RANGE_IN_ONE_RUN", "WAREHOUSE_POOL"]
