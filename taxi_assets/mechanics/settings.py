"""Where each setting comes from: an explicit resource field, else its environment variable, else
a default that works on a laptop. Resolved when a resource is used, never at import time."""

import os

from taxi_assets.mechanics.errors import TaxiError

DEFAULT_SOURCE_URL = "https://github.com/DataTalksClub/nyc-tlc-data/releases/download"
DEFAULT_TLC_URL = "https://d37ci6vzurychx.cloudfront.net/trip-data"
DEFAULT_LAKE_DIR = "data/lake"
DEFAULT_EMBEDDED_PG_DIR = "data/pgdata"


def setting(explicit: str | None, env_name: str, default: str | None) -> str | None:
    """The explicit value if given, else the environment variable if non-empty, else default."""
    if explicit is not None:
        return explicit
    return os.environ.get(env_name) or default


def number_setting(
    explicit: float | None, env_name: str, default: float, whole: bool = False
) -> float:
    """The explicit number if given, else the environment variable parsed as one, else default;
    a variable that is no number is refused by name."""
    if explicit is not None:
        return explicit
    value = setting(None, env_name, None)
    if value is None:
        return default
    try:
        return int(value) if whole else float(value)
    except ValueError:
        kind = "whole number" if whole else "number"
        raise TaxiError(f"{env_name}={value!r} is not a {kind}") from None


def flag_setting(explicit: bool | None, env_name: str) -> bool:
    """The explicit flag if given, else the environment variable (`1`, `true`, `yes` or `on`
    for yes; `0`, `false`, `no`, `off` or empty for no), else no; anything else is refused."""
    if explicit is not None:
        return explicit
    value = (setting(None, env_name, None) or "").strip().lower()
    if value in ("", "0", "false", "no", "off"):
        return False
    if value in ("1", "true", "yes", "on"):
        return True
    raise TaxiError(f"{env_name}={value!r} is neither true nor false (say 1 or 0)")
