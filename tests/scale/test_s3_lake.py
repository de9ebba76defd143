"""The lake on an S3-compatible object store (moto's server on loopback), same guarantees."""

import datetime as dt
import os
import signal
import subprocess
import sys
from pathlib import Path

import dagster as dg
import pytest
import s3fs

from taxi_assets.datasets import YELLOW
from taxi_assets.resources import DataLake, TaxiSource, WarehouseResource
from tests.support.mirror_months import MONTH_ROWS
from tests.support.postgres import count_rows
from tests.support.trips import raw_csv, yellow_taxi

KEY = "lake/yellow/yellow_tripdata_2021-02.csv.gz"
# Writes ~12 MB of valid gzip CSV to the lake's temporary key and stalls after 10 MB, that is
# after the first 8 MiB part of the multipart upload went out: then the test kills it.
_CUT_OFF_UPLOAD = """
import base64, datetime as dt, gzip, os, sys, time
from taxi_assets.resources import DataLake
from taxi_assets.datasets import YELLOW
rows = base64.encodebytes(os.urandom(12 << 20))
body = gzip.compress(",".join(YELLOW.header).encode() + b"\\n" + rows, compresslevel=1)
def chunks():
    for start in range(0, len(body), 1 << 20):
        yield body[start:start + (1 << 20)]
        if start >= 10 << 20:
            print("cut", flush=True)
            time.sleep(600)
DataLake(root=sys.argv[1]).lake().store(YELLOW, dt.date(2021, 2, 1), "http://mirror/x", chunks())
"""


@pytest.fixture
def s3_resources(mirror_url: str, s3_lake: str, postgres: WarehouseResource) -> dict:
    return {
        "source": TaxiSource(base_url=mirror_url, first_backoff_seconds=0.01),
        "lake": DataLake(root=s3_lake),
        "warehouse": postgres,
    }


def materialize(resources: dict, month: str) -> dg.ExecuteInProcessResult:
    return dg.materialize([raw_csv, yellow_taxi], partition_key=month, resources=resources)


def test_a_month_goes_through_the_s3_lake_into_postgres(
    s3_resources: dict, s3_bucket: str, pg_schema: str
) -> None:
    result = materialize(s3_resources, "2021-02")
    assert count_rows(pg_schema, "yellow_taxi_2021_02") == MONTH_ROWS["2021-02"]
    keys = sorted(s3fs.S3FileSystem().find(s3_bucket))
    assert keys == [f"{s3_bucket}/{KEY}", f"{s3_bucket}/{KEY}.manifest.json"]
    meta = result.asset_materializations_for_node("raw_csv")[0].metadata
    assert meta["dagster/uri"].value == f"s3://{s3_bucket}/{KEY}"
    assert meta["bytes"].value == s3fs.S3FileSystem().size(f"{s3_bucket}/{KEY}")


def test_a_verified_object_is_reused(s3_resources: dict) -> None:
    materialize(s3_resources, "2021-01")
    second = materialize(s3_resources, "2021-01")
    assert second.asset_materializations_for_node("raw_csv")[0].metadata["reused_from_lake"].value


def test_an_object_that_no_longer_matches_its_manifest_is_fetched_again(
    s3_resources: dict, s3_bucket: str, pg_schema: str
) -> None:
    materialize(s3_resources, "2021-02")
    s3fs.S3FileSystem().pipe(f"{s3_bucket}/{KEY}", b"\x1f\x8b not the month")
    result = materialize(s3_resources, "2021-02")
    assert (
        not result.asset_materializations_for_node("raw_csv")[0].metadata["reused_from_lake"].value
    )
    assert count_rows(pg_schema, "yellow_taxi_2021_02") == MONTH_ROWS["2021-02"]


def test_an_upload_cut_off_midway_leaves_no_final_key_and_the_next_run_recovers(
    s3_resources: dict, s3_lake: str, s3_bucket: str, pg_schema: str
) -> None:
    _kill_an_upload_midway(s3_lake)
    fs = s3fs.S3FileSystem(skip_instance_cache=True)
    assert not fs.exists(f"{s3_bucket}/{KEY}")
    unfinished = [u["Key"] for u in fs.list_multipart_uploads(s3_bucket)]
    assert len(unfinished) == 1 and unfinished[0].startswith(f"{KEY}.part-")
    lake = DataLake(root=s3_lake).lake()
    assert lake.remove_abandoned_temporaries(YELLOW, dt.date(2021, 2, 1), object_age_seconds=0) == 1
    assert not fs.list_multipart_uploads(s3_bucket)
    materialize(s3_resources, "2021-02")
    assert count_rows(pg_schema, "yellow_taxi_2021_02") == MONTH_ROWS["2021-02"]
    assert lake.verified(YELLOW, dt.date(2021, 2, 1)) is not None


def _kill_an_upload_midway(lake_url: str) -> None:
    """Start an upload in another process and SIGKILL it once a part has gone out."""
    process = subprocess.Popen(
        [sys.executable, "-c", _CUT_OFF_UPLOAD, lake_url],
        stdout=subprocess.PIPE,
        text=True,
        cwd=Path(__file__).parents[2],
        env=dict(os.environ),
    )
    try:
        assert process.stdout is not None and process.stdout.readline().strip() == "cut"
    finally:
        process.send_signal(signal.SIGKILL)
        process.wait(timeout=30)
