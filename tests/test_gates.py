"""Gates before the swap: a month that fails one is refused, named, and the old month stays."""

import json
from collections.abc import Callable
from pathlib import Path

import dagster as dg
import pytest

from tests.support.crafted_months import DROPOFF, PICKUP, lines_of, serve_crafted, set_field
from tests.support.postgres import table_fingerprint
from tests.support.trips import yellow_taxi
from tests.test_ingest import materialize

STORE_AND_FWD = 6


def drift_header(lines: list[str]) -> None:
    lines[0] = lines[0].replace("congestion_surcharge", "airport_fee")


def null_pickup(lines: list[str]) -> None:
    set_field(lines, range(42, 43), PICKUP, "")


def null_dropoff(lines: list[str]) -> None:
    set_field(lines, range(7, 8), DROPOFF, "")


def end_of_data_marker(lines: list[str]) -> None:
    """A line `\\.` mid-file: COPY takes it as the end of the data and stops there, so Postgres
    stages fewer rows than the file has records. (A quoted newline no longer does this: the
    verifier counts records as COPY reads them.)"""
    lines.insert(5, "\\.")


GATES = {
    "header drift": (drift_header, ["drifts from the schema contract", "['congestion_surcharge']"]),
    "null pickup": (null_pickup, ["tpep_pickup_datetime", "not-null constraint", "not replaced"]),
    "null dropoff": (null_dropoff, ["tpep_dropoff_datetime", "not-null constraint"]),
    "rows vs manifest": (end_of_data_marker, ["the lake manifest records", "not replaced"]),
}


def reload_crafted(
    resources: dict, pg_schema: str, tmp_path: Path, month: str, craft: Callable
) -> str:
    """Load the month, reload a crafted copy of it; assert the old rows stayed; the error."""
    table = f"yellow_taxi_{month.replace('-', '_')}"
    materialize(resources, month)
    before = table_fingerprint(pg_schema, table)
    lines = lines_of(resources, month)
    craft(lines)
    serve_crafted(resources, tmp_path, month, lines)
    result = materialize(resources, month, raise_on_error=False)
    assert not result.success
    assert table_fingerprint(pg_schema, table) == before
    return str(result.get_step_failure_events()[0].step_failure_data.error)


@pytest.mark.parametrize("gate", GATES)
def test_a_month_failing_a_gate_is_refused_naming_month_and_reason(
    gate: str, resources: dict, pg_schema: str, tmp_path: Path
) -> None:
    craft, reasons = GATES[gate]
    message = reload_crafted(resources, pg_schema, tmp_path, "2021-02", craft)
    assert "2021-02" in message
    assert all(reason in message for reason in reasons), message


def test_header_drift_is_refused_before_anything_is_stored(
    resources: dict, pg_schema: str, tmp_path: Path
) -> None:
    reload_crafted(resources, pg_schema, tmp_path, "2021-03", drift_header)
    assert not list(Path(resources["lake"].root).rglob("*.gz"))


def test_staged_rows_that_disagree_with_the_manifest_are_refused(
    resources: dict, pg_schema: str, lake_dir: Path
) -> None:
    materialize(resources, "2021-02")
    before = table_fingerprint(pg_schema, "yellow_taxi_2021_02")
    manifest = lake_dir / "yellow" / "yellow_tripdata_2021-02.csv.gz.manifest.json"
    entry = json.loads(manifest.read_text())
    manifest.write_text(json.dumps({**entry, "rows": entry["rows"] + 1}))
    result = dg.materialize(
        [yellow_taxi], partition_key="2021-02", resources=resources, raise_on_error=False
    )
    message = str(result.get_step_failure_events()[0].step_failure_data.error)
    assert (
        "2021-02" in message
        and "the lake manifest records" in message
        and "not replaced" in message
    )
    assert table_fingerprint(pg_schema, "yellow_taxi_2021_02") == before
