"""(a) The lesson's loader, exactly as the lesson's Airflow DAG ran it, in a process of its own.

    python -m bench.lesson --pg URL --table NAME --csv FILE

`ingest_callable` is the lesson's `ingest_script.py` function unchanged (pandas chunks of
100,000 rows, `pd.to_datetime` on the two timestamps, `to_sql` with a SQLAlchemy engine);
only the connection parts are passed in as one URL. Prints one JSON line with its wall time.

Its `postgresql://` URL meant psycopg2 in the lesson's image (the only driver it installed);
SQLAlchemy 2 maps the same URL to psycopg 3 when that is installed, as it is here for our COPY
path, and psycopg 3 runs this code several times faster. `--driver psycopg2` (the default)
runs it as the lesson ran it; `--driver psycopg` shows what the newer driver alone changes.
"""

import argparse
import contextlib
import io
import json
from time import time

import pandas as pd
from sqlalchemy import create_engine
from sqlalchemy.dialects import registry
from sqlalchemy.engine import make_url

DRIVERS = {
    "psycopg2": ("sqlalchemy.dialects.postgresql.psycopg2", "PGDialect_psycopg2"),
    "psycopg": ("sqlalchemy.dialects.postgresql.psycopg", "PGDialect_psycopg"),
}


def ingest_callable(user, password, host, port, db, table_name, csv_file, execution_date):
    """The lesson's function, line for line."""
    print(table_name, csv_file, execution_date)

    engine = create_engine(f"postgresql://{user}:{password}@{host}:{port}/{db}")
    engine.connect()

    print("connection established successfully, inserting data...")

    t_start = time()
    df_iter = pd.read_csv(csv_file, iterator=True, chunksize=100000)

    df = next(df_iter)

    df.tpep_pickup_datetime = pd.to_datetime(df.tpep_pickup_datetime)
    df.tpep_dropoff_datetime = pd.to_datetime(df.tpep_dropoff_datetime)

    df.head(n=0).to_sql(name=table_name, con=engine, if_exists="replace")

    df.to_sql(name=table_name, con=engine, if_exists="append")

    t_end = time()
    print("inserted the first chunk, took %.3f second" % (t_end - t_start))

    while True:
        t_start = time()

        try:
            df = next(df_iter)
        except StopIteration:
            print("completed")
            break

        df.tpep_pickup_datetime = pd.to_datetime(df.tpep_pickup_datetime)
        df.tpep_dropoff_datetime = pd.to_datetime(df.tpep_dropoff_datetime)

        df.to_sql(name=table_name, con=engine, if_exists="append")

        t_end = time()
        print("inserted another chunk, took %.3f second" % (t_end - t_start))


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    for name in ("--pg", "--table", "--csv"):
        parser.add_argument(name, required=True)
    parser.add_argument("--driver", choices=sorted(DRIVERS), default="psycopg2")
    args = parser.parse_args()
    registry.register("postgresql", *DRIVERS[args.driver])  # what `postgresql://` resolves to
    url = make_url(args.pg)
    started = time()
    with contextlib.redirect_stdout(io.StringIO()):  # the lesson's chatter, one line a chunk
        ingest_callable(
            url.username,
            url.password or "",
            url.host,
            url.port,
            url.database,
            args.table,
            args.csv,
            None,
        )
    print(json.dumps({"seconds": round(time() - started, 3), "driver": args.driver}))


if __name__ == "__main__":
    main()
