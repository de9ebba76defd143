"""A ranged run loads months side by side, within load slots that every run shares."""

import gzip
import threading
import time
from collections.abc import Callable

import dagster as dg

from taxi_assets.resources import WarehouseResource
from taxi_assets.shared.launch import range_tags
from tests.support.crafted_months import lake_file
from tests.support.mirror_months import MONTH_ROWS
from tests.support.postgres import count_rows
from tests.support.runs import failure_message
from tests.support.trips import raw_csv, yellow_taxi
from tests.support.warehouse_probes import blocked_by, reader_holding, table_oid


def wait_for(condition: Callable[[], bool], seconds: float = 60.0) -> None:
    deadline = time.monotonic() + seconds
    while not condition():
        assert time.monotonic() < deadline, "condition not met in time"
        time.sleep(0.1)


def start_range(resources: dict, first: str, last: str, slots: int) -> threading.Thread:
    """Materialize yellow_taxi for first..last in a thread, with patient swaps and `slots`."""
    patient = WarehouseResource(
        url=resources["warehouse"].url,
        schema_name=resources["warehouse"].schema_name,
        lock_timeout_seconds=120,
        load_slots=slots,
    )
    run = threading.Thread(
        target=dg.materialize,
        args=([yellow_taxi],),
        kwargs={"tags": range_tags(first, last), "resources": {**resources, "warehouse": patient}},
    )
    run.start()
    return run


def test_a_later_month_commits_while_an_earlier_one_waits(resources: dict, pg_schema: str) -> None:
    dg.materialize(
        [raw_csv, yellow_taxi], tags=range_tags("2021-01", "2021-03"), resources=resources
    )
    earlier_february, march = (table_oid(pg_schema, f"yellow_taxi_2021_0{m}") for m in (2, 3))
    with reader_holding(pg_schema, "yellow_taxi_2021_02") as reader:
        run = start_range(resources, "2021-01", "2021-03", slots=2)
        wait_for(lambda: bool(blocked_by(reader)))
        wait_for(lambda: table_oid(pg_schema, "yellow_taxi_2021_03") != march)
        assert table_oid(pg_schema, "yellow_taxi_2021_02") == earlier_february  # still waiting
    run.join()
    assert table_oid(pg_schema, "yellow_taxi_2021_02") != earlier_february


def test_one_slot_makes_another_run_wait_for_the_load_in_flight(
    resources: dict, pg_schema: str
) -> None:
    dg.materialize(
        [raw_csv, yellow_taxi], tags=range_tags("2021-02", "2021-03"), resources=resources
    )
    march = table_oid(pg_schema, "yellow_taxi_2021_03")
    with reader_holding(pg_schema, "yellow_taxi_2021_02") as reader:
        first = start_range(resources, "2021-02", "2021-02", slots=1)
        wait_for(lambda: bool(blocked_by(reader)))
        second = start_range(resources, "2021-03", "2021-03", slots=1)
        time.sleep(3.0)
        assert table_oid(pg_schema, "yellow_taxi_2021_03") == march  # no slot yet
    first.join(), second.join()
    assert table_oid(pg_schema, "yellow_taxi_2021_03") != march
    assert count_rows(pg_schema, "yellow_taxi_2021_03") == MONTH_ROWS["2021-03"]


def test_a_failing_month_leaves_the_others_loaded_and_recorded(
    resources: dict, pg_schema: str
) -> None:
    dg.materialize([raw_csv], tags=range_tags("2021-01", "2021-03"), resources=resources)
    changed = lake_file(resources, "2021-02")
    changed.write_bytes(gzip.compress(gzip.decompress(changed.read_bytes()), compresslevel=1))
    result = dg.materialize(
        [yellow_taxi],
        tags=range_tags("2021-01", "2021-03"),
        resources=resources,
        raise_on_error=False,
    )
    assert not result.success
    assert "2021-02" in failure_message(result)
    recorded = {m.partition for m in result.get_asset_materialization_events() if m.partition}
    loaded = {m for m in MONTH_ROWS if table_oid(pg_schema, f"yellow_taxi_{m.replace('-', '_')}")}
    assert "2021-01" in loaded and "2021-02" not in loaded and recorded == loaded
