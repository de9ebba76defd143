"""Airflow's `catchup=True`, made explicit: list the months within the bounds that are missing or
whose latest materialization failed, and launch one backfill for them.

    python -m taxi_assets.catchup --dry-run                      # list only
    python -m taxi_assets.catchup --first 2021-01 --last 2021-03 # list and launch
    python -m taxi_assets.catchup --dataset green --dry-run      # one dataset

For every dataset (or the one named), it asks a running `dagster-webserver` (TAXI_DAGSTER_URL,
default http://127.0.0.1:3000/graphql) what Dagster recorded for the warehouse asset, and
launches one backfill per dataset with months to load; the instance's `dagster-daemon` runs it.
"""

import argparse
import sys
from collections.abc import Collection, Mapping, Sequence

from taxi_assets.cli.backfill_api import DagsterApi
from taxi_assets.datasets import DATASETS
from taxi_assets.mechanics.dataset_spec import DatasetSpec
from taxi_assets.mechanics.months import parse_month
from taxi_assets.mechanics.settings import setting

DEFAULT_DAGSTER_URL = "http://127.0.0.1:3000/graphql"
NEEDS_LOADING = {None, "FAILED"}


def months_to_catch_up(
    keys: Sequence[str],
    statuses: Mapping[str, str],
    first: str | None,
    last: str | None,
    in_progress: Collection[str] = (),
) -> list[str]:
    """Keys within [first, last] that were never materialized or whose latest attempt failed.

    Months being materialized, or targeted by a backfill still in progress, are left alone, so
    running this twice launches nothing twice.
    """
    low, high = first or keys[0], last or keys[-1]
    return [
        k
        for k in keys
        if low <= k <= high and statuses.get(k) in NEEDS_LOADING and k not in in_progress
    ]


def _arguments(argv: Sequence[str] | None) -> argparse.Namespace:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--first", type=parse_month, help="first month, YYYY-MM (default: all)")
    parser.add_argument("--last", type=parse_month, help="last month, YYYY-MM (default: all)")
    parser.add_argument("--url", help=f"webserver GraphQL URL (default {DEFAULT_DAGSTER_URL})")
    parser.add_argument("--dry-run", action="store_true", help="list the months, launch nothing")
    parser.add_argument(
        "--dataset",
        choices=[spec.name for spec in DATASETS],
        help="one dataset only (default: every dataset)",
    )
    return parser.parse_args(argv)


def catch_up(api: DagsterApi, spec: DatasetSpec, args: argparse.Namespace) -> None:
    """List, and unless it is a dry run launch, the dataset's months that need loading."""
    first = args.first.strftime("%Y-%m") if args.first else None
    last = args.last.strftime("%Y-%m") if args.last else None
    keys, statuses = api.partition_statuses(spec.table)
    in_progress = api.months_in_requested_backfills(spec.table)
    months = months_to_catch_up(keys, statuses, first, last, in_progress)
    for month in months:
        sys.stdout.write(f"{spec.table} {month}  {statuses.get(month, 'MISSING').lower()}\n")
    if not months:
        sys.stdout.write(f"{spec.table}: nothing to catch up\n")
    elif not args.dry_run:
        title = f"catch-up {spec.table} {months[0]}..{months[-1]}"
        backfill_id = api.launch_backfill(months, title=title, spec=spec)
        sys.stdout.write(f"launched backfill {backfill_id} for {len(months)} month(s)\n")


def main(argv: Sequence[str] | None = None) -> None:
    args = _arguments(argv)
    api = DagsterApi(setting(args.url, "TAXI_DAGSTER_URL", DEFAULT_DAGSTER_URL) or "")
    for spec in DATASETS:
        if args.dataset in (None, spec.name):
            catch_up(api, spec, args)


if __name__ == "__main__":
    main()
