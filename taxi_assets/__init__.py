"""taxi_assets: NYC yellow-taxi trip records, month by month, from the mirror into Postgres."""

from taxi_assets.definitions import defs

__all__ = ["defs"]
