"""taxi_assets: NYC yellow-taxi trip records, month by month, from the mirror into Postgres."""

from taxi_assets.warning_filters import silence_understood_warnings

silence_understood_warnings()  # before the definitions below trigger them

from taxi_assets.definitions import defs  # noqa: E402

__all__ = ["defs"]
