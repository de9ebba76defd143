"""Keeping the warehouse password out of every message, log line, event and error.

A connection string is either a URL (`postgresql://user:<password>@host/db`, or with
`?password=` in the query) or libpq's keyword/value form (`host=h password=<password>`), and
either may be malformed. Two rules:
  - to show one, parse it with libpq's own parser and rebuild it with every password masked;
    what libpq cannot parse is withheld, never echoed (it may be the password that breaks it);
  - to print any other text (a driver error), replace every string that may be a password,
    found by reading the connection string loosely, as well-formed or not.
"""

import re
import urllib.parse

import psycopg

WITHHELD = "<unparsable database URL>"
MASK = "***"
# `password=` and libpq's `sslpassword=`, in the keyword/value form or a URL's query string.
_PASSWORD_KEY = r"(?<![A-Za-z0-9_])(?:ssl)?password"
_KEYWORD_VALUE = re.compile(_PASSWORD_KEY + r"\s*=\s*('(?:[^'\\]|\\.)*'|[^\s&#]+)", re.I)
_QUERY_PASSWORD = re.compile(r"([?&](?:ssl)?password=)[^&#]*", re.I)


def possible_secrets(conninfo: str) -> set[str]:
    """Every substring of `conninfo` that may be a password, in each form it may be printed."""
    found = {match.strip("'") for match in _KEYWORD_VALUE.findall(conninfo)}
    _, is_url, rest = conninfo.partition("://")
    if is_url:
        for at in (i for i, char in enumerate(rest) if char == "@"):
            _, colon, password = rest[:at].partition(":")  # malformed hosts or not
            if colon:
                found.add(password)
    variants = set()
    for secret in found:
        variants |= {secret, urllib.parse.unquote(secret), urllib.parse.unquote_plus(secret)}
        variants.add(urllib.parse.quote(secret, safe=""))
    return {v for v in variants if v and v != MASK}


def redact(text: str, conninfo: str) -> str:
    """`text` with everything that may be a password of `conninfo` replaced by ***."""
    for secret in sorted(possible_secrets(conninfo), key=len, reverse=True):
        text = text.replace(secret, MASK)
    return text


def masked_url(conninfo: str) -> str:
    """`conninfo` safe to print: passwords masked, or withheld when libpq cannot parse it."""
    from sqlalchemy.engine import make_url  # here: SQLAlchemy costs a load's start-up 0.09 s

    try:
        params = psycopg.conninfo.conninfo_to_dict(conninfo)
        if "://" in conninfo:
            url = make_url(conninfo)
            if url.password == "":  # the embedded server's postgresql://postgres:@/db?host=/dir
                url = url._replace(password=None)
            # A socket folder (`?host=/path`) as it was written, not percent-encoded.
            rendered = url.render_as_string(hide_password=True).replace("%2F", "/")
            shown = _QUERY_PASSWORD.sub(rf"\g<1>{MASK}", rendered)
        else:
            shown = " ".join(
                f"{key}={MASK if key.endswith('password') else value}"
                for key, value in params.items()
            )
    except Exception:  # psycopg's, SQLAlchemy's or urllib's parse error: it may quote the secret
        return WITHHELD
    return WITHHELD if redact(shown, conninfo) != shown else shown
