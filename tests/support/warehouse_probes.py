"""What the warehouse looks like from outside: table identities, leftovers, sessions waiting."""

import contextlib
from collections.abc import Iterator

import psycopg
from psycopg import sql

from tests.support.postgres import TEST_PG_URL


def table_oid(schema: str, table: str) -> int | None:
    """The table's OID: a month that was replaced gets a new one."""
    with psycopg.connect(TEST_PG_URL) as conn:
        name = sql.Identifier(schema, table).as_string(conn)
        return conn.execute("SELECT to_regclass(%s)::oid", (name,)).fetchone()[0]  # type: ignore[index]


def staging_tables(schema: str) -> list[str]:
    with psycopg.connect(TEST_PG_URL) as conn:
        query = "SELECT tablename FROM pg_tables WHERE schemaname = %s AND tablename LIKE %s"
        return [row[0] for row in conn.execute(query, (schema, "%staging%"))]


def blocked_by(pid: int) -> list[tuple[int, str]]:
    """(pid, wait event) of the taxi_assets sessions waiting for a lock that `pid` holds."""
    with psycopg.connect(TEST_PG_URL) as conn:
        query = (
            "SELECT pid, wait_event FROM pg_stat_activity "
            "WHERE application_name = 'taxi_assets' AND %s = ANY(pg_blocking_pids(pid))"
        )
        return [(row[0], row[1]) for row in conn.execute(query, (pid,))]


@contextlib.contextmanager
def reader_holding(schema: str, table: str) -> Iterator[int]:
    """A long report query's lock on the table (its pid): the month's swap must wait for it."""
    with psycopg.connect(TEST_PG_URL) as conn, conn.transaction():
        conn.execute(
            sql.SQL("LOCK TABLE {} IN ACCESS SHARE MODE").format(sql.Identifier(schema, table))
        )
        yield conn.info.backend_pid
