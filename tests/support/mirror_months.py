"""The months the session's loopback mirror serves, and their sizes: what loads must count."""

from taxi_assets.datasets import FHV, GREEN

MONTH_ROWS = {"2021-01": 3_000, "2021-02": 2_500, "2021-03": 4_000}  # yellow
# Green and FHV months in the mirror; FHV's 2019 and 2020 files carry different headers.
DATASET_ROWS = {
    (GREEN, "2019-10"): 1_500,
    (GREEN, "2019-11"): 1_200,
    (GREEN, "2021-01"): 3_000,
    (GREEN, "2021-02"): 2_500,
    (FHV, "2019-12"): 2_000,
    (FHV, "2020-01"): 1_800,
}
