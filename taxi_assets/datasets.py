"""The datasets taxi_assets loads: yellow, green and FHV trips (the mirror's CSVs where it has
the month, else the TLC's Parquet files) and high-volume FHV trips (the TLC's Parquet only).

Each is one `DatasetSpec` in `DATASETS`: its raw and warehouse assets, job, schedule, checks,
course plan, catch-up, the generator's files and the test kit's tables all come from it, and
no other Python module names a dataset (docs/datasets.md). Warehouse columns keep the source
header's names (quoted mixed case); FHV keeps the 2019 spelling for both years.
"""

from taxi_assets.mechanics.dataset_spec import CourseSpan, DatasetSpec, WarningRule
from taxi_assets.mechanics.schema import Column


def _int(name: str, description: str) -> Column:
    return Column(name, "smallint", "Int16", description)


def _money(name: str, description: str) -> Column:
    return Column(name, "numeric", "Float64", description)


def _time(name: str, description: str, nullable: bool = False) -> Column:
    return Column(name, "timestamp", "datetime64[us]", description, nullable=nullable)


def _text(name: str, description: str) -> Column:
    return Column(name, "text", "string", description)


def _later(column: Column, since: str, *aliases: str) -> Column:
    """A column the mirror's CSVs lack: the TLC's files carry it from `since` on."""
    return Column(
        column.name, column.pg_type, column.pandas_dtype, column.description, True, since, aliases
    )


# After the mirror's range (the TLC's files carry it before, too: loaded when present).
_AIRPORT_FEE = _later(
    _money("airport_fee", "Airport pickup fee in USD (LaGuardia, JFK)."), "2021-08", "Airport_fee"
)
_CBD_FEE = _later(
    _money("cbd_congestion_fee", "Manhattan congestion relief zone toll in USD."), "2025-01"
)


def _fhv_timing_warnings(dropoff: str) -> tuple[WarningRule, ...]:
    """The timing warnings both for-hire datasets share (their pickup column has one name)."""
    return (
        WarningRule(
            "pickups_outside_month",
            "outside_month",
            ("pickup_datetime",),
            0.005,
            "Rows whose pickup lies outside the file's month.",
        ),
        WarningRule(
            "dropoff_before_pickup",
            "before",
            (dropoff, "pickup_datetime"),
            0.005,
            "Rows whose drop-off precedes the pickup.",
        ),
    )


def _trip_warnings(pickup: str, dropoff: str) -> tuple[WarningRule, ...]:
    """The warnings yellow and green share: real records, counted and reported, never dropped."""
    return (
        WarningRule(
            "pickups_outside_month",
            "outside_month",
            (pickup,),
            0.005,
            "Rows whose pickup lies outside the file's month.",
        ),
        WarningRule(
            "negative_totals",
            "negative",
            ("total_amount",),
            0.01,
            "Rows with a negative total_amount (refunds, disputes).",
        ),
        WarningRule(
            "dropoff_before_pickup",
            "before",
            (dropoff, pickup),
            0.005,
            "Rows whose dropoff precedes the pickup (daylight-saving nights).",
        ),
        # Real 2020-2021 months leave passenger_count empty on up to ~7% of rows.
        WarningRule(
            "missing_passenger_counts",
            "missing",
            ("passenger_count",),
            0.10,
            "Rows without a passenger_count.",
        ),
        WarningRule(
            "duplicate_rows",
            "duplicates",
            (),
            0.005,
            "Extra copies of exactly identical lines (kept, only reported).",
        ),
        WarningRule(
            "negative_passenger_counts",
            "negative",
            ("passenger_count",),
            0.0,
            "Rows with a negative passenger_count (never a real count).",
        ),
        WarningRule(
            "extreme_amounts",
            "extreme",
            (),
            0.0,
            "Rows with an amount or distance beyond ±1,000,000.",
        ),
    )


# The columns yellow and green share, by name: each spec lists them in its own header's order.
_TAXI_COLUMNS = {
    column.name: column
    for column in (
        _int("passenger_count", "Passengers, entered by the driver."),
        _money("trip_distance", "Trip distance in miles from the taximeter."),
        _int("RatecodeID", "Final rate code (1 standard .. 6 group ride)."),
        _text("store_and_fwd_flag", "Y if the trip was held in the vehicle first."),
        _int("PULocationID", "Pickup TLC taxi zone."),
        _int("DOLocationID", "Drop-off TLC taxi zone."),
        _int("payment_type", "1 card, 2 cash, 3 no charge, 4 dispute ..."),
        _money("fare_amount", "Time-and-distance fare in USD."),
        _money("extra", "Rush-hour and overnight surcharges in USD."),
        _money("mta_tax", "MTA tax in USD."),
        _money("tip_amount", "Card tips in USD (cash tips are not recorded)."),
        _money("tolls_amount", "Tolls paid in USD."),
        _money("improvement_surcharge", "Improvement surcharge in USD."),
        _money("total_amount", "Total charged, cash tips excluded."),
        _money("congestion_surcharge", "NYS congestion surcharge in USD."),
    )
}


def _taxi(*names: str) -> tuple[Column, ...]:
    return tuple(_TAXI_COLUMNS[name] for name in names)


def _meter_times(prefix: str) -> tuple[Column, ...]:
    """The pickup and drop-off timestamps, spelled with the provider's prefix (tpep, lpep)."""
    return (
        _time(f"{prefix}_pickup_datetime", "Meter engaged, naive New York local time."),
        _time(f"{prefix}_dropoff_datetime", "Meter disengaged, naive New York local time."),
    )


_FARES = ("fare_amount", "extra", "mta_tax", "tip_amount", "tolls_amount")

YELLOW = DatasetSpec(
    name="yellow",
    title="Yellow-taxi trips",
    table="yellow_taxi",
    raw_asset="raw_csv",
    columns=(
        _int("VendorID", "TPEP provider (1 Creative Mobile, 2 VeriFone)."),
        *_meter_times("tpep"),
        *_taxi("passenger_count", "trip_distance", "RatecodeID", "store_and_fwd_flag"),
        *_taxi("PULocationID", "DOLocationID", "payment_type", *_FARES),
        *_taxi("improvement_surcharge", "total_amount", "congestion_surcharge"),
    ),
    warnings=_trip_warnings("tpep_pickup_datetime", "tpep_dropoff_datetime"),
    pickup_column="tpep_pickup_datetime",
    dropoff_column="tpep_dropoff_datetime",
    pickup_zone_column="PULocationID",
    later_columns=(_AIRPORT_FEE, _CBD_FEE),
    earliest_month="2011-01",
    older_layout="the TLC's yellow-taxi files of 2009-2010 use another schema (vendor_name or "
    "vendor_id, longitudes and latitudes, no location IDs, 2009's times as text), which is not "
    "mapped: "
    "set TAXI_FIRST_MONTH to 2011-01 or later",
    published_rows=(
        ("2019-01", 7_667_792),
        ("2021-01", 1_369_765),
        ("2021-02", 1_371_708),
        ("2021-03", 1_925_152),
    ),
    course=CourseSpan("2019-01", "2020-12", 109_047_518),
)

GREEN = DatasetSpec(
    name="green",
    title="Green-taxi (street-hail livery) trips",
    table="green_taxi",
    raw_asset="green_raw_csv",
    columns=(
        _int("VendorID", "LPEP provider (1 Creative Mobile, 2 VeriFone)."),
        *_meter_times("lpep"),
        *_taxi("store_and_fwd_flag", "RatecodeID", "PULocationID", "DOLocationID"),
        *_taxi("passenger_count", "trip_distance", *_FARES),
        _money("ehail_fee", "E-hail fee in USD (nearly always empty)."),
        *_taxi("improvement_surcharge", "total_amount", "payment_type"),
        _int("trip_type", "1 street hail, 2 dispatch."),
        *_taxi("congestion_surcharge"),
    ),
    warnings=_trip_warnings("lpep_pickup_datetime", "lpep_dropoff_datetime"),
    pickup_column="lpep_pickup_datetime",
    dropoff_column="lpep_dropoff_datetime",
    pickup_zone_column="PULocationID",
    later_columns=(_CBD_FEE,),
    earliest_month="2014-01",
    course=CourseSpan("2019-01", "2020-12", 7_778_101),
)

# The 2019 files spell `dropOff_datetime`, `PUlocationID`, `DOlocationID`; the 2020 files
# `dropoff_datetime`, `PULocationID`, `DOLocationID`. Both load into the 2019 spelling.
FHV = DatasetSpec(
    name="fhv",
    title="For-hire vehicle (FHV) trips",
    table="fhv_taxi",
    raw_asset="fhv_raw_csv",
    lake_bytes_per_row=15,
    table_bytes_per_row=110,
    columns=(
        _text("dispatching_base_num", "TLC base that dispatched the trip (empty on a few rows)."),
        _time("pickup_datetime", "Pickup, naive New York local time."),
        _time("dropOff_datetime", "Drop-off, naive New York local time.", nullable=True),
        _int("PUlocationID", "Pickup TLC taxi zone (often empty)."),
        _int("DOlocationID", "Drop-off TLC taxi zone (often empty)."),
        _int("SR_Flag", "1 for a shared-ride request, else empty."),
        _text("Affiliated_base_number", "TLC base the vehicle is affiliated with."),
    ),
    header_variants=(
        (
            "dispatching_base_num",
            "pickup_datetime",
            "dropOff_datetime",
            "PUlocationID",
            "DOlocationID",
            "SR_Flag",
            "Affiliated_base_number",
        ),
        (
            "dispatching_base_num",
            "pickup_datetime",
            "dropoff_datetime",
            "PULocationID",
            "DOLocationID",
            "SR_Flag",
            "Affiliated_base_number",
        ),
    ),
    header_variant_starts=("2020-01",),
    earliest_month="2015-01",
    pickup_column="pickup_datetime",
    dropoff_column="dropOff_datetime",
    pickup_zone_column="PUlocationID",
    # FHV 2019-01 still carried the high-volume services: about 23 million rows.
    published_rows=(("2019-01", 23_000_000),),
    course=CourseSpan("2019-01", "2019-12", 43_244_696),
    warnings=(
        *_fhv_timing_warnings("dropOff_datetime"),
        WarningRule(
            "missing_base_numbers",
            "missing",
            ("dispatching_base_num",),
            0.01,
            "Rows without a dispatching_base_num (the course's staging model filters them).",
        ),
        # Upstream leaves more than half of the location IDs empty over the years.
        WarningRule(
            "missing_pickup_locations",
            "missing",
            ("PUlocationID",),
            0.95,
            "Rows without a pickup zone.",
        ),
        WarningRule(
            "duplicate_rows",
            "duplicates",
            (),
            0.05,
            "Extra copies of exactly identical lines (kept, only reported).",
        ),
    ),
)


def _flag(name: str, description: str) -> Column:
    return _text(name, f"{description}: Y, N or a single space.")


# High-volume FHV (Uber, Lyft, Via, Juno): the TLC's Parquet files only, 2019-02 onward.
FHVHV = DatasetSpec(
    name="fhvhv",
    title="High-volume for-hire vehicle (HVFHV) trips",
    table="fhvhv_taxi",
    raw_asset="fhvhv_raw_parquet",
    first_month="2019-02",
    earliest_month="2019-02",
    mirror_months=None,
    lake_bytes_per_row=26,
    table_bytes_per_row=230,
    columns=(
        _text("hvfhs_license_num", "The service's TLC licence (HV0003 Uber, HV0005 Lyft ...)."),
        _text("dispatching_base_num", "TLC base that dispatched the trip."),
        _text("originating_base_num", "TLC base that received the request."),
        _time("request_datetime", "Passenger requested the ride.", nullable=True),
        _time("on_scene_datetime", "Driver arrived at the pickup.", nullable=True),
        _time("pickup_datetime", "Pickup, naive New York local time."),
        _time("dropoff_datetime", "Drop-off, naive New York local time.", nullable=True),
        _int("PULocationID", "Pickup TLC taxi zone."),
        _int("DOLocationID", "Drop-off TLC taxi zone."),
        _money("trip_miles", "Trip distance in miles."),
        Column("trip_time", "integer", "Int32", "Trip duration in seconds."),
        _money("base_passenger_fare", "Base fare before tolls, tips, taxes and fees, in USD."),
        _money("tolls", "Tolls paid in USD."),
        _money("bcf", "Black Car Fund contribution in USD."),
        _money("sales_tax", "NYS sales tax in USD."),
        _money("congestion_surcharge", "NYS congestion surcharge in USD."),
        _money("airport_fee", "Airport pickup or drop-off fee in USD."),
        _money("tips", "Tips in USD."),
        _money("driver_pay", "Driver pay, tolls and tips excluded, in USD."),
        _flag("shared_request_flag", "Passenger asked for a shared ride"),
        _flag("shared_match_flag", "Passenger shared the vehicle"),
        _flag("access_a_ride_flag", "Administered for the MTA's Access-A-Ride"),
        _flag("wav_request_flag", "Passenger asked for a wheelchair-accessible vehicle"),
        _flag("wav_match_flag", "Trip in a wheelchair-accessible vehicle"),
    ),
    later_columns=(_CBD_FEE,),
    pickup_column="pickup_datetime",
    dropoff_column="dropoff_datetime",
    pickup_zone_column="PULocationID",
    published_rows=(
        ("2019-03", 23_864_598),
        ("2021-06", 14_961_892),
        ("2022-01", 14_751_591),
        ("2024-01", 19_663_930),
    ),
    warnings=(
        *_fhv_timing_warnings("dropoff_datetime"),
        WarningRule(
            "negative_fares",
            "negative",
            ("base_passenger_fare",),
            0.01,
            "Rows with a negative base_passenger_fare (adjustments).",
        ),
        WarningRule(
            "duplicate_rows",
            "duplicates",
            (),
            0.005,
            "Extra copies of exactly identical rows (kept, only reported).",
        ),
        WarningRule(
            "extreme_amounts",
            "extreme",
            (),
            0.0,
            "Rows with an amount or distance beyond ±1,000,000.",
        ),
    ),
)

DATASETS: tuple[DatasetSpec, ...] = (YELLOW, GREEN, FHV, FHVHV)
"""Every dataset, in the order the UI, the course and the report list them."""

LESSON_DATASET = YELLOW
"""The lesson's dataset: what `make main` loads and the report and the borough mart read."""

MART_SOURCE = LESSON_DATASET
"""The trips `daily_borough_trips` summarises."""
