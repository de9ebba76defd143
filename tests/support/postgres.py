"""The test Postgres server, and what tests ask of it: a throwaway schema, counts, fingerprints.

Point the suite at another server with TAXI_TEST_PG_URL (default: the local `test` database).
"""

import contextlib
import os

import psycopg
from psycopg import sql

from taxi_testkit import cluster

TEST_PG_URL = os.environ.get("TAXI_TEST_PG_URL", "postgresql://postgres@127.0.0.1:5432/test")
PG_ADMIN_URL = os.environ.get(
    "TAXI_TEST_PG_ADMIN_URL", "postgresql://postgres@127.0.0.1:5432/postgres"
)


def throwaway_schema() -> contextlib.AbstractContextManager[str]:
    """A new schema in the test database, dropped afterwards."""
    return cluster.throwaway_schema(TEST_PG_URL, "test")


def count_rows(schema: str, table: str) -> int:
    """`select count(1)` from a table in the test database."""
    with psycopg.connect(TEST_PG_URL) as conn:
        query = sql.SQL("SELECT count(1) FROM {}").format(sql.Identifier(schema, table))
        return conn.execute(query).fetchone()[0]  # type: ignore[index]


def table_fingerprint(schema: str, table: str) -> tuple:
    """Row count and a hash over every row (any dataset): changes if any row is lost, added or
    altered."""
    with psycopg.connect(TEST_PG_URL) as conn:
        query = sql.SQL("SELECT count(*), sum(hashtext(t::text)) FROM {} AS t").format(
            sql.Identifier(schema, table)
        )
        return tuple(conn.execute(query).fetchone())  # type: ignore[arg-type]


def tables_like(schema: str, pattern: str) -> list[str]:
    """Tables in `schema` whose name matches the SQL LIKE `pattern`."""
    with psycopg.connect(TEST_PG_URL) as conn:
        rows = conn.execute(
            "SELECT tablename FROM pg_tables WHERE schemaname = %s AND tablename LIKE %s",
            (schema, pattern),
        ).fetchall()
    return sorted(r[0] for r in rows)
