"""Which warehouse schema names the platform accepts: the same rule for the loads and for dbt.

The loads quote every identifier through psycopg, but dbt-postgres pastes the schema name into
string literals of its own catalog queries (`ilike '<schema>'`), where a quote ends the literal
and the rest runs as SQL. So a name is accepted only when it needs no escaping anywhere:
letters, digits and underscores, not starting with a digit, at most Postgres' 63 bytes. Upper
case is kept (the name is quoted, so `Taxi` is its own schema).
"""

import re

from taxi_assets.mechanics.errors import TaxiError

_SAFE_NAME = re.compile(r"[A-Za-z_][A-Za-z0-9_]*")
_MAX_BYTES = 63


def checked_schema_name(name: str, origin: str = "TAXI_PG_SCHEMA") -> str:
    """`name` when it is a schema name the loads and dbt can both use; otherwise a clear error
    that names where the value came from (never half-used: raised before any connection)."""
    if _SAFE_NAME.fullmatch(name) and len(name.encode()) <= _MAX_BYTES:
        return name
    raise TaxiError(
        f"{origin}={name!r} is not a usable warehouse schema name: use letters, digits and "
        f"underscores, not starting with a digit, at most {_MAX_BYTES} characters (dbt pastes "
        "the name into SQL text, so quotes, spaces and other characters are refused for the "
        "loads and dbt alike)"
    )
