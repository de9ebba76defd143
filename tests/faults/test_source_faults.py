"""docs/failure-modes.md, "The source and the download": one test per row, each fault made for real.

Misbehaving mirrors are loopback HTTP servers (taxi_testkit.faulty_mirror); bad files are
crafted from a generated month. "Intact" is checked against the month as loaded before the
fault: same row count and sums, no staging table, no unverified file under a final name.
"""

import fcntl
import gzip
import json
import socket
from pathlib import Path

import pytest

from taxi_assets.datasets import YELLOW
from taxi_assets.mechanics.settings import DEFAULT_SOURCE_URL
from taxi_assets.resources import DataLake, TaxiSource
from taxi_testkit.faulty_mirror import Fault, serve_faulty
from taxi_testkit.mirror import serve_mirror
from tests.support.crafted_months import gzip_lines
from tests.support.fault_month import CHILD, MONTH, MONTH_FILE, lake_files, materialize
from tests.support.postgres import table_fingerprint, tables_like
from tests.support.runs import failure_message
from tests.support.trips import raw_csv

HEADER = ",".join(YELLOW.header)


def test_unpublished_month_fails_at_once_without_retrying(against, tmp_path: Path) -> None:
    with serve_faulty(tmp_path, Fault("status", failures=0)) as (url, log):
        result = materialize(against(url), "2020-06")
    message = failure_message(result)
    assert f"2020-06 is not published at {url}/yellow/yellow_tripdata_2020-06.csv.gz" in message
    assert log.count("2020-06") == 1


@pytest.mark.parametrize(
    "fault",
    [
        Fault("status", 2, status=500),
        Fault("status", 2, status=503),
        Fault("drop", 2),
        Fault("reset", 2),
    ],
    ids=["500", "503", "dropped-mid-body", "reset-mid-body"],
)
def test_server_errors_are_retried_with_backoff_then_succeed(
    fault: Fault, against, mirror_dir: Path, loaded: tuple, pg_schema: str, fault_lake: Path
) -> None:
    with serve_faulty(mirror_dir, fault) as (url, log):  # the first 2 requests fail
        result = materialize(against(url, max_attempts=3))
    assert result.success
    assert log.count(MONTH_FILE) == 3
    assert table_fingerprint(pg_schema, CHILD) == loaded
    assert [p.name for p in lake_files(fault_lake)] == [
        "yellow_tripdata_2021-01.csv.gz",
        "yellow_tripdata_2021-01.csv.gz.manifest.json",
    ]


def test_an_unreachable_default_mirror_points_to_a_local_one(
    against, monkeypatch: pytest.MonkeyPatch, fault_lake: Path
) -> None:
    """No internet, made for real: HTTPS goes to a loopback proxy port nobody listens on."""
    monkeypatch.setenv("HTTPS_PROXY", f"http://127.0.0.1:{closed_port()}")
    monkeypatch.delenv("NO_PROXY", raising=False)
    monkeypatch.delenv("no_proxy", raising=False)
    message = failure_message(
        materialize(against(DEFAULT_SOURCE_URL, max_attempts=2), MONTH, [raw_csv])
    )
    assert f"{MONTH}: cannot reach {DEFAULT_SOURCE_URL}/{MONTH_FILE}" in message
    assert "gave up after 2 attempts" in message
    assert "`make mirror`, then `TAXI_SOURCE_URL=file://$PWD/mirror make main`" in message
    assert lake_files(fault_lake) == []


def closed_port() -> int:
    """A loopback port that was free a moment ago: connecting to it is refused."""
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return s.getsockname()[1]


def test_server_errors_that_persist_fail_clearly_within_the_bound(
    against, mirror_dir: Path, loaded: tuple, pg_schema: str, fault_lake: Path
) -> None:
    with serve_faulty(mirror_dir, Fault("status", status=503)) as (url, log):
        result = materialize(against(url, max_attempts=4))
    message = failure_message(result)
    assert f"{MONTH}: {url}/{MONTH_FILE} answered HTTP 503" in message
    assert "gave up after 4 attempts" in message
    assert log.count(MONTH_FILE) == 4
    assert lake_files(fault_lake) == []
    assert table_fingerprint(pg_schema, CHILD) == loaded


def test_a_body_shorter_than_content_length_is_retried_and_never_accepted(
    against, mirror_dir: Path, loaded: tuple, pg_schema: str, fault_lake: Path
) -> None:
    with serve_faulty(mirror_dir, Fault("short")) as (url, log):
        result = materialize(against(url, max_attempts=3))
    message = failure_message(result)
    assert f"{MONTH}: download of {url}/{MONTH_FILE}" in message
    assert log.count(MONTH_FILE) == 3
    assert lake_files(fault_lake) == []
    assert table_fingerprint(pg_schema, CHILD) == loaded


def test_an_html_page_with_status_200_is_not_a_gzip_file(
    against, mirror_dir: Path, loaded: tuple, pg_schema: str, fault_lake: Path
) -> None:
    with serve_faulty(mirror_dir, Fault("html")) as (url, log):
        result = materialize(against(url))
    message = failure_message(result)
    assert f"{MONTH} ({url}/{MONTH_FILE}) is not a gzip file" in message
    assert "<!doctype html>" in message
    assert log.count(MONTH_FILE) == 1  # a bad file is never retried
    assert lake_files(fault_lake) == []
    assert table_fingerprint(pg_schema, CHILD) == loaded


def test_a_truncated_gzip_fails_before_the_warehouse(
    against, crafted, good_bytes: bytes, loaded: tuple, pg_schema: str, fault_lake: Path
) -> None:
    with serve_mirror(crafted(good_bytes[: len(good_bytes) * 2 // 3])) as url:
        result = materialize(against(url))
    assert f"{MONTH} ({url}/{MONTH_FILE}) has a truncated gzip stream" in failure_message(result)
    assert [e.step_key for e in result.get_step_failure_events()] == ["raw_csv"]
    assert lake_files(fault_lake) == []
    assert table_fingerprint(pg_schema, CHILD) == loaded


@pytest.mark.parametrize("where", ["mid-stream", "crc-trailer"])
def test_a_corrupt_gzip_fails_and_the_warehouse_stays_intact(
    where: str, against, crafted, good_bytes: bytes, loaded: tuple, pg_schema: str
) -> None:
    corrupt = bytearray(good_bytes)
    offset = len(corrupt) // 2 if where == "mid-stream" else len(corrupt) - 6
    corrupt[offset] ^= 0xFF
    with serve_mirror(crafted(bytes(corrupt))) as url:
        result = materialize(against(url))
    assert f"{MONTH} ({url}/{MONTH_FILE}) has a corrupt gzip stream" in failure_message(result)
    assert table_fingerprint(pg_schema, CHILD) == loaded


def test_a_decompression_bomb_is_stopped_at_the_size_cap(
    against, crafted, fault_lake: Path, pg_schema: str
) -> None:
    zeros = gzip.compress(bytes(16 << 20), compresslevel=9)  # 16 MB of zeros in ~16 kB
    bomb = gzip_lines([HEADER]) + zeros * 400  # ~6.6 MB inflating to 6.7 GB
    with serve_mirror(crafted(bomb)) as url:
        resources = against(url)
        resources["lake"] = DataLake(root=str(fault_lake), max_uncompressed_gb=0.05)
        result = materialize(resources)
    message = failure_message(result)
    assert f"{MONTH} ({url}/{MONTH_FILE}) inflates beyond the cap of 50,000,000" in message
    assert lake_files(fault_lake) == []
    assert tables_like(pg_schema, "yellow_taxi%") == []


@pytest.mark.parametrize(
    ("content", "expected"),
    [(b"", "is empty"), (gzip_lines([HEADER]), "has a header but no data rows")],
    ids=["empty-file", "header-only"],
)
def test_a_month_without_rows_fails(
    content: bytes, expected: str, against, crafted, loaded: tuple, pg_schema: str
) -> None:
    with serve_mirror(crafted(content)) as url:
        result = materialize(against(url))
    assert f"{MONTH} ({url}/{MONTH_FILE}) {expected}" in failure_message(result)
    assert table_fingerprint(pg_schema, CHILD) == loaded


HEADER_DRIFT = {
    "extra": (HEADER + ",airport_fee", "unexpected columns ['airport_fee']"),
    "missing": (HEADER.rsplit(",", 1)[0], "missing columns ['congestion_surcharge']"),
    "renamed": (
        HEADER.replace("VendorID", "vendor_id"),
        "missing columns ['VendorID']; unexpected columns ['vendor_id']",
    ),
    "reordered": (
        HEADER.replace("PULocationID,DOLocationID", "DOLocationID,PULocationID"),
        "columns reordered",
    ),
}


@pytest.mark.parametrize("drift", HEADER_DRIFT)
def test_header_drift_fails_before_copy_naming_the_difference(
    drift: str, against, crafted, good_bytes: bytes, loaded: tuple, pg_schema: str
) -> None:
    header, expected = HEADER_DRIFT[drift]
    lines = gzip.decompress(good_bytes).decode().splitlines()
    lines[0] = header
    root = crafted(gzip_lines(lines))
    with serve_faulty(root, Fault("status", failures=0)) as (url, log):
        result = materialize(against(url))
    message = failure_message(result)
    assert f"{MONTH} ({url}/{MONTH_FILE}) has a header that drifts" in message
    assert expected in message
    assert log.count(MONTH_FILE) == 1
    assert tables_like(pg_schema, "%staging") == []
    assert table_fingerprint(pg_schema, CHILD) == loaded


def _edit_line_8(line: str, how: str) -> bytes:
    fields = line.split(",")
    if how == "too-few-fields":
        fields = fields[:-2]
    elif how == "too-many-fields":
        fields.append("1")
    elif how == "unparsable-number":
        fields[10] = "twelve"
    elif how == "unparsable-date":
        fields[1] = "2021-02-30 25:61:00"
    text = ",".join(fields).encode()
    if how == "nul-byte":
        text = text.replace(b",N,", b",N\x00,", 1).replace(b",,", b",\x00,", 1)
    if how == "bad-utf8":
        text = text.replace(b",N,", b",\xff\xfe,", 1).replace(b",,", b",\xff\xfe,", 1)
    return text


@pytest.mark.parametrize(
    "how",
    [
        "too-few-fields",
        "too-many-fields",
        "nul-byte",
        "bad-utf8",
        "unparsable-number",
        "unparsable-date",
    ],
)
def test_a_bad_row_fails_with_its_line_number_and_no_row_changes(
    how: str, against, crafted, good_bytes: bytes, loaded: tuple, pg_schema: str
) -> None:
    lines = gzip.decompress(good_bytes).split(b"\r\n")  # the mirror's line end
    lines[7] = _edit_line_8(lines[7].decode(), how)
    with serve_mirror(crafted(gzip.compress(b"\r\n".join(lines)))) as url:
        result = materialize(against(url))
    message = failure_message(result)
    assert f"{MONTH} (" in message and "line 8" in message, message
    assert tables_like(pg_schema, "%staging") == []
    assert table_fingerprint(pg_schema, CHILD) == loaded


def _spoil(lake: Path, how: str) -> None:
    stored = lake / MONTH_FILE
    if how == "flipped-byte":
        data = bytearray(stored.read_bytes())
        data[len(data) // 2] ^= 0xFF
        stored.write_bytes(bytes(data))
    elif how == "cut-short":
        stored.write_bytes(stored.read_bytes()[:1000])
    elif how == "no-manifest":
        Path(f"{stored}.manifest.json").unlink()
    elif how == "manifest-lies":
        manifest = Path(f"{stored}.manifest.json")
        manifest.write_text(json.dumps({**json.loads(manifest.read_text()), "rows": 7}))


@pytest.mark.parametrize("how", ["flipped-byte", "cut-short", "no-manifest", "manifest-lies"])
def test_a_stale_or_corrupt_lake_file_is_reverified_and_downloaded_again(
    how: str, resources: dict, lake_dir: Path, mirror_dir: Path, good_bytes: bytes
) -> None:
    assert materialize(resources, assets=[raw_csv]).success
    _spoil(lake_dir, how)
    with serve_faulty(mirror_dir, Fault("status", failures=0)) as (url, log):
        result = materialize({**resources, "source": TaxiSource(base_url=url)})
    assert result.success
    assert log.count(MONTH_FILE) == 1
    assert (lake_dir / MONTH_FILE).read_bytes() == good_bytes
    meta = result.asset_materializations_for_node("raw_csv")[0].metadata
    assert meta["reused_from_lake"].value is False


def test_a_dead_writer_s_temporary_is_removed_and_a_live_one_kept(
    resources: dict, lake_dir: Path, good_bytes: bytes
) -> None:
    folder = lake_dir / "yellow"
    folder.mkdir(parents=True)
    dead = folder / "yellow_tripdata_2021-01.csv.gz.part-0123456789abcdef"
    dead.write_bytes(good_bytes[:500])  # no lock on it: its writer is gone
    live = folder / "yellow_tripdata_2021-01.csv.gz.part-fedcba9876543210"
    with live.open("wb") as handle:
        fcntl.flock(handle, fcntl.LOCK_EX)  # what a download in progress holds
        assert materialize(resources).success
    assert not dead.exists() and live.exists()
    assert (lake_dir / MONTH_FILE).read_bytes() == good_bytes


def test_a_retry_goes_back_to_the_original_url_not_the_expired_redirect(
    against, mirror_dir: Path, loaded: tuple, pg_schema: str
) -> None:
    fault = Fault("redirect", failures=1, ttl_seconds=0.4, stall_seconds=1.5)
    with serve_faulty(mirror_dir, fault) as (url, log):
        result = materialize(against(url, read_timeout_seconds=0.5))
    assert result.success, failure_message(result)
    assert log.count(f"/{MONTH_FILE}") == 4  # 2 originals + 2 signed downloads
    assert sum(n for p, n in log.counts().items() if p == f"/{MONTH_FILE}") == 2
    assert table_fingerprint(pg_schema, CHILD) == loaded
