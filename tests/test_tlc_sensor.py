"""The TLC sensor's ticks against a loopback TLC that serves ETag and Last-Modified: a new
month is requested as it appears, a re-published one reloaded whole, an unchanged one left
alone, an unreachable TLC is a skipped tick; the lake keeps what its setting says."""

import dataclasses
import json
import os
import time
from collections.abc import Iterator
from pathlib import Path

import dagster as dg
import pytest
from dagster._core.utils import make_new_run_id

from taxi_assets.datasets import YELLOW
from taxi_assets.mechanics.disk_space import shortfall
from taxi_assets.mechanics.lake import Lake
from taxi_assets.mechanics.months import parse_month
from taxi_assets.mechanics.publication import FileVersion
from taxi_assets.mechanics.source import probe
from taxi_assets.resources import DataLake, TaxiSource
from taxi_assets.trips.publication_sensor import CHANGE_TAG, FOUND_TAG
from taxi_assets.trips.slice import TripSlice, trip_slice
from taxi_testkit.mirror import serve_mirror
from taxi_testkit.tlc import TLC_FOLDER, write_tlc_month
from tests.support.postgres import count_rows, tables_like
from tests.support.runs import failure_message

LAST_MONTH = "2024-04"  # the partitions' last month in these tests


@pytest.fixture
def trips(monkeypatch: pytest.MonkeyPatch) -> TripSlice:
    """Yellow's definitions with partitions 2024-01..2024-04, the sensor looking back always."""
    monkeypatch.setenv("TAXI_FIRST_MONTH", "2024-01")
    monkeypatch.setenv("TAXI_LAST_MONTH", LAST_MONTH)
    monkeypatch.setenv("TAXI_REVISION_CHECK_HOURS", "0")
    return trip_slice(YELLOW)


@pytest.fixture
def tlc_url(published_tlc: Path) -> Iterator[str]:
    with serve_mirror(published_tlc) as url:
        yield f"{url}/{TLC_FOLDER}"


@pytest.fixture
def instance() -> Iterator[dg.DagsterInstance]:
    with dg.instance_for_test() as test_instance:
        yield test_instance


def tlc_resources(resources: dict, tlc_url: str, **lake: object) -> dict:
    source = TaxiSource(tlc_url=tlc_url, first_backoff_seconds=0.01)
    return {**resources, "source": source, "lake": DataLake(root=resources["lake"].root, **lake)}


def load(trips: TripSlice, resources: dict, instance: dg.DagsterInstance, month: str, **kw):
    return dg.materialize(
        [trips.raw, trips.warehouse],
        partition_key=month,
        resources=resources,
        instance=instance,
        **kw,
    )


def tick(
    trips: TripSlice, resources: dict, instance: dg.DagsterInstance, cursor: str | None = None
) -> dg.SensorResult:
    context = dg.build_sensor_context(
        instance=instance,
        cursor=cursor,
        resources={"source": resources["source"], "lake": resources["lake"]},
    )
    result = trips.sensor(context)
    assert isinstance(result, dg.SensorResult)
    return result


def republish(root: Path, month: str, rows: int) -> None:
    """The TLC rewrites a published file in place: other rows, a later modification time."""
    path = write_tlc_month(month, rows, root, YELLOW, seed=7)
    later = time.time() + 5
    os.utime(path, (later, later))


def test_a_month_published_after_the_latest_loaded_is_requested_and_a_403_ends_the_scan(
    trips: TripSlice, resources: dict, tlc_url: str, instance: dg.DagsterInstance
) -> None:
    resources = tlc_resources(resources, tlc_url)
    assert load(trips, resources, instance, "2024-01").success
    result = tick(trips, resources, instance)
    (request,) = result.run_requests or []
    assert request.partition_key == "2024-02"
    assert request.tags[FOUND_TAG] == "new month" and request.run_key.startswith("2024-02 new")
    assert not request.run_config  # a new month is downloaded anyway


def test_each_published_version_has_its_own_run_key(
    trips: TripSlice, resources: dict, tlc_url: str, published_tlc: Path, instance
) -> None:
    resources = tlc_resources(resources, tlc_url)
    assert load(trips, resources, instance, "2024-01").success
    first = (tick(trips, resources, instance).run_requests or [])[0].run_key
    assert (tick(trips, resources, instance).run_requests or [])[0].run_key == first
    republish(published_tlc, "2024-02", 310)
    assert (tick(trips, resources, instance).run_requests or [])[0].run_key != first


def test_no_tick_asks_while_a_run_is_loading_the_dataset(
    trips: TripSlice, resources: dict, tlc_url: str, instance: dg.DagsterInstance
) -> None:
    """A ranged run records its months one by one: February looks missing until it ends."""
    resources = tlc_resources(resources, tlc_url)
    assert load(trips, resources, instance, "2024-01").success
    loading = dg.DagsterRun(
        job_name="yellow_taxi_job",
        run_id=make_new_run_id(),
        status=dg.DagsterRunStatus.STARTED,
        asset_selection=frozenset({dg.AssetKey("yellow_taxi")}),
    )
    instance.add_run(loading)
    result = tick(trips, resources, instance)
    assert not result.run_requests
    message = result.skip_reason.skip_message or ""
    assert f"run {loading.run_id[:8]} of yellow_taxi_job is loading yellow_taxi" in message
    instance.report_run_canceled(loading)
    assert tick(trips, resources, instance).run_requests


def test_with_nothing_loaded_the_tick_skips_and_says_why(
    trips: TripSlice, resources: dict, tlc_url: str, instance: dg.DagsterInstance
) -> None:
    result = tick(trips, tlc_resources(resources, tlc_url), instance)
    assert not result.run_requests
    message = result.skip_reason.skip_message or ""
    assert "nothing of yellow_taxi is loaded yet" in message
    assert "loaded month(s)" not in message  # no empty revision note besides it


def test_an_unreachable_tlc_is_a_skipped_tick_with_its_reason(
    trips: TripSlice, resources: dict, tlc_url: str, instance: dg.DagsterInstance
) -> None:
    assert load(trips, tlc_resources(resources, tlc_url), instance, "2024-01").success
    with serve_mirror(Path("/nonexistent")) as closed:
        pass  # its port is closed from here on
    result = tick(trips, tlc_resources(resources, f"{closed}/{TLC_FOLDER}"), instance)
    assert not result.run_requests
    message = result.skip_reason.skip_message or ""
    assert message.startswith("the TLC did not answer") and "cannot reach" in message


def test_a_warehouse_far_behind_is_left_to_a_backfill(
    resources: dict, tlc_url: str, instance: dg.DagsterInstance, monkeypatch
) -> None:
    monkeypatch.setenv("TAXI_FIRST_MONTH", "2024-01")
    monkeypatch.setenv("TAXI_LAST_MONTH", "2024-12")
    monkeypatch.setenv("TAXI_TLC_CATCH_UP_MONTHS", "3")
    trips = trip_slice(YELLOW)
    resources = tlc_resources(resources, tlc_url)
    assert load(trips, resources, instance, "2024-01").success
    message = tick(trips, resources, instance).skip_reason.skip_message or ""
    assert "11 TLC months behind 2024-12" in message and "backfill 2024-02...2024-12" in message


def test_a_republished_month_is_reloaded_with_its_new_rows_and_the_others_are_left_alone(
    trips: TripSlice,
    resources: dict,
    tlc_url: str,
    published_tlc: Path,
    instance: dg.DagsterInstance,
    pg_schema: str,
) -> None:
    resources = tlc_resources(resources, tlc_url)
    for month in ("2024-01", "2024-02"):
        assert load(trips, resources, instance, month).success
    unchanged = tick(trips, resources, instance)
    assert not unchanged.run_requests
    assert "2 loaded month(s) of the last 12 unchanged" in (
        unchanged.skip_reason.skip_message or ""
    )

    republish(published_tlc, "2024-01", 345)
    (request,) = tick(trips, resources, instance).run_requests or []
    assert request.partition_key == "2024-01" and request.tags[FOUND_TAG] == "revised file"
    assert "ETag" in request.tags[CHANGE_TAG]
    reload = load(trips, resources, instance, "2024-01", run_config=request.run_config)
    assert reload.success
    raw = reload.get_asset_materialization_events()[0].materialization.metadata
    assert raw["reused_from_lake"].value is False  # downloaded afresh, not the lake's old copy
    assert count_rows(pg_schema, "yellow_taxi_2024_01") == 345
    assert count_rows(pg_schema, "yellow_taxi_2024_02") == 300
    assert not tick(trips, resources, instance).run_requests  # reloaded: the same again


def test_the_look_back_waits_for_its_interval(
    trips: TripSlice, resources: dict, tlc_url: str, published_tlc: Path, instance, monkeypatch
) -> None:
    resources = tlc_resources(resources, tlc_url)
    for month in ("2024-01", "2024-02"):
        assert load(trips, resources, instance, month).success
    monkeypatch.setenv("TAXI_REVISION_CHECK_HOURS", "24")
    daily = trip_slice(YELLOW)
    republish(published_tlc, "2024-01", 345)
    recent = json.dumps({"looked_back_at": time.time() - 3600})
    assert not tick(daily, resources, instance, recent).run_requests
    overdue = json.dumps({"looked_back_at": time.time() - 25 * 3600})
    result = tick(daily, resources, instance, overdue)
    assert [r.partition_key for r in result.run_requests or []] == ["2024-01"]
    assert json.loads(result.cursor or "{}")["looked_back_at"] > time.time() - 60


def test_the_manifest_and_the_metadata_record_the_version_downloaded(
    trips: TripSlice, resources: dict, tlc_url: str, instance: dg.DagsterInstance
) -> None:
    resources = tlc_resources(resources, tlc_url)
    result = load(trips, resources, instance, "2024-01")
    lake: Lake = resources["lake"].lake()
    entry = lake.manifest(YELLOW, parse_month("2024-01"))
    published = probe(f"{tlc_url}/yellow_tripdata_2024-01.parquet", "2024-01", (5, 5))
    assert entry is not None and published is not None
    assert (entry.etag, entry.last_modified) == (published.etag, published.last_modified)
    assert published.changes_from(entry.version) == ""
    metadata = result.get_asset_materialization_events()[-1].materialization.metadata
    assert metadata["source_etag"].value == entry.etag


def test_a_lake_that_keeps_one_month_removes_the_older_files_and_keeps_their_manifests(
    trips: TripSlice, resources: dict, tlc_url: str, instance: dg.DagsterInstance
) -> None:
    resources = tlc_resources(resources, tlc_url, keep_months=1)
    results = [load(trips, resources, instance, month) for month in ("2024-01", "2024-02")]
    assert all(result.success for result in results)
    lake: Lake = resources["lake"].lake()
    january = lake.path_for(YELLOW, parse_month("2024-01"))
    assert not january.exists() and lake.manifest(YELLOW, parse_month("2024-01")) is not None
    assert lake.path_for(YELLOW, parse_month("2024-02")).exists()
    said = [event.user_message for event in instance.all_logs(results[-1].run_id)]
    assert any("removed yellow_tripdata_2024-01.parquet" in message for message in said)
    checks = dg.materialize(  # January's checks still count against its kept manifest
        [trips.raw, trips.warehouse],
        tags={"dagster/partition": "2024-01"},
        resources=resources,
        instance=instance,
        selection=dg.AssetSelection.checks_for_assets(trips.warehouse),
    )
    (row_count,) = [
        e for e in checks.get_asset_check_evaluations() if e.check_name == "row_count_matches_lake"
    ]
    assert row_count.passed, row_count.description


def test_a_version_differs_by_etag_else_by_date_and_always_by_size() -> None:
    old = FileVersion('"a"', "Mon, 01 Jan 2024 00:00:00 GMT", 10)
    assert FileVersion('"b"', old.last_modified, 10).changes_from(old) == 'ETag "a" -> "b"'
    assert FileVersion('"a"', "Tue, 02 Jan 2024 00:00:00 GMT", 10).changes_from(old) == ""
    assert "Last-Modified" in FileVersion(None, "Tue, 02 Jan 2024 00:00:00 GMT", 10).changes_from(
        FileVersion(None, old.last_modified, 10)
    )
    assert FileVersion(None, None, 11).changes_from(old) == "size 10 -> 11 bytes"


def test_a_month_the_warehouse_disk_cannot_hold_is_refused_before_any_write(
    resources: dict, pg_schema: str
) -> None:
    """The test server runs on this machine: a dataset claiming 10 TB a row cannot fit."""
    huge = trip_slice(dataclasses.replace(YELLOW, table_bytes_per_row=10**13))
    result = dg.materialize(
        [huge.raw, huge.warehouse],
        partition_key="2021-01",
        resources=resources,
        raise_on_error=False,
    )
    message = failure_message(result)
    assert "2021-01 (" in message and "yellow_tripdata_2021-01.csv.gz" in message
    assert "not loading it: it needs about" in message and "GB free" in message
    assert "the warehouse is unchanged" in message
    assert tables_like(pg_schema, "yellow_taxi_2021_01%") == []


def test_a_disk_too_small_is_named_with_what_it_has(tmp_path: Path) -> None:
    assert shortfall([(tmp_path, 1.0)]) == ""
    message = shortfall([(tmp_path / "lake", 1e18), (tmp_path, 1e18)])
    assert "needs about 2,000,000,000.00 GB" in message and str(tmp_path) in message
