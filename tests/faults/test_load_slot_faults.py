"""A session that holds the warehouse's load slots for ever: loads wait a bounded time, then fail
naming who holds them (docs/failure-modes.md, The process and the database)."""

import time
from collections.abc import Iterator

import psycopg
import pytest

from taxi_assets.mechanics.errors import TaxiError
from taxi_assets.mechanics.load_slots import load_slot
from taxi_assets.resources import WarehouseResource
from tests.faults.processes import query
from tests.support.fault_month import CHILD, materialize
from tests.support.postgres import TEST_PG_URL, table_fingerprint, tables_like

HOG = "forgotten_psql"


@pytest.fixture
def hog(pg_schema: str) -> Iterator[psycopg.Connection]:
    """A client that took both of the schema's load slots (the default 2) and sits idle."""
    with psycopg.connect(TEST_PG_URL, autocommit=True, application_name=HOG) as conn:
        for slot in (0, 1):
            conn.execute(
                "SELECT pg_advisory_lock(hashtext(%s), %s)", (f"{pg_schema}/load_slot", slot)
            )
        yield conn


def test_a_held_slot_makes_a_load_fail_in_time_naming_the_holder(
    resources: dict,
    pg_schema: str,
    loaded: tuple,
    hog: psycopg.Connection,
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    monkeypatch.setenv("TAXI_LOAD_SLOT_TIMEOUT", "2")
    started = time.monotonic()
    result = materialize(resources)
    assert not result.success and time.monotonic() - started < 60
    message = str(result.get_step_failure_events()[0].step_failure_data.error)
    assert "2021-01" in message and "waited 2s for one of the 2 load slots" in message
    pid = hog.info.backend_pid
    holder = f"pid {pid} (slot 0, 1; application_name '{HOG}', client 127.0.0.1, connected since 20"
    assert holder in message, message
    assert "idle since 20" in message and "pg_terminate_backend" in message
    assert table_fingerprint(pg_schema, CHILD) == loaded
    assert tables_like(pg_schema, "%staging") == []
    assert query("SELECT pid FROM pg_stat_activity WHERE pid = %s", (pid,)) == [(pid,)]


def test_waiting_for_a_slot_is_bounded_by_the_timeout(
    pg_schema: str, hog: psycopg.Connection
) -> None:
    with psycopg.connect(TEST_PG_URL, autocommit=True) as conn:
        started = time.monotonic()
        expected = f"2021-03: waited 0.5s .* pid {hog.info.backend_pid}"
        with (
            pytest.raises(TaxiError, match=expected),
            load_slot(conn, pg_schema, 2, timeout_seconds=0.5, where="2021-03"),
        ):
            pass
        assert 0.5 <= time.monotonic() - started < 5


@pytest.mark.parametrize("value", ["half an hour", "0", "-5", "nan"])
def test_a_load_slot_timeout_that_is_no_positive_number_is_refused(
    value: str, postgres, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.setenv("TAXI_LOAD_SLOT_TIMEOUT", value)
    with pytest.raises(TaxiError, match="TAXI_LOAD_SLOT_TIMEOUT|more than 0 seconds"):
        WarehouseResource(postgres=postgres).writer()
