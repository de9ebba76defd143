"""`taxi_zones`: the TLC zone lookup (LocationID to borough, zone, service zone) in Postgres.

The file is small (265 rows), so it is fetched whole, its header checked, and the table
replaced in one transaction: COPY into a fresh staging table, then drop-and-rename under a
lock timeout. Readers see the old lookup or the new one.
"""

import csv
import hashlib

import dagster as dg
import psycopg
from psycopg import sql

from taxi_assets.errors import BadSourceFileError, TransientError
from taxi_assets.metadata import markdown_table
from taxi_assets.resources import PostgresResource, TaxiSource
from taxi_assets.schema import Column, column_definitions, dagster_column_schema
from taxi_assets.warehouse import ensure_schema

ZONES_PATH = "misc/taxi_zone_lookup.csv"
ZONES_TABLE = "taxi_zones"
ZONE_COLUMNS: tuple[Column, ...] = (
    Column(
        "LocationID", "smallint", "Int16", "TLC taxi zone id (PULocationID, DOLocationID).", False
    ),
    Column("Borough", "text", "string", "Borough: Manhattan, Queens, ..., EWR or Unknown."),
    Column("Zone", "text", "string", "Zone name, e.g. JFK Airport."),
    Column("service_zone", "text", "string", "Yellow Zone, Boro Zone, Airports, EWR or N/A."),
)
_MAX_BYTES = 1_000_000
_LOCK_KEY = (0x7A71, 1)  # the warehouse's advisory-lock namespace; 1 = the zone lookup
_LOCK_TIMEOUT = "10s"

# The marts wait for the lookup, so the automation sensor loads it whenever it is missing (a
# fresh deployment, a wiped instance). AutomationCondition.on_missing() would not: it skips
# what is already missing when first evaluated. A failed load is not retried in a loop.
LOAD_WHEN_MISSING = (
    dg.AutomationCondition.missing()
    & ~dg.AutomationCondition.in_progress()
    & ~dg.AutomationCondition.execution_failed()
).with_label("load when missing")


@dg.asset(
    group_name="warehouse",
    kinds={"csv", "postgres"},
    automation_condition=LOAD_WHEN_MISSING,
    metadata={
        "dagster/column_schema": dagster_column_schema(ZONE_COLUMNS),
        "dagster/table_name": ZONES_TABLE,
    },
)
def taxi_zones(source: TaxiSource, postgres: PostgresResource) -> dg.MaterializeResult:
    """The TLC taxi zone lookup from the mirror's misc release, as table taxi_zones."""
    url, body = source.fetch_small(ZONES_PATH, "taxi zones", _MAX_BYTES)
    _check_header(body, url)
    schema = postgres.warehouse_schema
    with postgres.connect() as conn:
        rows, first = replace_zones(conn, schema, body, url)
    return dg.MaterializeResult(
        metadata={
            "dagster/row_count": rows,
            "dagster/table_name": f"{schema}.{ZONES_TABLE}",
            "source_url": dg.MetadataValue.url(url),
            "source_bytes": len(body),
            "source_sha256": hashlib.sha256(body).hexdigest(),
            "preview": dg.MetadataValue.md(markdown_table([c.name for c in ZONE_COLUMNS], first)),
        }
    )


def _check_header(body: bytes, url: str) -> None:
    first_line = body.split(b"\n", 1)[0].decode("utf-8", "replace").rstrip("\r")
    found = next(csv.reader([first_line]), [])
    expected = [c.name for c in ZONE_COLUMNS]
    if found != expected:
        raise BadSourceFileError(f"taxi zones ({url}) has header {found}, expected {expected}")


def replace_zones(
    conn: psycopg.Connection, schema: str, body: bytes, url: str
) -> tuple[int, list[tuple]]:
    """Replace the zone table with the CSV `body` in one transaction; return rows, first rows."""
    table, staging = ZONES_TABLE, f"{ZONES_TABLE}_staging"
    with conn.transaction():
        conn.execute("SELECT pg_advisory_xact_lock(%s, %s)", _LOCK_KEY)
        ensure_schema(conn, schema)
        conn.execute(sql.SQL("DROP TABLE IF EXISTS {}").format(sql.Identifier(schema, staging)))
        conn.execute(
            sql.SQL("CREATE TABLE {} ({}, PRIMARY KEY ({}))").format(
                sql.Identifier(schema, staging),
                column_definitions(ZONE_COLUMNS),
                sql.Identifier(ZONE_COLUMNS[0].name),
            )
        )
        rows = _copy(conn, sql.Identifier(schema, staging), body, url)
        first = conn.execute(
            sql.SQL("SELECT * FROM {} ORDER BY 1 LIMIT 5").format(sql.Identifier(schema, staging))
        ).fetchall()
        _swap_in(conn, schema, staging, table)
    return rows, first


def _swap_in(conn: psycopg.Connection, schema: str, staging: str, table: str) -> None:
    conn.execute("SELECT set_config('lock_timeout', %s, true)", (_LOCK_TIMEOUT,))
    try:
        conn.execute(sql.SQL("DROP TABLE IF EXISTS {}").format(sql.Identifier(schema, table)))
        conn.execute(
            sql.SQL("ALTER TABLE {} RENAME TO {}").format(
                sql.Identifier(schema, staging), sql.Identifier(table)
            )
        )
    except psycopg.errors.LockNotAvailable as exc:
        raise TransientError(
            f"taxi zones: {schema}.{table} stayed in use beyond {_LOCK_TIMEOUT}; the previous "
            "lookup is in place; retry when long-running queries have finished"
        ) from exc


def _copy(conn: psycopg.Connection, staging: sql.Identifier, body: bytes, url: str) -> int:
    names = sql.SQL(", ").join(sql.Identifier(c.name) for c in ZONE_COLUMNS)
    statement = sql.SQL("COPY {} ({}) FROM STDIN (FORMAT csv, HEADER true)").format(staging, names)
    try:
        with conn.cursor() as cur:
            with cur.copy(statement) as copy:
                copy.write(body)
            rows = cur.rowcount
    except (psycopg.errors.DataError, psycopg.errors.IntegrityError) as exc:
        raise BadSourceFileError(f"taxi zones ({url}) has a row Postgres rejects: {exc}") from exc
    if rows <= 0:
        raise BadSourceFileError(f"taxi zones ({url}) has no rows")
    return rows
