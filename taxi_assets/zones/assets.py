"""`taxi_zones`: the TLC zone lookup (LocationID to borough, zone, service zone) in Postgres.

The file is small (265 rows), so it is fetched whole, its header checked, and the table
replaced by the warehouse writer in one transaction (COPY into staging, drop and rename under
a lock timeout). Readers see the old lookup or the new one.
"""

import csv
import hashlib

import dagster as dg

from taxi_assets.mechanics.errors import BadSourceFileError
from taxi_assets.mechanics.schema import Column
from taxi_assets.mechanics.writer import Table
from taxi_assets.resources import TaxiSource, WarehouseResource
from taxi_assets.shared.automation import BUILD_WHEN_MISSING
from taxi_assets.shared.metadata import dagster_column_schema, table_metadata
from taxi_assets.shared.ownership import OWNERS

ZONES_PATH = "misc/taxi_zone_lookup.csv"
ZONES_TABLE = "taxi_zones"
ZONE_COLUMNS: tuple[Column, ...] = (
    Column(
        "LocationID", "smallint", "Int16", "TLC taxi zone id (PULocationID, DOLocationID).", False
    ),
    Column("Borough", "text", "string", "Borough: Manhattan, Queens, ..., EWR or Unknown."),
    Column("Zone", "text", "string", "Zone name, e.g. JFK Airport."),
    Column("service_zone", "text", "string", "Yellow Zone, Boro Zone, Airports, EWR or N/A."),
)
ZONES = Table(ZONES_TABLE, ZONE_COLUMNS, primary_key=("LocationID",))
_MAX_BYTES = 1_000_000

# The marts and dim_zones wait for the lookup: the automation sensor loads it whenever it is
# missing (shared/automation.py).


@dg.asset(
    group_name="warehouse",
    owners=OWNERS,
    kinds={"csv", "postgres"},
    automation_condition=BUILD_WHEN_MISSING,
    metadata={
        "dagster/column_schema": dagster_column_schema(ZONE_COLUMNS),
        "dagster/table_name": ZONES_TABLE,
    },
)
def taxi_zones(
    context: dg.AssetExecutionContext, source: TaxiSource, warehouse: WarehouseResource
) -> dg.MaterializeResult:
    """The TLC taxi zone lookup from the mirror's misc release, as table taxi_zones."""
    url, body = source.fetch_small(ZONES_PATH, "taxi zones", _MAX_BYTES, context.log)
    _check_header(body, url)
    writer = warehouse.writer()
    stats = writer.replace_table(ZONES, body, f"taxi zones ({url})")
    return dg.MaterializeResult(
        metadata={
            **table_metadata(ZONE_COLUMNS, stats, writer.schema),
            "source_url": dg.MetadataValue.url(url),
            "source_bytes": len(body),
            "source_sha256": hashlib.sha256(body).hexdigest(),
        }
    )


def _check_header(body: bytes, url: str) -> None:
    first_line = body.split(b"\n", 1)[0].decode("utf-8", "replace").rstrip("\r")
    found = next(csv.reader([first_line]), [])
    expected = [c.name for c in ZONE_COLUMNS]
    if found != expected:
        raise BadSourceFileError(f"taxi zones ({url}) has header {found}, expected {expected}")
