"""The course's load in one command: what the analytics module needs, into the warehouse.

    python -m taxi_assets.course            # or: make course
    python -m taxi_assets.course --dry-run  # the plan and the disk estimate only

Each dataset's course months (yellow and green 2019-01..2020-12, FHV 2019-01..2019-12, as
their declarations say), into the configured warehouse
(TAXI_PG_URL) or the embedded one. It first estimates the disk the missing months need and
refuses when the lake's or the warehouse's disk cannot hold them; months already loaded and
verified (their blocking checks pass) are skipped. Each dataset's missing months go to Dagster
as ranged `dagster job execute` runs tagged `taxi/launched_by: course`, the datasets side by
side, recorded in the instance ($DAGSTER_HOME). At the end it prints each dataset's total beside the
course's published one.

Its `dagster` children stop (SIGTERM, so each run ends recorded) when the course process dies,
even by SIGKILL; a run whose process was killed anyway is marked failed at the next start.
Months outside the datasets' partitions are refused before anything is planned.
"""

import argparse
import json
import os
import subprocess
import sys
from collections.abc import Sequence
from concurrent.futures import ThreadPoolExecutor
from dataclasses import dataclass
from pathlib import Path

import dagster as dg
from psycopg import sql

from taxi_assets.cli.dead_runs import fail_runs_whose_process_died
from taxi_assets.datasets import DATASETS
from taxi_assets.mechanics.dataset_spec import DatasetSpec
from taxi_assets.mechanics.disk_space import GB, HEADROOM, data_directory, shortfall
from taxi_assets.mechanics.lake import Lake
from taxi_assets.mechanics.months import parse_month
from taxi_assets.mechanics.processes import dies_with_me
from taxi_assets.mechanics.quality_sql import column_types, outside_month_rows
from taxi_assets.mechanics.writer import WarehouseWriter
from taxi_assets.resources import DataLake, WarehouseResource
from taxi_assets.shared.launch import LAUNCHED_BY_TAG, range_tags
from taxi_assets.shared.partitions import monthly_partitions, partitions_for
from taxi_assets.trips.checks import (
    max_outside_month_share,
    month_outcome,
    row_count_outcome,
    schema_outcome,
)


@dataclass(frozen=True)
class Part:
    """One dataset's months in the course, and the total rows the course publishes for them."""

    spec: DatasetSpec
    first: str
    last: str
    published_rows: int

    @property
    def months(self) -> list[str]:
        return list(monthly_partitions(self.first, self.last).get_partition_keys())


COURSE = tuple(
    Part(spec, spec.course.first_month, spec.course.last_month, spec.course.rows)
    for spec in DATASETS
    if spec.course is not None
)
"""Every dataset the course loads, from its declaration (`DatasetSpec.course`)."""


def missing_months(part: Part, writer: WarehouseWriter, lake: Lake) -> list[str]:
    """The part's months not loaded, or loaded but failing a blocking check."""
    missing, max_share = [], max_outside_month_share()
    with writer.connect() as conn:
        for key in part.months:
            month = parse_month(key)
            table = part.spec.child_table(month)
            if not writer.exists(conn, table):
                missing.append(key)
                continue
            count, outside = outside_month_rows(conn, writer.ident(table), part.spec, month)
            columns = column_types(conn, writer.schema, table)
            checks = (
                row_count_outcome(part.spec, month, count, lake),
                schema_outcome(part.spec, month, columns),
                month_outcome(month, outside, count, max_share),
            )
            if not all(check.passed for check in checks):
                missing.append(key)
    return missing


def needed_bytes(part: Part, months: int) -> tuple[float, float]:
    """(lake, warehouse) bytes `months` of the part need, from its published average."""
    rows = part.published_rows * months / len(part.months)
    return rows * part.spec.lake_bytes_per_row, rows * part.spec.table_bytes_per_row * HEADROOM


def warehouse_dir(writer: WarehouseWriter) -> Path | None:
    """The warehouse's data directory when it is on this machine (and the role may see it)."""
    with writer.connect() as conn:
        return data_directory(conn)


def check_disk(lake_root: Path, writer: WarehouseWriter, lake_bytes: float, table_bytes: float):
    """Refuse (SystemExit) when the lake's or the warehouse's filesystem cannot hold the load."""
    places: list[tuple[Path, float]] = [(lake_root, lake_bytes)]
    data_dir = warehouse_dir(writer)
    if data_dir is not None:
        places.append((data_dir, table_bytes))
    short = shortfall(places)
    if short:
        raise SystemExit(
            f"refusing to start: {short}; free some space or point TAXI_LAKE_DIR / TAXI_PG_URL "
            "elsewhere"
        )
    if data_dir is None:
        print(  # noqa: T201
            f"the warehouse's disk is not visible from here: make sure it has about "
            f"{table_bytes / GB:,.1f} GB free"
        )


def spans(months: Sequence[str], all_months: Sequence[str]) -> list[tuple[str, str]]:
    """Contiguous runs of `months` within `all_months`, as (first, last)."""
    runs: list[tuple[str, str]] = []
    previous = None
    for key in all_months:
        if key in months:
            if runs and previous == runs[-1][1]:
                runs[-1] = (runs[-1][0], key)
            else:
                runs.append((key, key))
        previous = key
    return runs


def materialize(part: Part, first: str, last: str) -> None:
    """One ranged run of the part's job (its raw and warehouse assets), through the `dagster`
    CLI; `dagster job execute` takes tags (`asset materialize` has none), so the run says that
    the course launched it (docs/ui.md)."""
    dagster = str(Path(sys.executable).with_name("dagster"))
    tags = {**range_tags(first, last), LAUNCHED_BY_TAG: "course"}
    args = ["job", "execute", "-m", "taxi_assets", "-j", part.spec.job_name]
    print(f"{part.spec.name}: loading {first}..{last}", flush=True)  # noqa: T201
    command = [dagster, *args, "--tags", json.dumps(tags)]
    done = subprocess.run(dies_with_me(command), check=False)  # stops if this process is killed
    if done.returncode != 0:
        raise SystemExit(f"{part.spec.name} {first}..{last} failed: see the run log above")


def prepare_instance() -> None:
    """Create the instance's storage once, here: runs started side by side on a fresh
    DAGSTER_HOME would each create its SQLite tables and collide (`table ... already exists`)."""
    if os.environ.get("DAGSTER_HOME"):
        with dg.DagsterInstance.get() as instance:
            instance.get_runs(limit=1)
            instance.get_latest_materialization_event(dg.AssetKey(DATASETS[0].table))
            instance.all_instigator_state()


def fail_dead_runs() -> None:
    """Runs whose process was killed (an earlier course's, any CLI run's) are marked failed and
    named, so that none looks alive for ever (dead_runs.py)."""
    home = os.environ.get("DAGSTER_HOME")
    if home and Path(home).is_dir():
        with dg.DagsterInstance.get() as instance:
            for line in fail_runs_whose_process_died(instance):
                print(line)  # noqa: T201


def load_side_by_side(course: Sequence[Part], plan: dict[str, list[str]], at_once: int) -> None:
    """Each dataset's runs in a process of its own, the datasets at once: one dataset's
    downloads overlap another's loads, while the warehouse's load slots (TAXI_LOAD_SLOTS)
    bound the month loads of all of them together. The first failure is raised once every
    dataset's runs have ended, so what loaded stays loaded and recorded."""

    def load(part: Part) -> None:
        for first, last in spans(plan[part.spec.name], part.months):
            materialize(part, first, last)

    with ThreadPoolExecutor(max(1, at_once)) as pool:
        for done in [pool.submit(load, part) for part in course]:
            done.result()


def total_rows(part: Part, writer: WarehouseWriter) -> int:
    """The part's rows in the warehouse, over its months."""
    query = sql.SQL("SELECT count(*) FROM {} WHERE file_month BETWEEN %s AND %s").format(
        writer.ident(part.spec.table)
    )
    with writer.connect() as conn:
        if not writer.exists(conn, part.spec.table):
            return 0
        found = conn.execute(query, (parse_month(part.first), parse_month(part.last)))
        return int(found.fetchone()[0])  # type: ignore[index]


def report(course: Sequence[Part], writer: WarehouseWriter) -> bool:
    """Print each dataset's total beside the course's; True when all match."""
    print(f"{'dataset':<8} {'months':<18} {'rows':>13} {'course':>13}")  # noqa: T201
    matched = True
    for part in course:
        rows = total_rows(part, writer)
        verdict = "match" if rows == part.published_rows else "DIFFERENT"
        matched &= rows == part.published_rows
        span = f"{part.first}..{part.last}"
        print(  # noqa: T201
            f"{part.spec.name:<8} {span:<18} {rows:>13,} {part.published_rows:>13,}  {verdict}"
        )
    return matched


def parse_part(text: str) -> Part:
    """`NAME:FIRST..LAST=ROWS`, e.g. `green:2019-10..2019-11=2700` (a smaller course)."""
    name, _, rest = text.partition(":")
    span, _, rows = rest.partition("=")
    first, _, last = span.partition("..")
    spec = next((d for d in DATASETS if d.name == name), None)
    if spec is None or not (first and last and rows.isdigit()):
        raise argparse.ArgumentTypeError(f"{text!r} is not NAME:YYYY-MM..YYYY-MM=ROWS")
    try:
        in_order = parse_month(first) <= parse_month(last)
    except ValueError as exc:
        raise argparse.ArgumentTypeError(f"{text!r}: {exc}") from None
    if not in_order:
        raise argparse.ArgumentTypeError(f"{text!r}: {first} comes after {last}")
    return Part(spec, first, last, int(rows))


def refuse_outside_bounds(course: Sequence[Part]) -> None:
    """Refuse (SystemExit, one line) a part reaching beyond its dataset's partitions, before
    anything is planned: Dagster would accept the plan and fail each run with a traceback."""
    for part in course:
        keys = partitions_for(part.spec.first_month, part.spec.last_month).get_partition_keys()
        if keys and keys[0] <= part.first and part.last <= keys[-1]:
            continue
        bounds = f"{keys[0]}..{keys[-1]}" if keys else "no months"
        raise SystemExit(
            f"refusing to start: {part.spec.name} {part.first}..{part.last} lies outside the "
            f"{part.spec.name} partitions ({bounds}; TAXI_FIRST_MONTH and TAXI_LAST_MONTH set "
            "the bounds); nothing was loaded"
        )


def main(argv: Sequence[str] | None = None) -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--dry-run", action="store_true", help="plan and estimate only")
    parser.add_argument(
        "--part",
        type=parse_part,
        action="append",
        help="load this instead of the course: NAME:FIRST..LAST=ROWS (repeatable)",
    )
    parser.add_argument(
        "--at-once",
        type=int,
        default=len(COURSE),
        help="datasets loading at the same time (default: all %(default)s; 1: one after another)",
    )
    args = parser.parse_args(argv)
    course = args.part or COURSE
    refuse_outside_bounds(course)
    fail_dead_runs()
    writer, lake = WarehouseResource().writer(), DataLake().lake()
    plan = {part.spec.name: missing_months(part, writer, lake) for part in course}
    lake_bytes = table_bytes = 0.0
    for part in course:
        months = plan[part.spec.name]
        more_lake, more_table = needed_bytes(part, len(months))
        lake_bytes, table_bytes = lake_bytes + more_lake, table_bytes + more_table
        skipped = len(part.months) - len(months)
        print(  # noqa: T201
            f"{part.spec.name}: {len(months)} months to load, {skipped} already loaded and "
            f"verified; about {more_lake / GB:,.1f} GB lake, {more_table / GB:,.1f} GB warehouse"
        )
    if isinstance(lake.root, Path):  # an object store's capacity is not ours to measure
        check_disk(lake.root, writer, lake_bytes, table_bytes)
    if args.dry_run:
        return
    if not os.environ.get("DAGSTER_HOME"):
        print("DAGSTER_HOME is not set: the runs will not be recorded (`make course` sets it)")  # noqa: T201
    prepare_instance()
    load_side_by_side(course, plan, args.at_once)
    if not report(course, writer):
        raise SystemExit("the warehouse's totals differ from the course's")


if __name__ == "__main__":
    main()
