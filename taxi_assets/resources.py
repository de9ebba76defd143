"""Resources: the mirror we download from, the lake we keep files in, the Postgres warehouse.

Every field is optional; an unset field falls back to its environment variable and then to a
default that works on a laptop (see settings.py). Tests swap the resource, never the asset.
"""

import contextlib
import datetime as dt
import logging
from collections.abc import Iterator
from pathlib import Path

import dagster as dg
import psycopg
import tenacity
from pydantic import Field, PrivateAttr

from taxi_assets.credentials import masked_url, redact
from taxi_assets.embedded import start_embedded_postgres
from taxi_assets.errors import TaxiError, TransientError
from taxi_assets.lake import Lake, LakeFile, LakePath
from taxi_assets.progress import Progress
from taxi_assets.settings import (
    DEFAULT_EMBEDDED_PG_DIR,
    DEFAULT_LAKE_DIR,
    DEFAULT_SOURCE_URL,
    setting,
)
from taxi_assets.source import file_url, open_stream

# Object store writes go in parts of this size (S3 requires at least 5 MiB); reads are ranged
# GETs of exactly what the reader asks for (1 MiB), uncached: fsspec's read-ahead cache grew a
# 47 MB month's load by 37 MB of memory here, no cache by 3 MB.
_OBJECT_BLOCK_BYTES = 8 << 20


def _retrying(attempts: int, first_wait: float, max_wait: float, on: type[BaseException] | tuple):
    """Bounded exponential backoff with jitter; re-raises the last error when attempts run out."""
    return tenacity.Retrying(
        retry=tenacity.retry_if_exception_type(on),
        stop=tenacity.stop_after_attempt(attempts),
        wait=tenacity.wait_random_exponential(multiplier=first_wait, max=max_wait),
        reraise=True,
    )


class DataLake(dg.ConfigurableResource):
    """The folder or object store prefix holding verified source files and their manifests."""

    root: str | None = Field(
        default=None,
        description="Lake folder, or an object store URL such as s3://bucket/prefix (endpoint "
        "and credentials from the standard AWS_* variables). Unset: $TAXI_LAKE_DIR, "
        "else ./data/lake.",
    )
    max_uncompressed_gb: float = Field(
        default=4.0, description="Refuse a file that inflates beyond this (gzip bomb guard)."
    )

    def lake(self) -> Lake:
        root = setting(self.root, "TAXI_LAKE_DIR", DEFAULT_LAKE_DIR) or DEFAULT_LAKE_DIR
        return Lake(_lake_root(root), int(self.max_uncompressed_gb * 1e9))


def _lake_root(root: str) -> LakePath:
    """A local folder as a resolved Path; a URL as a universal-pathlib path (the `scale` extra).

    Listings are not cached either: another worker may have written the key since the last
    listing.
    """
    if "://" not in root:
        return Path(root).expanduser().resolve()
    try:
        from upath import UPath
    except ImportError:
        raise TaxiError(
            f"the lake {root} is an object store URL: install the `scale` extra "
            "(pip install -e '.[scale]') for universal-pathlib and s3fs"
        ) from None
    return UPath(
        root,
        default_block_size=_OBJECT_BLOCK_BYTES,
        default_cache_type="none",
        use_listings_cache=False,
    )


class TaxiSource(dg.ConfigurableResource):
    """The release tree of the NYC TLC mirror (https or file://), with bounded retries."""

    base_url: str | None = Field(
        default=None,
        description="Base of the release tree. Unset: $TAXI_SOURCE_URL, else the GitHub mirror.",
    )
    connect_timeout_seconds: float = Field(default=10.0, description="TCP connect timeout.")
    read_timeout_seconds: float = Field(default=60.0, description="Timeout between body bytes.")
    max_attempts: int = Field(default=5, description="Attempts per file for transient errors.")
    first_backoff_seconds: float = Field(default=1.0, description="Scale of the first backoff.")
    max_backoff_seconds: float = Field(default=30.0, description="Longest wait between attempts.")

    def url_for(self, relative_path: str) -> str:
        base = setting(self.base_url, "TAXI_SOURCE_URL", DEFAULT_SOURCE_URL)
        return file_url(base or DEFAULT_SOURCE_URL, relative_path)

    def fetch_into(self, lake: Lake, month: dt.date, log: logging.Logger) -> tuple[LakeFile, bool]:
        """The month's verified lake file, downloading it unless a verified copy exists.

        Returns the file and whether it was reused.
        """
        existing = lake.verified(month)
        if existing is not None:
            log.info(f"{month:%Y-%m}: reusing verified {existing.path}")
            return existing, True
        lake.remove_abandoned_temporaries(month)
        url = self.url_for(lake.relative_path(month))
        retrying = _retrying(
            self.max_attempts, self.first_backoff_seconds, self.max_backoff_seconds, TransientError
        )
        try:
            for attempt in retrying:
                with attempt:
                    if attempt.retry_state.attempt_number > 1:
                        log.warning(
                            f"{month:%Y-%m}: attempt {attempt.retry_state.attempt_number} "
                            f"of {self.max_attempts} for {url}"
                        )
                    progress = Progress(log, f"{month:%Y-%m} download")
                    timeout = (self.connect_timeout_seconds, self.read_timeout_seconds)
                    with open_stream(url, f"{month:%Y-%m}", timeout) as chunks:
                        return lake.store(month, url, chunks, progress.update), False
        except TransientError as exc:
            raise TransientError(
                f"{exc}; gave up after {self.max_attempts} attempts (the lake and the warehouse "
                "are unchanged): materialize the month again once the mirror answers"
                f"{offline_hint(url)}"
            ) from exc
        raise AssertionError("unreachable: tenacity re-raises the last error")

    def fetch_small(self, relative_path: str, what: str, max_bytes: int) -> tuple[str, bytes]:
        """The URL and whole body of a small file (the zone lookup), with the same retries."""
        url = self.url_for(relative_path)
        timeout = (self.connect_timeout_seconds, self.read_timeout_seconds)
        retrying = _retrying(
            self.max_attempts, self.first_backoff_seconds, self.max_backoff_seconds, TransientError
        )
        for attempt in retrying:
            with attempt, open_stream(url, what, timeout) as chunks:
                body = bytearray()
                for chunk in chunks:
                    body += chunk
                    if len(body) > max_bytes:
                        raise TaxiError(f"{what}: {url} is larger than {max_bytes:,} bytes")
                return url, bytes(body)
        raise AssertionError("unreachable: tenacity re-raises the last error")


def offline_hint(url: str) -> str:
    """How to load without the internet, when the default mirror was the one out of reach."""
    if not url.startswith(DEFAULT_SOURCE_URL):
        return ""
    return (
        ". No internet? Use a local mirror: `make mirror`, then "
        "`TAXI_SOURCE_URL=file://$PWD/mirror make main` (README, Offline); TAXI_SOURCE_URL "
        "takes any copy of the release tree (file://, http://, https://)"
    )


class PostgresResource(dg.ConfigurableResource):
    """The Postgres warehouse; with no URL configured, an embedded server in a local folder."""

    url: str | None = Field(
        default=None,
        description="postgresql:// URL (secret). Unset: $TAXI_PG_URL, else an embedded server.",
    )
    embedded_dir: str | None = Field(
        default=None,
        description="Data folder of the embedded server. Unset: $TAXI_PG_EMBEDDED_DIR, "
        "else ./data/pgdata.",
    )
    schema_name: str | None = Field(
        default=None, description="Warehouse schema. Unset: $TAXI_PG_SCHEMA, else public."
    )
    connect_attempts: int = Field(default=5, description="Attempts to connect before failing.")
    connect_timeout_seconds: int = Field(default=10, description="Timeout of one connect.")
    _resolved_url: str | None = PrivateAttr(default=None)

    @property
    def warehouse_schema(self) -> str:
        return setting(self.schema_name, "TAXI_PG_SCHEMA", "public") or "public"

    def target_url(self) -> str:
        """The URL to connect to, starting the embedded server on first use when none is set."""
        if self._resolved_url is None:
            configured = setting(self.url, "TAXI_PG_URL", None)
            if configured is None:
                folder = setting(self.embedded_dir, "TAXI_PG_EMBEDDED_DIR", DEFAULT_EMBEDDED_PG_DIR)
                configured = start_embedded_postgres(Path(folder or DEFAULT_EMBEDDED_PG_DIR))
            self._resolved_url = configured
        return self._resolved_url

    @property
    def display_url(self) -> str:
        """The target URL with any password masked, for logs and errors."""
        return masked_url(self.target_url())

    @contextlib.contextmanager
    def connect(self) -> Iterator[psycopg.Connection]:
        """An autocommit connection (transactions explicit), retried while the server is away.

        No driver message leaves here unredacted: a malformed URL's message may quote the
        password, so that one is withheld altogether.
        """
        retrying = _retrying(self.connect_attempts, 0.5, 10.0, psycopg.OperationalError)
        try:
            conn = retrying(
                psycopg.connect,
                self.target_url(),
                autocommit=True,
                connect_timeout=self.connect_timeout_seconds,
                application_name="taxi_assets",
            )
        except psycopg.OperationalError as exc:
            raise TransientError(
                f"cannot connect to the warehouse at {self.display_url} after "
                f"{self.connect_attempts} attempts: {redact(str(exc), self.target_url())}"
            ) from None
        except psycopg.Error:
            raise TaxiError(
                f"the warehouse URL {self.display_url} is malformed: libpq cannot parse it (its "
                "message is withheld, as it may quote the password); check TAXI_PG_URL for "
                "unescaped spaces or reserved characters (percent-encode them) and the host"
            ) from None
        try:
            yield conn
        finally:
            conn.close()
