"""The course's dbt models on the real warehouse: a month replaced exactly, loads and dbt
working in either order, tests scoped to the month, clear errors, a full rebuild.

`built` is one warehouse shared by the tests that leave it as they found it (two months loaded
and built, about a minute); tests that change months upstream get a warehouse of their own.
"""

from collections.abc import Iterator
from datetime import datetime
from decimal import Decimal
from pathlib import Path

import pytest

from taxi_assets.mechanics.errors import TransientError
from taxi_assets.resources import DataLake, TaxiSource, WarehouseResource
from tests.support.dbt_warehouse import (
    DBT_MODELS,
    build_dimensions,
    build_month,
    build_months,
    compiled_sql,
    existing_relations,
    holding_read,
    kept_by_staging,
    load_green_and_fhv,
    load_yellow,
    load_zones,
    month_figures,
    query,
    rolled_back,
    run_dbt_cli,
    with_dbt,
)
from tests.support.postgres import TEST_PG_URL, throwaway_schema
from tests.support.runs import failure_message

pytestmark = pytest.mark.slow
MONTHS = ("2021-02", "2021-03")


def load_months(resources: dict, schema: str) -> dict:
    """Yellow, green and FHV for February and March, the zones, dim_zones and the seed built."""
    resources = with_dbt(resources)
    load_zones(resources)
    for month in MONTHS:
        load_yellow(resources, month)
        load_green_and_fhv(schema, month)
    build_dimensions(resources)
    return resources


# Each xdist worker that runs a test on `built` builds it once (46 s). Its tests are split into
# two groups, each kept on one worker: two builds instead of one per worker, and two chains of
# about 75 s each.
ON_FIRST_BUILD = pytest.mark.xdist_group("dbt_models_first")
ON_SECOND_BUILD = pytest.mark.xdist_group("dbt_models_second")


@pytest.fixture(scope="module")
def built(mirror_url: str, tmp_path_factory: pytest.TempPathFactory) -> Iterator[dict]:
    """A shared warehouse with both months built; "march" holds March's build result."""
    with throwaway_schema() as schema:
        postgres = WarehouseResource(url=TEST_PG_URL, schema_name=schema)
        resources = {
            "source": TaxiSource(base_url=mirror_url),
            "lake": DataLake(root=str(tmp_path_factory.mktemp("lake"))),
            "warehouse": postgres,
        }
        resources = load_months(resources, schema)
        build_month(resources, "2021-02")
        march = build_month(resources, "2021-03")
        yield {"resources": resources, "schema": schema, "march": march}


@pytest.fixture
def warehouse(resources: dict, pg_schema: str) -> dict:
    """A warehouse of this test's own with both months loaded (none built)."""
    return load_months(resources, pg_schema)


@pytest.fixture
def cli_env(built: dict) -> dict[str, str]:
    return {"TAXI_PG_URL": TEST_PG_URL, "TAXI_PG_SCHEMA": built["schema"]}


@ON_FIRST_BUILD
def test_a_month_keeps_what_staging_kept_and_the_mart_adds_up(built: dict):
    schema, checks = built["schema"], built["march"].get_asset_check_evaluations()
    rows, trip_ids, revenue = month_figures(schema, "fct_trips", "2021-03")
    mart_trips, _, mart_revenue = month_figures(schema, "fct_monthly_zone_revenue", "2021-03")
    assert rows == trip_ids == kept_by_staging(schema, "2021-03") == mart_trips
    assert mart_revenue == revenue
    assert len(checks) >= 20 and all(check.passed for check in checks)


def at(hour: int, minute: int = 0) -> datetime:
    return datetime(2021, 3, 15, hour, minute)


# int_trips' anti-join against the course's row_number() = 1, on March's rows plus trips whose
# rows differ only where NULLs meet: (vendor, pickup, zone, drop-off, total, drop-off zone).
TIED_TRIPS = [
    (1, at(10), 100, at(10, 30), 20, 5),  # kept: first by drop-off, then total
    (1, at(10), 100, at(10, 30), None, 4),  # a NULL total sorts last
    (1, at(10), 100, None, 10, 1),  # a NULL drop-off sorts last
    (2, at(11), None, at(11, 20), 15, None),  # rows with no pickup zone are one trip
    (2, at(11), None, at(11, 20), 15, 7),  # kept: a drop-off zone sorts before none
    (2, at(11), -1, at(11, 20), 15, 7),  # zone -1 is another trip than no zone
    (1, at(12), 7, at(12, 10), 9, 8),  # exact copies: one is kept
    (1, at(12), 7, at(12, 10), 9, 8),
]
TRIP_COLUMNS = """vendor_id, pickup_datetime, pickup_location_id, dropoff_datetime,
    total_amount, dropoff_location_id"""
KEPT_BY_INT_TRIPS = f"""
    SELECT {TRIP_COLUMNS} FROM int_trips WHERE file_month = '2021-03-01'
    ORDER BY 1, 2, 3, 4, 5, 6"""
KEPT_BY_ROW_NUMBER = f"""
    SELECT {TRIP_COLUMNS}
    FROM (SELECT *, row_number() OVER (
              PARTITION BY file_month, vendor_id, pickup_datetime, pickup_location_id, service_type
              ORDER BY dropoff_datetime, total_amount, dropoff_location_id) AS duplicate_rank
          FROM int_trips_unioned WHERE file_month = '2021-03-01') AS ranked
    WHERE duplicate_rank = 1 ORDER BY 1, 2, 3, 4, 5, 6"""


@ON_SECOND_BUILD
def test_int_trips_keeps_the_row_the_course_row_number_keeps(built: dict):
    with rolled_back(built["schema"]) as conn:  # the shared months stay as built
        conn.cursor().executemany(
            "INSERT INTO stg_yellow_tripdata (vendor_id, pickup_datetime, pickup_location_id,"
            " dropoff_datetime, total_amount, dropoff_location_id, file_month)"
            " VALUES (%s, %s, %s, %s, %s, %s, '2021-03-01')",
            TIED_TRIPS,
        )
        expected = conn.execute(KEPT_BY_ROW_NUMBER).fetchall()
        kept = conn.execute(KEPT_BY_INT_TRIPS).fetchall()
    assert kept == expected
    tied_keys = {trip[:3] for trip in TIED_TRIPS}
    tied = {row[:3]: row[3:] for row in kept if row[:3] in tied_keys}
    assert tied == {
        (1, at(10), 100): (at(10, 30), Decimal(20), 5),
        (2, at(11), None): (at(11, 20), Decimal(15), 7),
        (2, at(11), -1): (at(11, 20), Decimal(15), 7),
        (1, at(12), 7): (at(12, 10), Decimal(9), 8),
    }
    assert len(kept) > len(tied)  # March's generated trips are compared too


@ON_FIRST_BUILD
def test_a_month_missing_from_the_warehouse_is_named(built: dict):
    result = build_month(built["resources"], "2021-01", raise_on_error=False)
    error = failure_message(result)
    assert "the warehouse has no yellow_taxi rows for 2021-01" in error
    assert "materialize yellow_taxi for 2021-01 first" in error


@ON_SECOND_BUILD
def test_a_swap_does_not_wait_for_dbt_reading_another_month(
    built: dict, cli_env: dict, tmp_path: Path
):
    schema, resources = built["schema"], built["resources"]
    impatient = WarehouseResource(
        url=resources["warehouse"].url,
        schema_name=resources["warehouse"].schema_name,
        lock_timeout_seconds=1,
        load_attempts=1,
    )
    march_staging = compiled_sql("stg_yellow_tripdata", "2021-03", cli_env, tmp_path)
    with holding_read(schema, march_staging):
        load_yellow({**resources, "warehouse": impatient}, "2021-02")  # swapped within 1 s
    parent = "SELECT count(*) FROM yellow_taxi WHERE file_month = '2021-03-01'"
    with holding_read(schema, parent), pytest.raises(TransientError, match="swap gave up"):
        load_yellow({**resources, "warehouse": impatient}, "2021-02")  # reading the parent


@ON_SECOND_BUILD
def test_tests_look_at_the_month_being_built(built: dict, cli_env: dict, tmp_path: Path):
    schema, february = built["schema"], "file_month = '2021-02-01'"
    query(f"INSERT INTO fct_trips SELECT * FROM fct_trips WHERE {february} LIMIT 1", schema)
    march = build_month(built["resources"], "2021-03")
    failing = run_dbt_cli(
        ["test", "-s", "fct_trips", "--vars", "{month: 2021-02}"], cli_env, tmp_path
    )
    query(
        "DELETE FROM fct_trips_2021_02 WHERE ctid IN (SELECT max(ctid) FROM fct_trips_2021_02"
        " GROUP BY trip_id HAVING count(*) > 1)",
        schema,
    )  # the shared warehouse as it was
    assert all(check.passed for check in march.get_asset_check_evaluations())
    assert failing.returncode != 0 and "FAIL 1 unique_fct_trips_trip_id" in failing.stdout


@ON_SECOND_BUILD
def test_rebuilding_a_view_keeps_the_views_built_on_it(built: dict, cli_env: dict, tmp_path: Path):
    union_only = ["run", "-s", "int_trips_unioned", "--vars", "{month: 2021-03}"]
    assert run_dbt_cli(union_only, cli_env, tmp_path).returncode == 0
    assert {"int_trips_unioned", "int_trips"} <= existing_relations(built["schema"])


@ON_FIRST_BUILD
def test_a_full_rebuild_reads_every_month(built: dict, cli_env: dict, tmp_path: Path):
    per_month = [month_figures(built["schema"], "fct_trips", m) for m in MONTHS]
    done = run_dbt_cli(["build", "--full-refresh"], cli_env, tmp_path)
    assert done.returncode == 0, done.stdout[-3000:]
    assert [month_figures(built["schema"], "fct_trips", m) for m in MONTHS] == per_month


def test_rebuilding_a_reloaded_month_replaces_exactly_its_rows(warehouse: dict, pg_schema: str):
    for month in MONTHS:
        build_month(warehouse, month)
    february = month_figures(pg_schema, "fct_trips", "2021-02")
    load_green_and_fhv(pg_schema, "2021-03", green_rows=150, seed=3)  # different rows
    build_month(warehouse, "2021-03")
    rows, trip_ids, revenue = month_figures(pg_schema, "fct_trips", "2021-03")
    assert rows == trip_ids == kept_by_staging(pg_schema, "2021-03")
    assert month_figures(pg_schema, "fct_monthly_zone_revenue", "2021-03")[::2] == (rows, revenue)
    assert month_figures(pg_schema, "fct_trips", "2021-02") == february


def test_loads_replace_zones_and_months_under_built_models(warehouse: dict, pg_schema: str):
    build_month(warehouse, "2021-03")  # dbt after the loads ...
    before = month_figures(pg_schema, "fct_trips", "2021-03")
    load_zones(warehouse)  # ... then the loads again, over dbt's tables and views
    load_yellow(warehouse, "2021-03")
    load_green_and_fhv(pg_schema, "2021-03")
    assert set(DBT_MODELS) <= existing_relations(pg_schema)
    build_dimensions(warehouse)
    build_month(warehouse, "2021-03")
    assert month_figures(pg_schema, "fct_trips", "2021-03") == before


@ON_FIRST_BUILD
def test_a_range_is_one_dbt_build_that_reports_each_month(built: dict):
    result = build_months(built["resources"], MONTHS[0], MONTHS[-1])
    steps = [e for e in result.all_events if e.event_type_value == "STEP_START"]
    evaluations = result.get_asset_check_evaluations()
    assert len(steps) == 1 and result.success
    for model in ("stg_yellow_tripdata", "fct_trips", "fct_monthly_zone_revenue"):
        months = {
            m.partition
            for m in result.asset_materializations_for_node("taxi_dbt_monthly")
            if m.asset_key.to_user_string() == model
        }
        assert months == set(MONTHS), model
    by_check: dict[str, set] = {}
    for evaluation in evaluations:
        assert evaluation.passed and evaluation.description.startswith(evaluation.partition)
        by_check.setdefault(evaluation.check_name, set()).add(evaluation.partition)
    assert len(by_check) >= 20 and all(months == set(MONTHS) for months in by_check.values())


@ON_FIRST_BUILD
def test_a_ranged_not_null_test_of_file_month_reads_no_month_table(built: dict):
    """A ranged test reads the months' children (macros/month.sql); each child's file_month is
    NOT NULL, so Postgres answers `file_month is null` without scanning one, as the parent's
    partition pruning does in a full build."""
    for model in ("stg_yellow_tripdata", "fct_trips"):
        children = " union all ".join(
            f"select * from {model}_{month.replace('-', '_')}" for month in MONTHS
        )
        plan = query(
            f"EXPLAIN SELECT file_month FROM ({children}) AS s WHERE file_month IS NULL",
            built["schema"],
        )
        assert not any("Scan" in line for (line,) in plan), (model, plan)


@ON_SECOND_BUILD
def test_a_test_failing_in_a_range_fails_for_its_month_only(built: dict):
    schema, resources = built["schema"], built["resources"]
    check = "accepted_values_fct_trips_payment_type__False__1__2__3__4__5__6"
    query(  # a March trip paid with a payment type the data dictionary does not have
        "INSERT INTO yellow_taxi_2021_03 SELECT (trip).* FROM (SELECT t AS trip FROM"
        ' yellow_taxi_2021_03 AS t WHERE "VendorID" IS NOT NULL LIMIT 1) AS one',
        schema,
    )
    query(
        "UPDATE yellow_taxi_2021_03 SET payment_type = 9, tpep_pickup_datetime ="
        " tpep_pickup_datetime + interval '1 second'"
        " WHERE ctid = (SELECT max(ctid) FROM yellow_taxi_2021_03)",
        schema,
    )
    try:
        result = build_months(resources, MONTHS[0], MONTHS[-1], raise_on_error=False)
    finally:
        query("DELETE FROM yellow_taxi_2021_03 WHERE payment_type = 9", schema)
    outcome = {
        e.partition: (e.passed, e.metadata["failing_rows"].value)
        for e in result.get_asset_check_evaluations()
        if e.check_name == check
    }
    assert not result.success and outcome == {"2021-02": (True, 0), "2021-03": (False, 1)}
    assert check in failure_message(result)
    assert build_months(resources, MONTHS[0], MONTHS[-1]).success  # as it was


@ON_FIRST_BUILD
def test_a_trip_in_two_months_files_is_unique_within_each_month(built: dict):
    schema, resources = built["schema"], built["resources"]
    same_trip = (
        'yellow_taxi_2021_03 AS t USING twice AS d WHERE t."VendorID" = d."VendorID" AND'
        ' t.tpep_pickup_datetime = d.tpep_pickup_datetime AND t."PULocationID" = d."PULocationID"'
    )
    query(  # February's first trip again in March's file, as the TLC's files sometimes have
        'CREATE TABLE twice AS SELECT * FROM yellow_taxi_2021_02 WHERE "VendorID" IS NOT NULL'
        " ORDER BY tpep_pickup_datetime LIMIT 1",
        schema,
    )
    query("UPDATE twice SET file_month = '2021-03-01'", schema)
    query("INSERT INTO yellow_taxi_2021_03 SELECT * FROM twice", schema)
    try:
        result = build_months(resources, MONTHS[0], MONTHS[-1], raise_on_error=False)
    finally:
        query(f"DELETE FROM {same_trip}", schema)
        query("DROP TABLE twice", schema)
    unique = [
        e
        for e in result.get_asset_check_evaluations()
        if e.check_name == "unique_fct_trips_trip_id"
    ]
    assert result.success and {e.partition for e in unique} == set(MONTHS)
    assert all(e.passed for e in unique)
    assert build_months(resources, MONTHS[0], MONTHS[-1]).success  # as it was


@ON_SECOND_BUILD
def test_a_rebuild_swaps_in_new_month_tables(built: dict):
    schema = built["schema"]
    tables = (
        "SELECT relname, pg_class.oid FROM pg_class JOIN pg_namespace n ON n.oid = relnamespace "
    )
    tables += "WHERE nspname = %s AND relname LIKE 'fct_trips%%'"
    before = dict(query(tables, schema, schema))
    figures = month_figures(schema, "fct_trips", "2021-03")
    build_month(built["resources"], "2021-03")
    after = dict(query(tables, schema, schema))
    assert set(after) == set(before) == {"fct_trips", "fct_trips_2021_02", "fct_trips_2021_03"}
    assert after["fct_trips_2021_03"] != before["fct_trips_2021_03"]  # a table of its own
    assert after["fct_trips_2021_02"] == before["fct_trips_2021_02"]  # untouched
    assert month_figures(schema, "fct_trips", "2021-03") == figures


@ON_SECOND_BUILD
def test_a_full_refresh_of_one_month_is_refused(built: dict, cli_env: dict, tmp_path: Path):
    schema = built["schema"]
    figures = [month_figures(schema, "fct_trips", m) for m in MONTHS]
    done = run_dbt_cli(["build", "--full-refresh", "--vars", "{month: 2021-02}"], cli_env, tmp_path)
    assert done.returncode != 0
    assert "--full-refresh rebuilds every month" in done.stdout + done.stderr
    assert [month_figures(schema, "fct_trips", m) for m in MONTHS] == figures


# The module-4 homework's questions, over the generated months (2021, where the course asks of
# 2019-2020), each put to the models and in plain SQL to the loaded tables.
KEPT_TRIPS = """
    SELECT DISTINCT ON (file_month, service, "VendorID", pickup, "PULocationID")
           file_month, service, pickup, "PULocationID" AS zone_id, total_amount::numeric AS total
    FROM (SELECT file_month, 'Yellow' AS service, tpep_pickup_datetime AS pickup,
                 tpep_dropoff_datetime AS dropoff, "VendorID", "PULocationID", "DOLocationID",
                 total_amount FROM yellow_taxi
          UNION ALL
          SELECT file_month, 'Green', lpep_pickup_datetime, lpep_dropoff_datetime, "VendorID",
                 "PULocationID", "DOLocationID", total_amount FROM green_taxi) AS raw
    WHERE "VendorID" IS NOT NULL
    ORDER BY file_month, service, "VendorID", pickup, "PULocationID", dropoff, total_amount,
             "DOLocationID"
"""
RAW_REVENUE = f"""
    SELECT trips.file_month, coalesce(zones."Zone", 'Unknown Zone') AS pickup_zone,
           date_trunc('month', trips.pickup)::date AS revenue_month, trips.service,
           count(*) AS trips, sum(trips.total) AS total
    FROM ({KEPT_TRIPS}) AS trips LEFT JOIN taxi_zones AS zones ON zones."LocationID" = trips.zone_id
    GROUP BY 1, 2, 3, 4
"""
HOMEWORK = [
    (
        "select count(*) from fct_monthly_zone_revenue",
        f"select count(*) from ({RAW_REVENUE}) as revenue",
    ),
    (
        "select pickup_zone from fct_monthly_zone_revenue where service_type = 'Green' and"
        " revenue_month >= '2021-01-01' and revenue_month < '2022-01-01' group by pickup_zone"
        " order by sum(revenue_monthly_total_amount) desc, pickup_zone limit 1",
        f"select pickup_zone from ({RAW_REVENUE}) as revenue where service = 'Green' and"
        " revenue_month >= '2021-01-01' and revenue_month < '2022-01-01' group by pickup_zone"
        " order by sum(total) desc, pickup_zone limit 1",
    ),
    (
        "select sum(total_monthly_trips) from fct_monthly_zone_revenue"
        " where service_type = 'Green' and revenue_month = '2021-03-01'",
        f"select sum(trips) from ({RAW_REVENUE}) as revenue"
        " where service = 'Green' and revenue_month = '2021-03-01'",
    ),
    (
        "select count(*) from stg_fhv_tripdata",
        "select count(*) from fhv_taxi where nullif(trim(dispatching_base_num), '') is not null",
    ),
]


@ON_FIRST_BUILD
@pytest.mark.parametrize(("models", "plain"), HOMEWORK, ids=["rows", "best_zone", "green", "fhv"])
def test_the_models_answer_the_homework_as_plain_sql_does(built: dict, models: str, plain: str):
    answer = query(models, built["schema"])
    assert answer == query(plain, built["schema"])
    assert answer[0][0] not in (None, 0)
