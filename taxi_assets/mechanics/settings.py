"""Where each setting comes from: an explicit resource field, else its environment variable, else
a default that works on a laptop. Resolved when a resource is used, never at import time."""

import os

DEFAULT_SOURCE_URL = "https://github.com/DataTalksClub/nyc-tlc-data/releases/download"
DEFAULT_LAKE_DIR = "data/lake"
DEFAULT_EMBEDDED_PG_DIR = "data/pgdata"


def setting(explicit: str | None, env_name: str, default: str | None) -> str | None:
    """The explicit value if given, else the environment variable if non-empty, else default."""
    if explicit is not None:
        return explicit
    return os.environ.get(env_name) or default
