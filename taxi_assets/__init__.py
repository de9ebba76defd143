"""taxi_assets: NYC taxi trip records, month by month, from the mirror into Postgres.

`from taxi_assets import defs` (and `dagster ... -m taxi_assets`) gives the load code location.
The Definitions are built on first access (PEP 562), so the Dagster-free mechanics
(`taxi_assets.mechanics`), the declarations and the command-line tools import without Dagster.
"""

from typing import Any

__all__ = ["defs"]


def __getattr__(name: str) -> Any:
    if name == "defs":
        from taxi_assets.definitions import defs

        return defs
    raise AttributeError(f"module 'taxi_assets' has no attribute {name!r}")


def __dir__() -> list[str]:
    return sorted([*globals(), "defs"])
