"""The zone lookup, the borough mart against pandas, and marts following reloaded months."""

from pathlib import Path

import dagster as dg
import pandas as pd
import psycopg
import pytest
from psycopg import sql

from taxi_assets.marts.assets import MART_TABLE, daily_borough_trips
from taxi_assets.resources import TaxiSource
from taxi_assets.shared.launch import range_tags
from taxi_assets.zones.assets import ZONES_TABLE, taxi_zones
from tests.support.crafted_months import lake_file, read_month
from tests.support.instance_events import only_metadata
from tests.support.postgres import TEST_PG_URL
from tests.support.trips import raw_csv, yellow_taxi

GRAPH = [raw_csv, yellow_taxi, taxi_zones, daily_borough_trips]
MONTHLY = [raw_csv, yellow_taxi, daily_borough_trips]


def load_month_and_mart(resources: dict, month: str, raise_on_error: bool = True):
    """One month through lake, warehouse and mart (taxi_zones as already loaded, or not)."""
    return dg.materialize(
        GRAPH,
        selection=MONTHLY,
        partition_key=month,
        resources=resources,
        raise_on_error=raise_on_error,
    )


def read_table(schema: str, table: str) -> pd.DataFrame:
    with psycopg.connect(TEST_PG_URL) as conn, conn.cursor() as cur:
        cur.execute(sql.SQL("SELECT * FROM {}").format(sql.Identifier(schema, table)))
        return pd.DataFrame(cur.fetchall(), columns=[d.name for d in cur.description or []])


def zones_csv(mirror_dir: Path) -> pd.DataFrame:
    return pd.read_csv(mirror_dir / "misc" / "taxi_zone_lookup.csv", keep_default_na=False)


def pandas_mart(trips: pd.DataFrame, zones: pd.DataFrame, month: str) -> pd.DataFrame:
    """The mart computed independently: same month's pickups, left-joined to zones, grouped."""
    start = pd.Timestamp(f"{month}-01")
    trips = trips[
        (trips.tpep_pickup_datetime >= start)
        & (trips.tpep_pickup_datetime < start + pd.offsets.MonthBegin(1))
    ]
    joined = trips.merge(zones, how="left", left_on="PULocationID", right_on="LocationID")
    joined["pickup_borough"] = joined["Borough"].fillna("Unknown")
    joined["pickup_date"] = joined.tpep_pickup_datetime.dt.date
    joined["minutes"] = (
        joined.tpep_dropoff_datetime - joined.tpep_pickup_datetime
    ).dt.total_seconds() / 60
    grouped = joined.groupby(["pickup_date", "pickup_borough"])
    return grouped.agg(
        trips=("minutes", "size"), revenue=("total_amount", "sum"), median=("minutes", "median")
    ).reset_index()


def test_taxi_zones_holds_the_lookup_as_published(
    resources: dict, pg_schema: str, mirror_dir: Path
) -> None:
    result = dg.materialize([taxi_zones], resources=resources)
    table = read_table(pg_schema, ZONES_TABLE).sort_values("LocationID").reset_index(drop=True)
    expected = zones_csv(mirror_dir)
    metadata = result.asset_materializations_for_node("taxi_zones")[0].metadata
    assert len(table) == metadata["dagster/row_count"].value == 265
    pd.testing.assert_frame_equal(table, expected, check_dtype=False)
    assert table.loc[table.LocationID == 265, "Zone"].item() == "NA"


def test_a_zone_file_with_another_header_is_refused_and_the_old_lookup_stays(
    resources: dict, pg_schema: str, mirror_dir: Path, tmp_path: Path
) -> None:
    dg.materialize([taxi_zones], resources=resources)
    text = (mirror_dir / "misc" / "taxi_zone_lookup.csv").read_text()
    drifted = tmp_path / "drifted" / "misc" / "taxi_zone_lookup.csv"
    drifted.parent.mkdir(parents=True)
    drifted.write_text(text.replace('"Borough"', '"borough_name"', 1).replace("EWR", "XXX"))
    resources["source"] = TaxiSource(base_url=(tmp_path / "drifted").as_uri())
    result = dg.materialize([taxi_zones], resources=resources, raise_on_error=False)
    message = str(result.get_step_failure_events()[0].step_failure_data.error)
    assert "taxi zones" in message and "borough_name" in message and drifted.name in message
    assert "XXX" not in set(read_table(pg_schema, ZONES_TABLE).Borough)


def test_the_mart_matches_an_independent_pandas_computation(
    resources: dict, pg_schema: str, mirror_dir: Path
) -> None:
    dg.materialize([taxi_zones], resources=resources)
    load_month_and_mart(resources, "2021-02")
    mart = read_table(pg_schema, MART_TABLE).sort_values(["pickup_date", "pickup_borough"])
    trips = read_month(lake_file(resources, "2021-02"))
    expected = pandas_mart(trips, zones_csv(mirror_dir), "2021-02")
    assert list(mart.pickup_date) == list(expected.pickup_date)
    assert list(mart.pickup_borough) == list(expected.pickup_borough)
    assert list(mart.trips) == list(expected.trips)
    assert [float(r) for r in mart.revenue] == pytest.approx(list(expected.revenue), abs=1e-6)
    assert list(mart.median_trip_minutes) == pytest.approx(list(expected["median"]), abs=1e-9)


def test_reloading_a_mart_month_replaces_it_exactly(resources: dict, pg_schema: str) -> None:
    dg.materialize([taxi_zones], resources=resources)
    load_month_and_mart(resources, "2021-01")
    load_month_and_mart(resources, "2021-02")
    before = sorted_mart(pg_schema)
    load_month_and_mart(resources, "2021-02")
    pd.testing.assert_frame_equal(sorted_mart(pg_schema), before)
    assert set(before.file_month.astype(str)) == {"2021-01-01", "2021-02-01"}


def test_a_ranged_run_builds_each_mart_month_with_its_own_metadata(
    resources: dict, pg_schema: str
) -> None:
    months = ("2021-01", "2021-02", "2021-03")
    dg.materialize([taxi_zones], resources=resources)
    with dg.instance_for_test() as instance:
        tags = range_tags(months[0], months[-1])
        for step in ([raw_csv, yellow_taxi], [daily_borough_trips]):
            dg.materialize(GRAPH, selection=step, resources=resources, tags=tags, instance=instance)
        meta = {m: only_metadata(instance, daily_borough_trips.key, m) for m in months}
    groups = sorted_mart(pg_schema).groupby("file_month").size()
    assert [meta[m]["dagster/row_count"].value for m in months] == list(groups)
    assert len(groups) == 3
    own_figures_only = {"dagster/row_count", "dagster/table_name", "preview"}
    assert all(set(meta[m]) == own_figures_only for m in months)


def test_the_mart_preview_shows_minutes_to_a_tenth(resources: dict, pg_schema: str) -> None:
    dg.materialize([taxi_zones], resources=resources)
    result = load_month_and_mart(resources, "2021-01")
    preview = result.asset_materializations_for_node("daily_borough_trips")[0].metadata["preview"]
    rows = [line.strip("| ").split(" | ") for line in preview.value.splitlines()[2:]]
    stored = sorted_mart(pg_schema).head(len(rows))
    shown = [float(row[-1]) for row in rows]
    assert shown == pytest.approx(list(stored.median_trip_minutes), abs=0.05 + 1e-9)
    assert all(len(row[-1].split(".")[-1]) == 1 for row in rows)


def test_the_mart_says_to_load_zones_first(resources: dict) -> None:
    result = load_month_and_mart(resources, "2021-01", raise_on_error=False)
    message = str(result.get_step_failure_events()[0].step_failure_data.error)
    assert "taxi_zones does not exist: materialize taxi_zones first" in message


def test_a_reloaded_month_requests_its_mart_month_again(resources: dict) -> None:
    with dg.instance_for_test() as instance:
        tick = AutomationTicks(resources, instance)
        tick.requested()  # the sensor was already running before anything loaded
        tick.run([taxi_zones])
        tick.run([raw_csv, yellow_taxi], "2021-01")
        first = tick.requested()
        tick.run([daily_borough_trips], "2021-01")
        settled = tick.requested()
        tick.run([yellow_taxi], "2021-01")
        again = tick.requested()
    assert (first, settled, again) == ({"2021-01"}, set(), {"2021-01"})


def test_a_mart_skipped_in_a_ranged_load_is_requested_month_by_month(resources: dict) -> None:
    """A ranged run records trip months as they commit, with no step output (that would record
    each month twice), so the mart in the same run is skipped; automation then requests it."""
    with dg.instance_for_test() as instance:
        tick = AutomationTicks(resources, instance)
        tick.requested()
        tick.run([taxi_zones])
        tags = range_tags("2021-01", "2021-02")
        dg.materialize(GRAPH, selection=MONTHLY, resources=resources, tags=tags, instance=instance)
        assert tick.requested() == {"2021-01", "2021-02"}


def test_missing_zones_are_requested_until_loaded_but_not_after_a_failure(
    resources: dict, mirror_url: str
) -> None:
    unpublished = {**resources, "source": TaxiSource(base_url=f"{mirror_url}/nowhere")}
    with dg.instance_for_test() as instance:
        tick = AutomationTicks(resources, instance)
        fresh = tick.requested(taxi_zones)  # a new deployment: nothing loaded yet
        dg.materialize([taxi_zones], resources=unpublished, instance=instance, raise_on_error=False)
        after_failure = tick.requested(taxi_zones)  # no retry loop: a person looks first
        tick.run([raw_csv, yellow_taxi], "2021-01")
        tick.run([taxi_zones])
        mart = tick.requested()
    assert (fresh, after_failure, mart) == ({None}, set(), {"2021-01"})


def sorted_mart(schema: str) -> pd.DataFrame:
    mart = read_table(schema, MART_TABLE)
    return mart.sort_values(["file_month", "pickup_date", "pickup_borough"]).reset_index(drop=True)


class AutomationTicks:
    """Materializations and automation-sensor ticks against one instance, cursor carried over."""

    def __init__(self, resources: dict, instance: dg.DagsterInstance) -> None:
        self.defs = dg.Definitions(assets=GRAPH, resources=resources)
        self.resources, self.instance, self.cursor = resources, instance, None

    def run(self, assets: list, month: str | None = None) -> None:
        dg.materialize(
            GRAPH,
            selection=assets,
            partition_key=month,
            resources=self.resources,
            instance=self.instance,
        )

    def requested(self, asset: dg.AssetsDefinition = daily_borough_trips) -> set[str | None]:
        """The partitions of `asset` this tick requests (None for an unpartitioned asset)."""
        result = dg.evaluate_automation_conditions(
            defs=self.defs, instance=self.instance, cursor=self.cursor
        )
        self.cursor = result.cursor
        return set(result.get_requested_partitions(asset.key))
