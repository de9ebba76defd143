"""Backfills launched through GraphQL (`launchPartitionBackfill`, what the UI's dialog sends) and
executed by a real `dagster-daemon` on a Postgres-backed instance."""

from collections.abc import Iterator
from pathlib import Path

import dagster as dg
import pytest

from tests.support.dagster_stack import DagsterStack, running_stack, wait_until
from tests.support.instance_events import latest_metadata_by_month
from tests.support.mirror_months import MONTH_ROWS
from tests.support.postgres import count_rows
from tests.support.trips import raw_csv, yellow_taxi
from tests.support.warehouse_probes import blocked_by, reader_holding, staging_tables, table_oid

ASSETS = [raw_csv, yellow_taxi]
MONTHS = list(MONTH_ROWS)
# Long enough that the cancel, not the lock timeout, ends a load stuck behind a reader.
PATIENT_LOCKS = {"resources": {"warehouse": {"config": {"lock_timeout_seconds": 600}}}}
pytestmark = [pytest.mark.daemon, pytest.mark.slow]


@pytest.fixture
def stack(cli_env: dict[str, str], tmp_path: Path) -> Iterator[DagsterStack]:
    with running_stack(cli_env, tmp_path) as running:
        yield running


def backfill_runs(stack: DagsterStack, backfill_id: str) -> list[dg.DagsterRun]:
    with stack.instance() as instance:
        return list(instance.get_runs(dg.RunsFilter(tags={"dagster/backfill": backfill_id})))


def materialized_by(stack: DagsterStack, backfill_id: str) -> set[tuple[str, str | None]]:
    """(asset, month) of every materialization recorded by the backfill's runs."""
    run_ids = {run.run_id for run in backfill_runs(stack, backfill_id)}
    found = set()
    with stack.instance() as instance:
        for asset in ("raw_csv", "yellow_taxi"):
            records = instance.fetch_materializations(dg.AssetKey(asset), limit=1000).records
            found |= {(asset, r.partition_key) for r in records if r.run_id in run_ids}
    return found


def run_windows(stack: DagsterStack, *backfill_ids: str) -> list[tuple[float, float]]:
    """(start, end) of every run of the backfills, in start order."""
    run_ids = [run.run_id for b in backfill_ids for run in backfill_runs(stack, b)]
    with stack.instance() as instance:
        records = instance.get_run_records(dg.RunsFilter(run_ids=run_ids))
    return sorted((r.start_time or 0.0, r.end_time or 0.0) for r in records)


def test_graphql_backfills_land_every_month_exact_one_run_at_a_time(
    stack: DagsterStack, pg_schema: str
) -> None:
    backfill_id = stack.api.launch_backfill(MONTHS, title="three months")
    again = stack.api.launch_backfill(["2021-02"], title="February again")
    assert stack.wait_for_backfill(backfill_id) == "COMPLETED_SUCCESS", stack.log_tail()
    assert stack.wait_for_backfill(again) == "COMPLETED_SUCCESS", stack.log_tail()
    assert len(backfill_runs(stack, backfill_id)) == 1  # single_run policy: the range is one run
    (first, second) = run_windows(stack, backfill_id, again)
    assert first[1] <= second[0]  # one load run at a time (the pool), like max_active_runs=1
    with stack.instance() as instance:
        metadata = latest_metadata_by_month(instance, "yellow_taxi")
    for month, rows in MONTH_ROWS.items():
        assert count_rows(pg_schema, f"yellow_taxi_{month.replace('-', '_')}") == rows
        assert metadata[month]["dagster/row_count"] == rows


def test_a_cancelled_backfill_keeps_finished_months_and_retries_only_the_rest(
    stack: DagsterStack, pg_schema: str, resources: dict
) -> None:
    dg.materialize(ASSETS, partition_key="2021-02", resources=resources)  # an earlier load
    earlier_february = table_oid(pg_schema, "yellow_taxi_2021_02")
    with reader_holding(pg_schema, "yellow_taxi_2021_02") as reader:  # February's swap waits
        backfill_id = stack.api.launch_backfill(MONTHS, "to cancel", run_config=PATIENT_LOCKS)
        wait_until(lambda: bool(blocked_by(reader)), 300, stack)
        # Months load side by side: March starts when January is done, and commits.
        wait_until(lambda: table_oid(pg_schema, "yellow_taxi_2021_03") is not None, 300, stack)
        stack.cancel_backfill(backfill_id)
        assert stack.wait_for_backfill(backfill_id) == "CANCELED"
    assert [run.status for run in backfill_runs(stack, backfill_id)] == [
        dg.DagsterRunStatus.CANCELED
    ]
    assert count_rows(pg_schema, "yellow_taxi_2021_01") == MONTH_ROWS["2021-01"]
    assert table_oid(pg_schema, "yellow_taxi_2021_02") == earlier_february  # rolled back
    assert count_rows(pg_schema, "yellow_taxi_2021_03") == MONTH_ROWS["2021-03"]
    # February, stopped at its swap, may leave its detached staging table (the run's process
    # ends without its cleanup when it loaded in two streams); the retry replaces it.
    assert staging_tables(pg_schema) in ([], ["yellow_taxi_2021_02_staging"])
    assert count_rows(pg_schema, "yellow_taxi") == sum(MONTH_ROWS.values())
    january, march = (table_oid(pg_schema, f"yellow_taxi_2021_0{m}") for m in (1, 3))

    retry_id = stack.api.reexecute_from_failure(backfill_id)
    assert stack.wait_for_backfill(retry_id) == "COMPLETED_SUCCESS", stack.log_tail()
    assert materialized_by(stack, retry_id) == {("yellow_taxi", "2021-02")}
    assert table_oid(pg_schema, "yellow_taxi_2021_01") == january  # not loaded again
    assert table_oid(pg_schema, "yellow_taxi_2021_03") == march
    for month, rows in MONTH_ROWS.items():
        assert count_rows(pg_schema, f"yellow_taxi_{month.replace('-', '_')}") == rows
    assert staging_tables(pg_schema) == []  # the retry replaced February's leftover
