"""The instance's pools, and their limits created before the daemon's first pass.

With run granularity (dagster.yaml) a queued run starts only while every pool it uses has a
free slot. Dagster creates a pool's limit (from `default_limit`) the first time its run queue
sees a run using the pool, but the pass that creates it reads the configured pools before, so
that pass does not count the pool at all (dagster 1.13, queued_run_coordinator_daemon): two
runs queued together on a fresh instance both start. Creating the limits before the daemon
starts closes that window. They stay "from the default": a new `default_limit` still applies.

    python -m taxi_assets.shared.pools   # with DAGSTER_HOME set, before dagster-daemon runs
"""

import sys

import dagster as dg

WAREHOUSE_POOL = "taxi_warehouse"
"""Every load step's pool: one load run at a time, like Airflow's max_active_runs=1."""
ANALYTICS_POOL = "taxi_analytics"
"""Every dbt step's pool: analytics runs queue behind each other, never in front of a load."""
POOLS = (WAREHOUSE_POOL, ANALYTICS_POOL)


def create_pool_limits(instance: dg.DagsterInstance) -> dict[str, int | None]:
    """Give each pool its limit from the instance's default unless it has one; the limits."""
    storage = instance.event_log_storage
    for pool in POOLS:
        storage.initialize_concurrency_limit_to_default(pool)
    return {pool: storage.get_concurrency_info(pool).slot_count for pool in POOLS}


def main() -> None:
    with dg.DagsterInstance.get() as instance:
        for pool, limit in create_pool_limits(instance).items():
            sys.stdout.write(f"pool {pool}: limit {limit}\n")


if __name__ == "__main__":
    main()
