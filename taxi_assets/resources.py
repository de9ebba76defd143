"""Resources: the mirror we download from, the lake we keep files in, and the Postgres
warehouse in front of the one writer every Postgres write goes through.

Every field is optional; an unset field falls back to its environment variable and then to a
default that works on a laptop (see settings.py). Tests swap the resource, never the asset.
"""

import contextlib
from collections.abc import Callable, Iterable, Iterator
from logging import Logger
from pathlib import Path
from typing import TypeVar

import dagster as dg
import psycopg
from pydantic import Field, PrivateAttr

from taxi_assets.mechanics.credentials import masked_url
from taxi_assets.mechanics.dataset_spec import MonthFile
from taxi_assets.mechanics.embedded import start_embedded_postgres
from taxi_assets.mechanics.errors import TaxiError, TransientError
from taxi_assets.mechanics.lake import Lake, LakePath
from taxi_assets.mechanics.load_slots import DEFAULT_LOAD_SLOT_TIMEOUT_SECONDS, DEFAULT_LOAD_SLOTS
from taxi_assets.mechanics.schema_names import checked_schema_name
from taxi_assets.mechanics.settings import (
    DEFAULT_EMBEDDED_PG_DIR,
    DEFAULT_LAKE_DIR,
    DEFAULT_SOURCE_URL,
    DEFAULT_TLC_URL,
    flag_setting,
    number_setting,
    setting,
)
from taxi_assets.mechanics.source import (
    MIRROR_UNPUBLISHED,
    TLC_UNPUBLISHED,
    Download,
    file_url,
    open_stream,
)
from taxi_assets.mechanics.writer import WarehouseWriter, retrying

T = TypeVar("T")

# Object store writes go in parts of this size (S3 requires at least 5 MiB); reads are ranged
# GETs of exactly what the reader asks for (1 MiB), uncached: fsspec's read-ahead cache grew a
# 47 MB month's load by 37 MB of memory here, no cache by 3 MB.
_OBJECT_BLOCK_BYTES = 8 << 20


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
    tlc_every_month: bool | None = Field(
        default=None,
        description="Take every month from the TLC's Parquet files, also those the mirror has "
        "as CSV (2019-01..2021-07). Unset: $TAXI_TLC_EVERY_MONTH, else no.",
    )

    keep_months: int | None = Field(
        default=None,
        description="Keep only the files of each dataset's newest N months in the lake (their "
        "manifests stay); 0 keeps all. Unset: $TAXI_LAKE_KEEP_MONTHS, else 0.",
    )

    def lake(self) -> Lake:
        root = setting(self.root, "TAXI_LAKE_DIR", DEFAULT_LAKE_DIR) or DEFAULT_LAKE_DIR
        tlc = flag_setting(self.tlc_every_month, "TAXI_TLC_EVERY_MONTH")
        keep = int(number_setting(self.keep_months, "TAXI_LAKE_KEEP_MONTHS", 0, whole=True))
        return Lake(_lake_root(root), int(self.max_uncompressed_gb * 1e9), tlc, keep)


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
    """The release tree of the NYC TLC mirror and the TLC's own trip-record files (https or
    file://), with bounded retries."""

    base_url: str | None = Field(
        default=None,
        description="Base of the release tree. Unset: $TAXI_SOURCE_URL, else the GitHub mirror.",
    )
    tlc_url: str | None = Field(
        default=None,
        description="Base of the TLC's trip-record Parquet files. Unset: $TAXI_TLC_URL, else "
        "the TLC's CloudFront address.",
    )
    connect_timeout_seconds: float = Field(default=10.0, description="TCP connect timeout.")
    read_timeout_seconds: float = Field(default=60.0, description="Timeout between body bytes.")
    max_attempts: int = Field(default=5, description="Attempts per file for transient errors.")
    first_backoff_seconds: float = Field(default=1.0, description="Scale of the first backoff.")
    max_backoff_seconds: float = Field(default=30.0, description="Longest wait between attempts.")

    def url_for(self, relative_path: str) -> str:
        base = setting(self.base_url, "TAXI_SOURCE_URL", DEFAULT_SOURCE_URL)
        return file_url(base or DEFAULT_SOURCE_URL, relative_path)

    def url_of(self, month_file: MonthFile) -> str:
        """The month's file at its own source: the mirror's release tree or the TLC's."""
        if not month_file.parquet:
            return self.url_for(month_file.url_path)
        base = setting(self.tlc_url, "TAXI_TLC_URL", DEFAULT_TLC_URL)
        return file_url(base or DEFAULT_TLC_URL, month_file.url_path)

    def fetch(
        self,
        url: str,
        what: str,
        into: Callable[[Download], T],
        log: Logger,
        tlc: bool = False,
    ) -> T:
        """Stream `url` into `into` (which consumes the chunks), retrying transient failures:
        each attempt opens the original URL afresh and hands `into` a new stream. `tlc`: the
        TLC's files, whose CloudFront answers 403 for a month not yet published."""
        timeout = (self.connect_timeout_seconds, self.read_timeout_seconds)
        attempts = retrying(
            self.max_attempts, self.first_backoff_seconds, self.max_backoff_seconds, TransientError
        )
        try:
            for attempt in attempts:
                with attempt:
                    number = attempt.retry_state.attempt_number
                    if number > 1:
                        log.warning(f"{what}: attempt {number} of {self.max_attempts} for {url}")
                    unpublished = TLC_UNPUBLISHED if tlc else MIRROR_UNPUBLISHED
                    with open_stream(url, what, timeout, unpublished) as download:
                        return into(download)
        except TransientError as exc:
            raise TransientError(
                f"{exc}; gave up after {self.max_attempts} attempts (the lake and the warehouse "
                "are unchanged): materialize the month again once the mirror answers"
                f"{offline_hint(url)}"
            ) from exc
        raise AssertionError("unreachable: tenacity re-raises the last error")

    def fetch_small(
        self, relative_path: str, what: str, max_bytes: int, log: Logger
    ) -> tuple[str, bytes]:
        """The URL and whole body of a small file (the zone lookup), with the same retries."""
        url = self.url_for(relative_path)

        def whole(chunks: Iterable[bytes]) -> bytes:
            body = bytearray()
            for chunk in chunks:
                body += chunk
                if len(body) > max_bytes:
                    raise TaxiError(f"{what}: {url} is larger than {max_bytes:,} bytes")
            return bytes(body)

        return url, self.fetch(url, what, whole, log)


def offline_hint(url: str) -> str:
    """How to load without the internet, when the default mirror was the one out of reach."""
    if url.startswith(DEFAULT_TLC_URL):
        return (
            ". No internet? Serve the TLC's files from a local copy and point TAXI_TLC_URL at "
            "it (file://, http://, https://; `make mirror` can generate them, README, Offline)"
        )
    if not url.startswith(DEFAULT_SOURCE_URL):
        return ""
    return (
        ". No internet? Use a local mirror: `make mirror`, then "
        "`TAXI_SOURCE_URL=file://$PWD/mirror make main` (README, Offline); TAXI_SOURCE_URL "
        "takes any copy of the release tree (file://, http://, https://)"
    )


class WarehouseResource(dg.ConfigurableResource):
    """The Postgres warehouse, and the one writer every asset that writes to it goes through;
    with no URL configured, an embedded server in a local folder."""

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
    lock_timeout_seconds: float = Field(
        default=10.0,
        description="How long a swap waits for readers of the table before giving up (retried).",
    )
    load_attempts: int = Field(
        default=3,
        description="Attempts per month when the warehouse goes away or the swap's lock times "
        "out (each attempt reloads the whole month in one transaction).",
    )
    first_backoff_seconds: float = Field(default=1.0, description="Scale of the first backoff.")
    load_slots: int | None = Field(
        default=None,
        description="COPY streams at once into the warehouse schema, across all runs (a month "
        "takes a second one while a slot is free), and months side by side in one ranged step. "
        f"Unset: $TAXI_LOAD_SLOTS, else {DEFAULT_LOAD_SLOTS}.",
    )
    load_slot_timeout_seconds: float | None = Field(
        default=None,
        description="How long a month's load waits for a load slot before it fails naming the "
        "sessions holding them. Unset: $TAXI_LOAD_SLOT_TIMEOUT, else "
        f"{DEFAULT_LOAD_SLOT_TIMEOUT_SECONDS:g}.",
    )
    _resolved_url: str | None = PrivateAttr(default=None)

    @property
    def warehouse_schema(self) -> str:
        """The schema, refused up front unless the loads and dbt can both use it."""
        name = setting(self.schema_name, "TAXI_PG_SCHEMA", "public") or "public"
        origin = "schema_name" if self.schema_name else "TAXI_PG_SCHEMA"
        return checked_schema_name(name, origin)

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

    def writer(self) -> WarehouseWriter:
        """The warehouse writer for this database and schema (mechanics/writer.py)."""
        return WarehouseWriter(
            url=self.target_url(),
            schema=self.warehouse_schema,
            connect_attempts=self.connect_attempts,
            connect_timeout_seconds=self.connect_timeout_seconds,
            lock_timeout_seconds=self.lock_timeout_seconds,
            load_attempts=self.load_attempts,
            first_backoff_seconds=self.first_backoff_seconds,
            load_slots=self.slots(),
            load_slot_timeout_seconds=self.slot_timeout(),
        )

    @contextlib.contextmanager
    def connect(self) -> Iterator[psycopg.Connection]:
        """An autocommit connection for reading, retried while the server is away."""
        with self.writer().connect() as conn:
            yield conn

    def slots(self) -> int:
        """The load-slot count in force (at least 1)."""
        return max(
            1,
            int(number_setting(self.load_slots, "TAXI_LOAD_SLOTS", DEFAULT_LOAD_SLOTS, whole=True)),
        )

    def slot_timeout(self) -> float:
        """Seconds a load waits for a slot (more than 0)."""
        seconds = number_setting(
            self.load_slot_timeout_seconds,
            "TAXI_LOAD_SLOT_TIMEOUT",
            DEFAULT_LOAD_SLOT_TIMEOUT_SECONDS,
        )
        if not seconds > 0:  # NaN too: it would never expire
            raise TaxiError(f"the load slot timeout must be more than 0 seconds, not {seconds:g}")
        return seconds
