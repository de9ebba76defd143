"""Asset checks per month: passing on a generated month, failing on crafted ones."""

from pathlib import Path

import dagster as dg
import psycopg
from psycopg import sql

from taxi_assets.datasets import YELLOW
from taxi_assets.marts.assets import daily_borough_trips
from taxi_assets.shared.launch import range_tags
from taxi_assets.trips.checks import MONTH_CHECK, ROW_COUNT_CHECK, SCHEMA_CHECK
from taxi_assets.zones.assets import taxi_zones
from tests.support.crafted_months import (
    DROPOFF,
    PASSENGERS,
    PICKUP,
    TOTAL,
    expected_flags,
    lake_file,
    lines_of,
    read_month,
    serve_crafted,
    set_field,
)
from tests.support.mirror_months import MONTH_ROWS
from tests.support.postgres import TEST_PG_URL, count_rows
from tests.support.trips import raw_csv, yellow_taxi

LOAD_AND_CHECK = [raw_csv, yellow_taxi]
WARNINGS = [rule.name for rule in YELLOW.warnings]


def evaluations(
    result: dg.ExecuteInProcessResult,
) -> dict[tuple[str, str], dg.AssetCheckEvaluation]:
    return {(e.check_name, e.partition or ""): e for e in result.get_asset_check_evaluations()}


def load_and_check(resources: dict, month: str) -> dict[str, dg.AssetCheckEvaluation]:
    result = dg.materialize(LOAD_AND_CHECK, partition_key=month, resources=resources)
    return {name: e for (name, _), e in evaluations(result).items()}


def run_checks_only(
    resources: dict, month: str, *more: dg.AssetsDefinition
) -> dg.ExecuteInProcessResult:
    """Run a month's checks (and `more`) without reloading it, as the UI's Execute does."""
    checks = dg.AssetSelection.checks_for_assets(yellow_taxi)
    return dg.materialize(
        [*LOAD_AND_CHECK, *more],
        selection=checks | dg.AssetSelection.assets(*more),
        tags={"dagster/partition": month},
        resources=resources,
        raise_on_error=False,
    )


def sql_exec(statement: str, *identifiers: str) -> None:
    with psycopg.connect(TEST_PG_URL, autocommit=True) as conn:
        conn.execute(sql.SQL(statement).format(*(sql.Identifier(i) for i in identifiers)))  # type: ignore[arg-type]


def test_a_generated_month_passes_every_check_with_pandas_counts(resources: dict) -> None:
    found = load_and_check(resources, "2021-03")
    assert set(found) == {ROW_COUNT_CHECK, SCHEMA_CHECK, MONTH_CHECK, *WARNINGS}
    assert all(e.passed for e in found.values())
    expected = expected_flags(read_month(lake_file(resources, "2021-03")), "2021-03")
    counts = {name: found[name].metadata["flagged_rows"].value for name in WARNINGS}
    assert counts == expected and sum(counts.values()) > 0
    assert found[ROW_COUNT_CHECK].metadata["lake_rows"].value == MONTH_ROWS["2021-03"]


def test_every_warning_fails_on_a_crafted_month_and_no_row_is_dropped(
    resources: dict, pg_schema: str, tmp_path: Path
) -> None:
    dg.materialize([raw_csv], partition_key="2021-03", resources=resources)
    lines = lines_of(resources, "2021-03")
    set_field(lines, range(1, 41), PICKUP, "2009-01-01 00:12:40")
    set_field(lines, range(41, 81), TOTAL, "-12.3")
    set_field(lines, range(81, 121), DROPOFF, "2021-02-28 23:00:00")
    set_field(lines, range(121, 501), PASSENGERS, "")
    lines[501:541] = [lines[500]] * 40
    set_field(lines, range(541, 561), PASSENGERS, "-1")
    set_field(lines, range(561, 581), TOTAL, "1e309")  # a valid numeric, absurd as a fare
    serve_crafted(resources, tmp_path, "2021-03", lines)
    found = load_and_check(resources, "2021-03")
    expected = expected_flags(read_month(lake_file(resources, "2021-03")), "2021-03")
    for name, count in expected.items():
        assert not found[name].passed and found[name].metadata["flagged_rows"].value == count
        assert found[name].severity == dg.AssetCheckSeverity.WARN
    assert found[ROW_COUNT_CHECK].passed and found[SCHEMA_CHECK].passed
    assert found[MONTH_CHECK].passed  # 40 pickups in 2009: other months' share stays small
    assert count_rows(pg_schema, "yellow_taxi_2021_03") == len(lines) - 1


def test_missing_rows_fail_the_blocking_check_and_stop_the_mart(
    resources: dict, pg_schema: str
) -> None:
    dg.materialize([taxi_zones], resources=resources)
    dg.materialize(LOAD_AND_CHECK, partition_key="2021-02", resources=resources)
    sql_exec(
        "DELETE FROM {}.{} WHERE ctid IN (SELECT ctid FROM {}.{} LIMIT 10)",
        pg_schema,
        "yellow_taxi_2021_02",
        pg_schema,
        "yellow_taxi_2021_02",
    )
    result = run_checks_only(resources, "2021-02", daily_borough_trips)
    failed = evaluations(result)[(ROW_COUNT_CHECK, "2021-02")]
    assert not failed.passed and failed.metadata["difference"].value == -10
    assert "2021-02" in (failed.description or "")
    assert not result.success and not result.asset_materializations_for_node("daily_borough_trips")


def test_a_column_type_drift_fails_the_schema_check(resources: dict, pg_schema: str) -> None:
    dg.materialize(LOAD_AND_CHECK, partition_key="2021-01", resources=resources)
    sql_exec(
        "ALTER TABLE {}.{} DETACH PARTITION {}.{}",
        pg_schema,
        "yellow_taxi",
        pg_schema,
        "yellow_taxi_2021_01",
    )
    sql_exec(
        'ALTER TABLE {}.{} ALTER COLUMN "passenger_count" TYPE integer',
        pg_schema,
        "yellow_taxi_2021_01",
    )
    failed = evaluations(run_checks_only(resources, "2021-01"))[(SCHEMA_CHECK, "2021-01")]
    assert not failed.passed
    assert "('passenger_count', 'integer', True)" in (failed.description or "")


def test_a_month_never_loaded_fails_its_checks(resources: dict) -> None:
    result = run_checks_only(resources, "2021-01")
    failed = evaluations(result)[(ROW_COUNT_CHECK, "2021-01")]
    assert not failed.passed and "does not exist" in (failed.description or "")


def test_a_ranged_run_checks_each_month_on_its_own(resources: dict) -> None:
    result = dg.materialize(
        LOAD_AND_CHECK,
        resources=resources,
        tags=range_tags("2021-01", "2021-02"),
    )
    found = evaluations(result)
    for month in ("2021-01", "2021-02"):
        row_count = found[(ROW_COUNT_CHECK, month)]
        assert row_count.passed and row_count.metadata["warehouse_rows"].value == MONTH_ROWS[month]
    assert len(found) == 2 * len(list(yellow_taxi.check_specs))


def test_checks_run_on_their_own_count_duplicates_as_the_load_did(
    resources: dict, tmp_path: Path
) -> None:
    dg.materialize([raw_csv], partition_key="2021-03", resources=resources)
    lines = lines_of(resources, "2021-03")
    lines[101:131] = [lines[100]] * 30
    serve_crafted(resources, tmp_path, "2021-03", lines)
    loaded = load_and_check(resources, "2021-03")["duplicate_rows"]
    alone = evaluations(run_checks_only(resources, "2021-03"))[("duplicate_rows", "2021-03")]
    expected = expected_flags(read_month(lake_file(resources, "2021-03")), "2021-03")
    assert loaded.metadata["flagged_rows"].value == expected["duplicate_rows"] >= 30
    assert alone.metadata["flagged_rows"].value == expected["duplicate_rows"]
