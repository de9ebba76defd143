"""Green and FHV month tables made in SQL, shaped as the warehouse holds them (parent
`green_taxi`/`fhv_taxi` LIST-partitioned on file_month, child `<parent>_YYYY_MM`, source header
column names), for testing the dbt models where those datasets are not loaded from files.

Rows are deterministic for a (month, rows, seed). Some rows carry what the staging models must
drop: green rows without a vendor, FHV rows with an empty dispatching base; and some green rows
repeat another's vendor, pickup time and zone (duplicates for int_trips to reduce).
"""

import argparse
import datetime as dt

import psycopg
from psycopg import sql

_COLUMNS = {
    "green_taxi": """
        "VendorID" smallint, "lpep_pickup_datetime" timestamp, "lpep_dropoff_datetime" timestamp,
        "store_and_fwd_flag" text, "RatecodeID" smallint, "PULocationID" smallint,
        "DOLocationID" smallint, "passenger_count" smallint, "trip_distance" numeric,
        "fare_amount" numeric, "extra" numeric, "mta_tax" numeric, "tip_amount" numeric,
        "tolls_amount" numeric, "ehail_fee" numeric, "improvement_surcharge" numeric,
        "total_amount" numeric, "payment_type" smallint, "trip_type" smallint,
        "congestion_surcharge" numeric, "file_month" date NOT NULL""",
    "fhv_taxi": """
        "dispatching_base_num" text, "pickup_datetime" timestamp, "dropOff_datetime" timestamp,
        "PUlocationID" smallint, "DOlocationID" smallint, "SR_Flag" smallint,
        "Affiliated_base_number" text, "file_month" date NOT NULL""",
}

# i is 1..rows (%% is SQL's modulo); every 50th green row has no vendor, every 40th repeats
# row i-1's trip keys (k).
_ROWS = {
    "green_taxi": """
        SELECT CASE WHEN i %% 50 = 0 THEN NULL ELSE 1 + k %% 2 END,
               %(start)s::timestamp + (k * %(step)s) * interval '1 second',
               %(start)s::timestamp + (i * %(step)s + 600 + i %% 900) * interval '1 second',
               'N', 1, 1 + k %% 265,
               1 + (i * 7) %% 265, 1 + i %% 3, round((i %% 100) / 10.0, 2),
               5 + i %% 30, 0.5, 0.5, i %% 4, 0, NULL, 0.3,
               6.3 + i %% 30 + i %% 4, 1 + i %% 4, 1, CASE WHEN i %% 3 = 0 THEN 2.75 ELSE 0 END,
               %(month)s
        FROM generate_series(1, %(rows)s) AS i,
             LATERAL (SELECT CASE WHEN i %% 40 = 0 THEN i - 1 ELSE i END AS k) AS keys""",
    "fhv_taxi": """
        SELECT CASE WHEN i %% 25 = 0 THEN '' ELSE 'B0' || lpad((i %% 900)::text, 4, '0') END,
               %(start)s::timestamp + (i * %(step)s) * interval '1 second',
               %(start)s::timestamp + (i * %(step)s + 900) * interval '1 second',
               CASE WHEN i %% 5 = 0 THEN NULL ELSE 1 + i %% 265 END,
               CASE WHEN i %% 7 = 0 THEN NULL ELSE 1 + (i * 3) %% 265 END,
               NULL, 'B0' || lpad((i %% 900)::text, 4, '0'), %(month)s
        FROM generate_series(1, %(rows)s) AS i""",
}


def replace_month(
    conn: psycopg.Connection, schema: str, table: str, month: dt.date, rows: int, scale: int = 1
) -> None:
    """Create the parent if needed and replace the month's child with `rows` made-up trips.

    `scale` multiplies the fares, so a reloaded month can differ from the first load.
    """
    parent = sql.Identifier(schema, table)
    child = sql.Identifier(schema, f"{table}_{month:%Y_%m}")
    with conn.transaction():
        conn.execute(sql.SQL("CREATE SCHEMA IF NOT EXISTS {}").format(sql.Identifier(schema)))
        conn.execute(
            sql.SQL("CREATE TABLE IF NOT EXISTS {} ({}) PARTITION BY LIST (file_month)").format(
                parent, sql.SQL(_COLUMNS[table])
            )
        )
        conn.execute(sql.SQL("DROP TABLE IF EXISTS {}").format(child))
        conn.execute(
            sql.SQL("CREATE TABLE {} PARTITION OF {} FOR VALUES IN ({})").format(
                child, parent, sql.Literal(month)
            )
        )
        step = max(1, 28 * 86400 // max(rows, 1))
        params = {"start": month, "step": step, "rows": rows, "month": month}
        conn.execute(sql.SQL("INSERT INTO {} ").format(child) + sql.SQL(_ROWS[table]), params)
        if scale != 1 and table == "green_taxi":
            conn.execute(
                sql.SQL(
                    "UPDATE {} SET fare_amount = fare_amount * %s, total_amount = total_amount * %s"
                ).format(child),
                (scale, scale),
            )


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("months", nargs="+", help="YYYY-MM")
    parser.add_argument("--url", required=True, help="postgresql:// URL of the warehouse")
    parser.add_argument("--schema", default="public")
    parser.add_argument("--green-rows", type=int, default=100_000)
    parser.add_argument("--fhv-rows", type=int, default=200_000)
    args = parser.parse_args()
    with psycopg.connect(args.url, autocommit=True) as conn:
        for key in args.months:
            month = dt.datetime.strptime(key, "%Y-%m").date()
            replace_month(conn, args.schema, "green_taxi", month, args.green_rows)
            replace_month(conn, args.schema, "fhv_taxi", month, args.fhv_rows)


if __name__ == "__main__":
    main()
