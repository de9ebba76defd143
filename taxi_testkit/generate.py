"""Generate any declared dataset's months exactly like the mirror's files, quirks included
(docs/data.md: each year's header, empty fields where upstream has them).

Deterministic by seed, any size, written in chunks so memory stays flat:
    python -m taxi_testkit.generate 2021-03 --rows 1925152 --out mirror/
    python -m taxi_testkit.generate 2019-10 --dataset green --out mirror/
writes mirror/yellow/yellow_tripdata_2021-03.csv.gz (mirror/green/..., mirror/fhv/...), and
the zone lookup mirror/misc/taxi_zone_lookup.csv. Every line of a month, the header included,
ends with CRLF, as the mirror's files (and the TLC's original CSVs) do.
"""

import argparse
import datetime as dt
import gzip
from collections.abc import Iterator
from pathlib import Path

import numpy as np

from taxi_assets.datasets import DATASETS, LESSON_DATASET
from taxi_assets.mechanics.dataset_spec import DatasetSpec
from taxi_assets.mechanics.months import next_month
from taxi_testkit.zones import ZONE_COUNT, write_zones

CHUNK_ROWS = 100_000
LINE_END = "\r\n"  # the mirror's files end every line, the header too, with CRLF
_CENTS = np.array(
    [
        f"{c / 100:.2f}".rstrip("0").rstrip(".") if c % 100 else str(c // 100)
        for c in range(-20_000, 200_001)
    ],
    dtype=object,
)
_CENTS_OFFSET = 20_000
_OUTLIER_PICKUPS = ("2008-12-31 23:02:11", "2009-01-01 00:12:40", "2088-01-24 00:15:42")


def _money(cents: np.ndarray) -> np.ndarray:
    """Mixed upstream number forms: `8`, `2.1`, `-0.5`, `11.8`."""
    return _CENTS[np.clip(cents, -20_000, 200_000) + _CENTS_OFFSET]


def _leading_dot(values: np.ndarray, rng: np.random.Generator) -> np.ndarray:
    """Some distances are written `.20` rather than `0.20`, as upstream does."""
    out = values.copy()
    small = np.array([v.startswith("0.") for v in out]) & (rng.random(len(out)) < 0.5)
    out[small] = np.array([v[1:] for v in out[small]], dtype=object)
    return out


def _timestamps(seconds: np.ndarray) -> np.ndarray:
    text = np.datetime_as_string(seconds.astype("datetime64[s]"), unit="s")
    return np.array([t.replace("T", " ") for t in text], dtype=object)


def _ints(values: np.ndarray) -> np.ndarray:
    return values.astype(str).astype(object)


def _metered_columns(
    month: dt.date, start: int, n: int, total: int, rng: np.random.Generator
) -> dict[str, np.ndarray]:
    """A taximeter's trip: fares that add up to the total, the tail rows of 2020-2021 files
    without vendor and counts, outlier pickups; times under the pickup/dropoff roles."""
    pickup = _seconds_in(month, rng, n)
    duration = (rng.lognormal(6.4, 0.7, n)).astype(np.int64)
    backwards = rng.random(n) < 0.0005  # the daylight-saving night: dropoff before pickup
    duration[backwards] = -rng.integers(60, 3600, backwards.sum())
    position = start + np.arange(n)
    tail = (month.year >= 2020) & (position >= total * 0.97)  # the anonymous tail rows
    pickup[tail] -= pickup[tail] % 60
    dropoff = pickup + duration
    dropoff[tail] -= dropoff[tail] % 60
    distance = np.where(rng.random(n) < 0.01, 0, rng.gamma(1.6, 180, n).astype(np.int64))
    fare = 250 + (distance * 2.5).astype(np.int64) // 50 * 50
    negative = rng.random(n) < 0.002
    fare[negative] *= -1
    extra = rng.choice([0, 50, 100, 250, 300], n)
    mta = np.where(negative, -50, 50)
    card = rng.random(n) < 0.7
    tip = np.where(card, (fare * rng.uniform(0, 0.3, n)).astype(np.int64), 0)
    tolls = np.where(rng.random(n) < 0.05, 612, 0)
    improvement = np.where(negative, -30, 30)
    congestion = rng.choice([0, 250], n, p=[0.1, 0.9])
    total_cents = fare + extra + mta + tip + tolls + improvement + congestion

    columns = {
        "VendorID": _ints(rng.choice([1, 2, 6], n, p=[0.3, 0.6995, 0.0005])),
        PICKUP: _timestamps(pickup),
        DROPOFF: _timestamps(dropoff),
        "passenger_count": _ints(rng.choice(7, n, p=[0.02, 0.7, 0.14, 0.04, 0.03, 0.04, 0.03])),
        "trip_distance": _leading_dot(_money(distance), rng),
        "RatecodeID": _ints(rng.choice([1, 2, 5, 99], n, p=[0.96, 0.03, 0.009, 0.001])),
        "store_and_fwd_flag": rng.choice(np.array(["N", "Y"], dtype=object), n, p=[0.99, 0.01]),
        "PULocationID": _ints(rng.integers(1, 266, n)),
        "DOLocationID": _ints(rng.integers(1, 266, n)),
        "payment_type": _ints(np.where(card, 1, rng.choice([2, 3, 4], n, p=[0.9, 0.05, 0.05]))),
        "fare_amount": _money(fare),
        "extra": _money(extra),
        "mta_tax": _money(mta),
        "tip_amount": _money(tip),
        "tolls_amount": _money(tolls),
        "improvement_surcharge": _money(improvement),
        "total_amount": _money(total_cents),
        "congestion_surcharge": _money(congestion),
    }
    if month < dt.date(2019, 2, 1):
        columns["congestion_surcharge"][rng.random(n) < 0.99] = ""
    for name in ("VendorID", "passenger_count", "RatecodeID", "store_and_fwd_flag", "payment_type"):
        columns[name][tail] = ""
    columns["congestion_surcharge"][tail & (rng.random(n) < 0.6)] = ""
    outliers = np.flatnonzero(rng.random(n) < 0.0002)
    previous_evening = f"{month - dt.timedelta(days=1):%Y-%m-%d} 23:5"
    for k, i in enumerate(outliers):
        choice = k % 4
        columns[PICKUP][i] = (
            f"{previous_evening}{i % 10}:0{i % 10}" if choice == 3 else _OUTLIER_PICKUPS[choice]
        )
    return columns


def _street_hail_columns(
    month: dt.date, start: int, n: int, total: int, rng: np.random.Generator
) -> dict[str, np.ndarray]:
    """A metered trip's columns plus the street-hail ones: `ehail_fee` nearly always empty,
    `trip_type` 1 (street hail) or 2 (dispatch), empty where the other tail fields are."""
    columns = _metered_columns(month, start, n, total, rng)
    ehail = np.full(n, "", dtype=object)
    ehail[rng.random(n) < 0.0005] = "0"
    columns["ehail_fee"] = ehail
    trip_type = _ints(rng.choice([1, 2], n, p=[0.97, 0.03]))
    trip_type[columns["VendorID"] == ""] = ""
    columns["trip_type"] = trip_type
    return columns


def _base_numbers(rng: np.random.Generator, n: int) -> np.ndarray:
    return np.array([f"B{b:05d}" for b in rng.integers(1, 3500, n)], dtype=object)


def _dispatched_columns(
    month: dt.date, start: int, n: int, total: int, rng: np.random.Generator
) -> dict[str, np.ndarray]:
    """A dispatched (for-hire) trip: base numbers like `B00008`, a few empty; location IDs
    empty on most rows; `SR_Flag` mostly empty; a few pickups outside the month."""
    pickup = _seconds_in(month, rng, n)
    dropoff = pickup + rng.lognormal(7.0, 0.6, n).astype(np.int64)
    dispatching = _base_numbers(rng, n)
    dispatching[rng.random(n) < 0.002] = ""
    affiliated = _base_numbers(rng, n)
    affiliated[rng.random(n) < 0.1] = ""

    def locations() -> np.ndarray:
        ids = _ints(rng.integers(1, 266, n))
        ids[rng.random(n) < 0.6] = ""
        return ids

    flag = np.full(n, "", dtype=object)
    flag[rng.random(n) < 0.05] = "1"
    pickups = _timestamps(pickup)
    pickups[rng.random(n) < 0.0002] = _OUTLIER_PICKUPS[1]
    return {
        "dispatching_base_num": dispatching,
        PICKUP: pickups,
        DROPOFF: _timestamps(dropoff),
        PICKUP_ZONE: locations(),
        "DOlocationID": locations(),
        "SR_Flag": flag,
        "Affiliated_base_number": affiliated,
    }


def _high_volume_columns(
    month: dt.date, start: int, n: int, total: int, rng: np.random.Generator
) -> dict[str, np.ndarray]:
    """An app-dispatched trip: request, arrival, pickup and drop-off in that order, trip time in
    seconds, fares and driver pay, flags `Y`, `N` or a single space."""
    request = _seconds_in(month, rng, n)
    on_scene = request + rng.integers(60, 900, n)
    pickup = on_scene + rng.integers(0, 300, n)
    seconds = rng.lognormal(6.9, 0.6, n).astype(np.int64)
    miles = rng.gamma(1.8, 150, n).astype(np.int64)
    fare = 700 + miles * 2 + seconds // 3
    fare[rng.random(n) < 0.001] *= -1

    def flags(yes: float) -> np.ndarray:
        choice = rng.choice(
            np.array(["N", "Y", " "], dtype=object), n, p=[1 - yes - 0.01, yes, 0.01]
        )
        return choice

    on_scene_text = _timestamps(on_scene)
    on_scene_text[rng.random(n) < 0.3] = ""  # not every service reports the arrival
    return {
        "hvfhs_license_num": rng.choice(np.array(["HV0003", "HV0005"], dtype=object), n),
        "dispatching_base_num": _base_numbers(rng, n),
        "originating_base_num": _base_numbers(rng, n),
        "request_datetime": _timestamps(request),
        "on_scene_datetime": on_scene_text,
        PICKUP: _timestamps(pickup),
        DROPOFF: _timestamps(pickup + seconds),
        PICKUP_ZONE: _ints(rng.integers(1, 266, n)),
        "DOLocationID": _ints(rng.integers(1, 266, n)),
        "trip_miles": _money(miles),
        "trip_time": _ints(seconds),
        "base_passenger_fare": _money(fare),
        "tolls": _money(np.where(rng.random(n) < 0.06, 694, 0)),
        "bcf": _money(fare * 25 // 1000),
        "sales_tax": _money(fare * 88 // 1000),
        "congestion_surcharge": _money(rng.choice([0, 275], n, p=[0.4, 0.6])),
        "airport_fee": _money(rng.choice([0, 250], n, p=[0.93, 0.07])),
        "tips": _money(np.where(rng.random(n) < 0.2, rng.integers(100, 1000, n), 0)),
        "driver_pay": _money(fare * 72 // 100),
        "shared_request_flag": flags(0.02),
        "shared_match_flag": flags(0.01),
        "access_a_ride_flag": flags(0.001),
        "wav_request_flag": flags(0.005),
        "wav_match_flag": flags(0.05),
    }


# The generators name the time and zone columns by role; a spec's own names replace them.
PICKUP, DROPOFF, PICKUP_ZONE = "<pickup>", "<dropoff>", "<pickup zone>"
_GENERIC = {
    "smallint": lambda rng, n: _ints(rng.integers(1, 7, n)),
    "integer": lambda rng, n: _ints(rng.integers(1, 100_000, n)),
    "numeric": lambda rng, n: _money(rng.integers(-100, 5_000, n)),
    "text": lambda rng, n: rng.choice(np.array(["N", "Y", ""], dtype=object), n),
}


def _family(spec: DatasetSpec):  # noqa: ANN202 - one of the generators above
    """The generator whose columns fit the spec's, by the columns it declares."""
    names = {c.name for c in spec.columns}
    if "hvfhs_license_num" in names:
        return _high_volume_columns
    if "trip_type" in names:
        return _street_hail_columns
    if "fare_amount" in names:
        return _metered_columns
    if "dispatching_base_num" in names:
        return _dispatched_columns
    return None


def _columns(
    spec: DatasetSpec,
    month: dt.date,
    start: int,
    n: int,
    total: int,
    rng: np.random.Generator,
    later: bool = False,
) -> dict[str, np.ndarray]:
    """Every column of `spec` (`later`: its later columns too, as the TLC's files have them):
    its family's realistic values, plain values of the column's type for the rest (a dataset
    declared only in a test gets files too)."""
    family = _family(spec)
    made = family(month, start, n, total, rng) if family else {}
    roles = {PICKUP: spec.pickup_column, DROPOFF: spec.dropoff_column}
    roles[PICKUP_ZONE] = spec.pickup_zone_column
    columns = {roles.get(name) or name: values for name, values in made.items()}
    if spec.pickup_column and spec.pickup_column not in columns:
        columns[spec.pickup_column] = _timestamps(_seconds_in(month, rng, n))
    for column in (*spec.columns, *(spec.later_columns if later else ())):
        if column.name not in columns:
            if column.pg_type == "timestamp":
                columns[column.name] = _timestamps(_seconds_in(month, rng, n) + 600)
            else:
                columns[column.name] = _GENERIC[column.pg_type](rng, n)
    return columns


def _seconds_in(month: dt.date, rng: np.random.Generator, n: int) -> np.ndarray:
    """`n` random epoch seconds within `month`."""
    start, end = (np.datetime64(m, "s").astype(np.int64) for m in (month, next_month(month)))
    return start + rng.integers(0, end - start, n)


def header_for(spec: DatasetSpec, month: dt.date) -> tuple[str, ...]:
    """The header the mirror's file of that month carries (FHV changed its spelling in 2020)."""
    return spec.header_for(f"{month:%Y-%m}")


def _chunk(
    spec: DatasetSpec, month: dt.date, start: int, n: int, total: int, rng: np.random.Generator
) -> list[str]:
    columns = _columns(spec, month, start, n, total, rng)
    fields = (columns[c.name] for c in spec.columns)
    lines = [",".join(row) for row in zip(*fields, strict=True)]
    for i in np.flatnonzero(rng.random(n) < 0.0005):  # exact duplicate lines are real records
        if i > 0:
            lines[i] = lines[i - 1]
    return lines


def month_chunks(spec: DatasetSpec, month: dt.date, rows: int, seed: int = 42) -> Iterator[bytes]:
    """The month's file as the mirror has it, uncompressed: header, then `rows` data rows, each
    line ending in CRLF like the mirror's (and the TLC's) CSVs, in chunks of CHUNK_ROWS."""
    rng = np.random.default_rng([seed, month.year, month.month])
    yield (",".join(header_for(spec, month)) + LINE_END).encode()
    for start in range(0, rows, CHUNK_ROWS):
        lines = _chunk(spec, month, start, min(CHUNK_ROWS, rows - start), rows, rng)
        yield (LINE_END.join(lines) + LINE_END).encode()


def write_month(
    month: str, rows: int, out_dir: Path, seed: int = 42, spec: DatasetSpec = LESSON_DATASET
) -> Path:
    """Write `<out_dir>/<name>/<name>_tripdata_<month>.csv.gz` with `rows` data rows."""
    first = dt.datetime.strptime(month, "%Y-%m").date()
    path = out_dir / spec.relative_path(first)
    path.parent.mkdir(parents=True, exist_ok=True)
    with gzip.open(path, "wb", compresslevel=6) as handle:
        for chunk in month_chunks(spec, first, rows, seed):
            handle.write(chunk)
    return path


def month_arguments(description: str) -> tuple[argparse.Namespace, DatasetSpec]:
    """The command line both month writers take (this one and taxi_testkit.tlc): months, rows,
    output folder, seed and dataset."""
    parser = argparse.ArgumentParser(description=description)
    parser.add_argument("months", nargs="+", help="months as YYYY-MM")
    parser.add_argument("--rows", type=int, help="data rows (default: the real count, else 2000)")
    parser.add_argument("--out", type=Path, default=Path("mirror"))
    parser.add_argument("--seed", type=int, default=42)
    parser.add_argument(
        "--dataset", choices=[d.name for d in DATASETS], default=LESSON_DATASET.name
    )
    args = parser.parse_args()
    return args, next(d for d in DATASETS if d.name == args.dataset)


def main() -> None:
    args, spec = month_arguments(__doc__.splitlines()[0])
    for month in args.months:
        rows = args.rows or spec.published_rows_in(month) or 2000
        path = write_month(month, rows, args.out, args.seed, spec)
        print(f"{path}\t{rows} rows")  # noqa: T201 - a command-line tool reports to stdout
    print(f"{write_zones(args.out, args.seed)}\t{ZONE_COUNT} zones")  # noqa: T201


if __name__ == "__main__":
    main()
