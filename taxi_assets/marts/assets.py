"""Marts computed inside Postgres from the lesson's trips (`MART_SOURCE`) and
`taxi_zones`, one month at a time.

`daily_borough_trips` holds, for the trips of a file month whose pickup lies in that month,
the trips, revenue and median trip minutes per pickup day and pickup borough. A month is
replaced by the warehouse writer in one transaction (delete the month, insert it again), so
readers see the old figures or the new ones. It follows its upstream months by declarative
automation: when a month of its trips (or the zone lookup) is materialized again, that month is
recomputed.
"""

import datetime as dt
from typing import Any

import dagster as dg
from psycopg import sql

from taxi_assets.datasets import MART_SOURCE
from taxi_assets.mechanics.errors import TaxiError
from taxi_assets.mechanics.months import next_month, parse_month
from taxi_assets.mechanics.schema import Column
from taxi_assets.mechanics.writer import Table, WarehouseWriter
from taxi_assets.resources import WarehouseResource
from taxi_assets.shared.automation import MONTHS_WHOSE_INPUTS_CHANGED, automation_interval_seconds
from taxi_assets.shared.metadata import dagster_column_schema, markdown_table
from taxi_assets.shared.ownership import OWNERS
from taxi_assets.shared.partitions import month_partitions
from taxi_assets.trips.assets import RANGE_IN_ONE_RUN
from taxi_assets.zones.assets import ZONES_TABLE, taxi_zones

MART_TABLE = "daily_borough_trips"
MART_COLUMNS: tuple[Column, ...] = (
    Column("file_month", "date", "datetime64[us]", "First day of the source file's month.", False),
    Column("pickup_date", "date", "datetime64[us]", "Day of the pickup (New York time).", False),
    Column("pickup_borough", "text", "string", "Borough of the pickup zone, else Unknown.", False),
    Column("trips", "bigint", "Int64", "Trips picked up that day in that borough.", False),
    Column("revenue", "numeric", "Float64", "Sum of total_amount in USD (negatives included)."),
    Column("median_trip_minutes", "double precision", "Float64", "Median dropoff - pickup."),
)
TRIPS_KEY = dg.AssetKey(MART_SOURCE.table)
PICKUP, DROPOFF = MART_SOURCE.pickup_column, MART_SOURCE.dropoff_column
MART = Table(MART_TABLE, MART_COLUMNS, primary_key=tuple(c.name for c in MART_COLUMNS[:3]))


def _from_trips(*columns: str) -> list[dg.TableColumnDep]:
    return [dg.TableColumnDep(asset_key=TRIPS_KEY, column_name=c) for c in columns]


def _from_zones(*columns: str) -> list[dg.TableColumnDep]:
    return [dg.TableColumnDep(asset_key=taxi_zones.key, column_name=c) for c in columns]


COLUMN_LINEAGE = dg.TableColumnLineage(
    deps_by_column={
        "file_month": _from_trips("file_month"),
        "pickup_date": _from_trips(PICKUP),
        "pickup_borough": _from_trips(MART_SOURCE.pickup_zone_column)
        + _from_zones("LocationID", "Borough"),
        "trips": _from_trips(PICKUP),
        "revenue": _from_trips("total_amount"),
        "median_trip_minutes": _from_trips(PICKUP, DROPOFF),
    }
)


@dg.asset(
    partitions_def=month_partitions,
    backfill_policy=RANGE_IN_ONE_RUN,
    deps=[TRIPS_KEY, taxi_zones],
    group_name="marts",
    owners=OWNERS,
    kinds={"postgres"},
    automation_condition=MONTHS_WHOSE_INPUTS_CHANGED,
    metadata={
        "dagster/column_schema": dagster_column_schema(MART_COLUMNS),
        "dagster/table_name": MART_TABLE,
        "dagster/column_lineage": COLUMN_LINEAGE,
    },
)
def daily_borough_trips(
    context: dg.AssetExecutionContext, warehouse: WarehouseResource
) -> dg.MaterializeResult:
    """Trips, revenue and median trip minutes per pickup day and borough, computed in Postgres.

    A month is computed once its yellow_taxi month and taxi_zones are loaded; the automation
    sensor loads taxi_zones by itself when it is missing.
    """
    writer = warehouse.writer()
    require_zones(writer)
    per_month = {key: rebuild_month(writer, parse_month(key)) for key in context.partition_keys}
    if len(per_month) == 1:
        return dg.MaterializeResult(metadata=next(iter(per_month.values())))
    # Each month's materialization gets its own figures and nothing else: metadata on the
    # result itself would be copied onto every month of the range.
    for key, metadata in per_month.items():
        context.add_asset_metadata(metadata, partition_key=key)
    return dg.MaterializeResult()


def require_zones(writer: WarehouseWriter) -> None:
    """Fail clearly if the zone lookup is not loaded."""
    with writer.connect() as conn:
        if not writer.exists(conn, ZONES_TABLE):
            raise TaxiError(
                f"{writer.schema}.{ZONES_TABLE} does not exist: materialize taxi_zones first"
            )


_INSERT_MONTH = """
INSERT INTO {mart}
SELECT t.file_month,
       t.{pickup}::date,
       coalesce(z."Borough", 'Unknown'),
       count(*),
       sum(t.total_amount),
       percentile_cont(0.5) WITHIN GROUP (ORDER BY (extract(epoch FROM
           t.{dropoff} - t.{pickup}) / 60)::double precision)
FROM {trips} AS t LEFT JOIN {zones} AS z ON z."LocationID" = t.{zone}
WHERE t.file_month = %(month)s
  AND t.{pickup} >= %(month)s AND t.{pickup} < %(end)s
GROUP BY 1, 2, 3
"""


def rebuild_month(writer: WarehouseWriter, month: dt.date) -> dict[str, Any]:
    """Replace the month's mart rows in one transaction; return its metadata."""
    insert = sql.SQL(_INSERT_MONTH).format(  # type: ignore[arg-type]
        mart=writer.ident(MART_TABLE),
        trips=writer.ident(MART_SOURCE.table),
        zones=writer.ident(ZONES_TABLE),
        pickup=sql.Identifier(PICKUP),
        dropoff=sql.Identifier(DROPOFF),
        zone=sql.Identifier(MART_SOURCE.pickup_zone_column),
    )
    params = {"month": month, "end": next_month(month)}
    stats = writer.replace_month_rows(MART, "file_month", month, insert, params)
    return {
        "dagster/row_count": stats.rows,
        "dagster/table_name": f"{writer.schema}.{MART_TABLE}",
        "preview": dg.MetadataValue.md(
            markdown_table([c.name for c in MART_COLUMNS], map(readable, stats.first_rows))
        ),
    }


def readable(row: tuple) -> tuple:
    """A row as people read it: minutes to 0.1 (the table itself keeps full precision)."""
    return tuple(round(v, 1) if isinstance(v, float) else v for v in row)


# Running by default, so a reloaded month refreshes its marts without anyone switching it on.
# It also loads taxi_zones when missing, which every mart month waits for.
marts_automation_sensor = dg.AutomationConditionSensorDefinition(
    "marts_automation_sensor",
    minimum_interval_seconds=automation_interval_seconds(),
    target=dg.AssetSelection.groups("marts") | dg.AssetSelection.assets(taxi_zones),
    default_status=dg.DefaultSensorStatus.RUNNING,
    description="Loads taxi_zones when missing; recomputes a mart's month when its trips' month "
    "or taxi_zones changes.",
)
