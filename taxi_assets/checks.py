"""Asset checks on every month of `yellow_taxi`, evaluated per partition after each load.

Two blocking checks stop downstream marts when a month cannot be trusted (its rows do not
reconcile with the lake file, or its table drifted from the schema contract); seven warnings
report suspicious rows with their counts, which are real records and are never dropped.
The counting runs in Postgres (quality_sql.py), one query per month.
"""

import datetime as dt
from collections.abc import Iterator
from dataclasses import dataclass, field
from typing import Any

import dagster as dg

# Not exported by dagster; AssetCheckResult fills it the same way for single partitions.
from dagster._core.definitions.asset_checks.asset_check_evaluation import (
    AssetCheckEvaluationTargetMaterializationData,
)

from taxi_assets import quality_sql as q
from taxi_assets.assets import yellow_taxi
from taxi_assets.errors import TaxiError
from taxi_assets.partitions import month_partitions, parse_month
from taxi_assets.resources import DataLake, PostgresResource
from taxi_assets.warehouse import child_table

ROW_COUNT_CHECK = "row_count_matches_lake"
SCHEMA_CHECK = "schema_matches_contract"

# The thresholds, all in one place: a warning fails when more than this share of a month's rows
# is flagged. Real 2020-2021 months leave passenger_count empty on up to ~7% of rows.
WARN_ABOVE_SHARE: dict[str, float] = {
    q.PICKUPS_OUTSIDE_MONTH: 0.005,
    q.NEGATIVE_TOTALS: 0.01,
    q.DROPOFF_BEFORE_PICKUP: 0.005,
    q.MISSING_PASSENGER_COUNTS: 0.10,
    q.DUPLICATE_ROWS: 0.005,
    q.NEGATIVE_PASSENGER_COUNTS: 0.0,
    q.EXTREME_AMOUNTS: 0.0,
}
_WARNING_TEXT = {
    q.PICKUPS_OUTSIDE_MONTH: "Rows whose pickup lies outside the file's month.",
    q.NEGATIVE_TOTALS: "Rows with a negative total_amount (refunds, disputes).",
    q.DROPOFF_BEFORE_PICKUP: "Rows whose dropoff precedes the pickup (daylight-saving nights).",
    q.MISSING_PASSENGER_COUNTS: "Rows without a passenger_count.",
    q.DUPLICATE_ROWS: "Extra copies of exactly identical rows (kept, only reported).",
    q.NEGATIVE_PASSENGER_COUNTS: "Rows with a negative passenger_count (never a real count).",
    q.EXTREME_AMOUNTS: f"Rows with an amount or distance beyond ±{q.EXTREME_MAGNITUDE:,}.",
}

CHECK_SPECS = [
    dg.AssetCheckSpec(
        ROW_COUNT_CHECK,
        asset=yellow_taxi,
        blocking=True,
        partitions_def=month_partitions,
        description="The month's table holds exactly the data rows the lake manifest records.",
    ),
    dg.AssetCheckSpec(
        SCHEMA_CHECK,
        asset=yellow_taxi,
        blocking=True,
        partitions_def=month_partitions,
        description="The month's columns, types and nullability match the schema contract.",
    ),
    *(
        dg.AssetCheckSpec(
            name,
            asset=yellow_taxi,
            partitions_def=month_partitions,
            description=f"{text} Warns above {WARN_ABOVE_SHARE[name]:.1%} of the month's rows.",
        )
        for name, text in _WARNING_TEXT.items()
    ),
]


@dg.multi_asset_check(specs=CHECK_SPECS, can_subset=True, name="yellow_taxi_checks")
def yellow_taxi_checks(
    context: dg.AssetCheckExecutionContext, postgres: PostgresResource, lake: DataLake
) -> Iterator[dg.AssetCheckEvaluation | dg.Output]:
    """Evaluate the selected checks for every month of the run, each month on its own."""
    selected = {key.name for key in context.selected_asset_check_keys}
    with postgres.connect() as conn:
        for key in context.partition_keys:
            month = parse_month(key)
            counts = q.month_counts(conn, postgres.warehouse_schema, month)
            columns = q.column_types(conn, postgres.warehouse_schema, child_table(month))
            for outcome in _evaluate(month, counts, columns, lake, selected):
                yield _evaluation(context, key, outcome)
    yield from _outputs(context)


@dataclass(frozen=True)
class Outcome:
    """One check's verdict on one month."""

    name: str
    passed: bool
    description: str
    metadata: dict[str, Any] = field(default_factory=dict)


def _evaluate(
    month: dt.date,
    counts: q.MonthCounts | None,
    columns: list[tuple[str, str, bool]],
    lake: DataLake,
    selected: set[str],
) -> Iterator[Outcome]:
    table = child_table(month)
    for name in [ROW_COUNT_CHECK, SCHEMA_CHECK, *WARN_ABOVE_SHARE]:
        if name not in selected:
            continue
        if counts is None:
            yield Outcome(name, False, f"{month:%Y-%m}: table {table} does not exist (not loaded)")
        elif name == ROW_COUNT_CHECK:
            yield row_count_outcome(month, counts.rows, lake)
        elif name == SCHEMA_CHECK:
            yield schema_outcome(month, columns)
        else:
            yield warning_outcome(month, name, counts.flagged[name], counts.rows)


def row_count_outcome(month: dt.date, rows: int, lake: DataLake) -> Outcome:
    """Warehouse rows against the lake manifest's data rows."""
    try:
        expected = lake.lake().recorded(month).rows
    except TaxiError as exc:
        return Outcome(ROW_COUNT_CHECK, False, str(exc), {"warehouse_rows": rows})
    metadata = {"warehouse_rows": rows, "lake_rows": expected, "difference": rows - expected}
    verdict = "match" if rows == expected else "do not match"
    text = f"{month:%Y-%m}: {rows:,} rows in {child_table(month)} and {expected:,} in the lake"
    return Outcome(ROW_COUNT_CHECK, rows == expected, f"{text}: they {verdict}", metadata)


def schema_outcome(month: dt.date, columns: list[tuple[str, str, bool]]) -> Outcome:
    """The table's columns as Postgres reports them, against the contract."""
    expected = q.contract_types()
    found, wanted = set(columns), set(expected)
    differences = [f"missing {c}" for c in expected if c not in found] + [
        f"unexpected {c}" for c in columns if c not in wanted
    ]
    if not differences and columns != expected:
        differences = ["columns reordered"]
    text = "; ".join(differences) or "columns, types and nullability match"
    metadata = {"columns": len(columns), "differences": len(differences)}
    return Outcome(SCHEMA_CHECK, not differences, f"{month:%Y-%m}: {text}", metadata)


def warning_outcome(month: dt.date, name: str, flagged: int, rows: int) -> Outcome:
    """A warning passes while the flagged share stays within its threshold."""
    share = flagged / rows if rows else 0.0
    limit = WARN_ABOVE_SHARE[name]
    metadata = {"flagged_rows": flagged, "rows": rows, "share": share, "threshold": limit}
    text = f"{month:%Y-%m}: {flagged:,} of {rows:,} rows ({share:.3%}; warns above {limit:.1%})"
    return Outcome(name, share <= limit, text, metadata)


def _evaluation(
    context: dg.AssetCheckExecutionContext, partition: str, outcome: Outcome
) -> dg.AssetCheckEvaluation:
    """An evaluation for one partition: AssetCheckResult cannot name one in a ranged run."""
    blocking = outcome.name in (ROW_COUNT_CHECK, SCHEMA_CHECK)
    return dg.AssetCheckEvaluation(
        asset_key=yellow_taxi.key,
        check_name=outcome.name,
        passed=outcome.passed,
        metadata=outcome.metadata,
        severity=dg.AssetCheckSeverity.ERROR if blocking else dg.AssetCheckSeverity.WARN,
        description=outcome.description,
        blocking=blocking,
        partition=partition,
        target_materialization_data=_latest_materialization(context, partition),
    )


def _latest_materialization(
    context: dg.AssetCheckExecutionContext, partition: str
) -> AssetCheckEvaluationTargetMaterializationData | None:
    """The month's materialization this evaluation speaks about (as AssetCheckResult finds it)."""
    records = context.instance.fetch_materializations(
        dg.AssetRecordsFilter(asset_key=yellow_taxi.key, asset_partitions=[partition]), limit=1
    ).records
    if not records:
        return None
    return AssetCheckEvaluationTargetMaterializationData(
        run_id=records[0].run_id, storage_id=records[0].storage_id, timestamp=records[0].timestamp
    )


def _outputs(context: dg.AssetCheckExecutionContext) -> Iterator[dg.Output]:
    """One empty output per selected check, which is what lets downstream steps start."""
    assets_def = context.op_execution_context.assets_def
    for key in context.selected_asset_check_keys:
        yield dg.Output(None, output_name=assets_def.get_output_name_for_asset_check_key(key))
