"""Where each setting comes from: an explicit resource field, else its environment variable, else
a default that works on a laptop. Resolved when a resource is used, never at import time."""

import os
import urllib.parse

from sqlalchemy.engine import make_url

DEFAULT_SOURCE_URL = "https://github.com/DataTalksClub/nyc-tlc-data/releases/download"
DEFAULT_LAKE_DIR = "data/lake"
DEFAULT_EMBEDDED_PG_DIR = "data/pgdata"


def setting(explicit: str | None, env_name: str, default: str | None) -> str | None:
    """The explicit value if given, else the environment variable if non-empty, else default."""
    if explicit is not None:
        return explicit
    return os.environ.get(env_name) or default


def masked_url(url: str) -> str:
    """A database URL safe to print: the password, if any, replaced by ***; a socket folder
    (`?host=/path`) as readable as it was written."""
    try:
        parsed = make_url(url)
        if not parsed.password:  # e.g. the embedded server's postgresql://postgres:@/...
            parsed = parsed._replace(password=None)
        return urllib.parse.unquote(parsed.render_as_string(hide_password=True))
    except Exception:  # an unparsable URL is never echoed, it might hold a secret
        return "<unparsable database URL>"


def redact(text: str, url: str) -> str:
    """`text` with the password of `url`, if any, replaced by ***."""
    try:
        password = make_url(url).password
    except Exception:
        return "<message withheld: it may contain a secret>"
    return text.replace(str(password), "***") if password else text
