"""Backfills launched through GraphQL (`launchPartitionBackfill`, what the UI's dialog sends) and
executed by a real `dagster-daemon` on a Postgres-backed instance."""

import contextlib
from collections.abc import Iterator
from pathlib import Path

import dagster as dg
import psycopg
import pytest
from psycopg import sql

from taxi_assets.assets import raw_csv, yellow_taxi
from tests.conftest import MONTH_ROWS, TEST_PG_URL, count_rows
from tests.dagster_stack import DagsterStack, running_stack, wait_for
from tests.instance_events import latest_metadata_by_month

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


def table_oid(schema: str, table: str) -> int | None:
    """The table's OID: a month that was replaced gets a new one."""
    with psycopg.connect(TEST_PG_URL) as conn:
        name = sql.Identifier(schema, table).as_string(conn)
        return conn.execute("SELECT to_regclass(%s)::oid", (name,)).fetchone()[0]  # type: ignore[index]


def staging_tables(schema: str) -> list[str]:
    with psycopg.connect(TEST_PG_URL) as conn:
        query = "SELECT tablename FROM pg_tables WHERE schemaname = %s AND tablename LIKE %s"
        return [row[0] for row in conn.execute(query, (schema, "%staging%"))]


def swap_is_waiting() -> bool:
    """True while a taxi_assets session waits for a table lock (the swap behind the reader)."""
    with psycopg.connect(TEST_PG_URL) as conn:
        query = (
            "SELECT count(*) FROM pg_stat_activity "
            "WHERE application_name = 'taxi_assets' AND wait_event_type = 'Lock'"
        )
        return conn.execute(query).fetchone()[0] > 0  # type: ignore[index]


@contextlib.contextmanager
def reader_holding(schema: str, table: str) -> Iterator[None]:
    """A long report query's lock on the table: the month's swap must wait for it."""
    with psycopg.connect(TEST_PG_URL) as conn, conn.transaction():
        conn.execute(
            sql.SQL("LOCK TABLE {} IN ACCESS SHARE MODE").format(sql.Identifier(schema, table))
        )
        yield


def test_a_graphql_backfill_lands_every_month_exact(stack: DagsterStack, pg_schema: str) -> None:
    backfill_id = stack.api.launch_backfill(MONTHS, title="three months")
    assert stack.wait_for_backfill(backfill_id) == "COMPLETED_SUCCESS", stack.log_tail()
    runs = backfill_runs(stack, backfill_id)
    assert [run.status for run in runs] == [dg.DagsterRunStatus.SUCCESS]  # single_run policy
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
    with reader_holding(pg_schema, "yellow_taxi_2021_02"):  # February's swap must wait
        backfill_id = stack.api.launch_backfill(MONTHS, "to cancel", run_config=PATIENT_LOCKS)
        wait_for(lambda: swap_is_waiting(), 300, stack)
        stack.api.cancel_backfill(backfill_id)
        assert stack.wait_for_backfill(backfill_id) == "CANCELED"
    assert count_rows(pg_schema, "yellow_taxi_2021_01") == MONTH_ROWS["2021-01"]
    assert table_oid(pg_schema, "yellow_taxi_2021_02") == earlier_february  # rolled back
    assert table_oid(pg_schema, "yellow_taxi_2021_03") is None
    assert staging_tables(pg_schema) == []
    january = table_oid(pg_schema, "yellow_taxi_2021_01")

    retry_id = stack.api.reexecute_from_failure(backfill_id)
    assert stack.wait_for_backfill(retry_id) == "COMPLETED_SUCCESS", stack.log_tail()
    assert materialized_by(stack, retry_id) == {
        ("yellow_taxi", "2021-02"),
        ("yellow_taxi", "2021-03"),
    }
    assert table_oid(pg_schema, "yellow_taxi_2021_01") == january  # not loaded again
    for month, rows in MONTH_ROWS.items():
        assert count_rows(pg_schema, f"yellow_taxi_{month.replace('-', '_')}") == rows
