"""Trip datasets: for each declaration in `taxi_assets.datasets`, its raw and warehouse
assets, checks, job and schedule."""
