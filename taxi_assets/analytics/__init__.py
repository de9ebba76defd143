"""The analytics code location: the course's dbt models (taxi_dbt/) through dagster-dbt.

`dagster ... -m taxi_assets.analytics` (workspace.yaml) loads `defs`, built on first access so
that preparing the dbt manifest (`project.py`) never needs the manifest itself.
"""

from typing import Any

__all__ = ["defs"]


def __getattr__(name: str) -> Any:
    if name == "defs":
        from taxi_assets.analytics.definitions import defs

        return defs
    raise AttributeError(f"module 'taxi_assets.analytics' has no attribute {name!r}")


def __dir__() -> list[str]:
    return sorted([*globals(), "defs"])
