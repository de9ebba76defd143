"""Month tables of any declared dataset, loaded straight into the warehouse through the real
writer from the generator's rows (no lake, no Dagster), for testing the dbt models and the
benchmarks where a month's file is not the subject.

    python -m taxi_testkit.trip_tables 2021-03 --url postgresql://... --dataset green --rows 1000

Rows are deterministic for a (dataset, month, rows, seed); a different seed gives a different
month, as a reloaded file would. They carry what the staging models drop (rows without a vendor
or a dispatching base) the way the mirror's files do.
"""

import argparse
import datetime as dt

from taxi_assets.datasets import DATASETS
from taxi_assets.mechanics.dataset_spec import DatasetSpec
from taxi_assets.mechanics.writer import WarehouseWriter
from taxi_testkit.generate import month_chunks


def replace_month(
    url: str, schema: str, spec: DatasetSpec, month: dt.date, rows: int, seed: int = 42
) -> None:
    """Create the dataset's parent if needed and swap in the month's child with `rows` trips."""
    writer = WarehouseWriter(url=url, schema=schema, first_backoff_seconds=0.1)
    where = f"generated {spec.name} {month:%Y-%m}"
    writer.replace_month(
        spec.parent_table, month, lambda: month_chunks(spec, month, rows, seed), rows, where
    )


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("months", nargs="+", help="YYYY-MM")
    parser.add_argument("--url", required=True, help="postgresql:// URL of the warehouse")
    parser.add_argument("--schema", default="public")
    parser.add_argument("--dataset", choices=[d.name for d in DATASETS], required=True)
    parser.add_argument("--rows", type=int, default=100_000)
    args = parser.parse_args()
    spec = next(d for d in DATASETS if d.name == args.dataset)
    for key in args.months:
        month = dt.datetime.strptime(key, "%Y-%m").date()
        replace_month(args.url, args.schema, spec, month, args.rows)


if __name__ == "__main__":
    main()
