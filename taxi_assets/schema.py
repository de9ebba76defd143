"""The one declaration of the yellow-taxi columns.

DDL, the COPY column list, the header check, pandas dtypes for reads and the
`dagster/column_schema` metadata are all derived from `YELLOW_COLUMNS`; nothing else
repeats the column list.
"""

from collections.abc import Sequence
from dataclasses import dataclass

import dagster as dg
from psycopg import sql


@dataclass(frozen=True)
class Column:
    """One warehouse column: its source name, Postgres type, pandas dtype and meaning."""

    name: str
    pg_type: str
    pandas_dtype: str
    description: str
    nullable: bool = True


YELLOW_COLUMNS: tuple[Column, ...] = (
    Column("VendorID", "smallint", "Int16", "TPEP provider (1 Creative Mobile, 2 VeriFone)."),
    Column(
        "tpep_pickup_datetime",
        "timestamp",
        "datetime64[us]",
        "Meter engaged, naive New York local time.",
        nullable=False,
    ),
    Column(
        "tpep_dropoff_datetime",
        "timestamp",
        "datetime64[us]",
        "Meter disengaged, naive New York local time.",
        nullable=False,
    ),
    Column("passenger_count", "smallint", "Int16", "Passengers, entered by the driver."),
    Column("trip_distance", "numeric", "Float64", "Trip distance in miles from the taximeter."),
    Column("RatecodeID", "smallint", "Int16", "Final rate code (1 standard .. 6 group ride)."),
    Column("store_and_fwd_flag", "text", "string", "Y if the trip was held in the vehicle first."),
    Column("PULocationID", "smallint", "Int16", "Pickup TLC taxi zone."),
    Column("DOLocationID", "smallint", "Int16", "Drop-off TLC taxi zone."),
    Column("payment_type", "smallint", "Int16", "1 card, 2 cash, 3 no charge, 4 dispute ..."),
    Column("fare_amount", "numeric", "Float64", "Time-and-distance fare in USD."),
    Column("extra", "numeric", "Float64", "Rush-hour and overnight surcharges in USD."),
    Column("mta_tax", "numeric", "Float64", "MTA tax in USD."),
    Column("tip_amount", "numeric", "Float64", "Card tips in USD (cash tips are not recorded)."),
    Column("tolls_amount", "numeric", "Float64", "Tolls paid in USD."),
    Column("improvement_surcharge", "numeric", "Float64", "Improvement surcharge in USD."),
    Column("total_amount", "numeric", "Float64", "Total charged, cash tips excluded."),
    Column("congestion_surcharge", "numeric", "Float64", "NYS congestion surcharge in USD."),
)

MONTH_COLUMN = Column(
    "file_month",
    "date",
    "datetime64[us]",
    "First day of the month of the source file the row came from (the partition).",
    nullable=False,
)
KEY_COLUMNS: tuple[str, ...] = tuple(c.name for c in YELLOW_COLUMNS if not c.nullable)
SOURCE_HEADER: tuple[str, ...] = tuple(c.name for c in YELLOW_COLUMNS)
WAREHOUSE_COLUMNS: tuple[Column, ...] = (*YELLOW_COLUMNS, MONTH_COLUMN)


def header_difference(found: list[str]) -> str | None:
    """Describe how a CSV header differs from the contract, or None when it matches."""
    if tuple(found) == SOURCE_HEADER:
        return None
    missing = [c for c in SOURCE_HEADER if c not in found]
    extra = [c for c in found if c not in SOURCE_HEADER]
    parts = []
    if missing:
        parts.append(f"missing columns {missing}")
    if extra:
        parts.append(f"unexpected columns {extra}")
    if not parts:
        parts.append(f"columns reordered: expected {list(SOURCE_HEADER)}, found {found}")
    return "; ".join(parts)


def column_definitions(columns: Sequence[Column] = WAREHOUSE_COLUMNS) -> sql.Composed:
    """`"col" type [NOT NULL], ...` for CREATE TABLE (by default yellow_taxi's, month included)."""
    return sql.SQL(", ").join(
        sql.SQL("{} {}{}").format(
            sql.Identifier(c.name),
            sql.SQL(c.pg_type),
            sql.SQL("" if c.nullable else " NOT NULL"),
        )
        for c in columns
    )


def source_column_list() -> sql.Composed:
    """The quoted source columns, in file order, for COPY."""
    return sql.SQL(", ").join(sql.Identifier(name) for name in SOURCE_HEADER)


def pandas_dtypes() -> dict[str, str]:
    """Nullable pandas dtypes for reading the warehouse table back."""
    return {c.name: c.pandas_dtype for c in WAREHOUSE_COLUMNS}


def dagster_column_schema(columns: Sequence[Column] = WAREHOUSE_COLUMNS) -> dg.TableSchema:
    """The contract as `dagster/column_schema` metadata, with types and nullability.

    Give it on the asset definition only: when a materialization carries one too, Dagster's UI
    merges the two and lower-cases every name (docs/ui.md), showing names SQL does not know.
    """
    return dg.TableSchema(
        columns=[
            dg.TableColumn(
                name=c.name,
                type=c.pg_type,
                description=c.description,
                constraints=dg.TableColumnConstraints(nullable=c.nullable),
            )
            for c in columns
        ]
    )
