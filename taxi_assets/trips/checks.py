"""The checks of a dataset's warehouse asset, evaluated month by month as each month commits.

Two blocking checks fail the step, and so hold back downstream assets, when a month cannot be
trusted (its rows do not reconcile with the lake file, or its table drifted from the contract);
the dataset's warning rules report suspicious rows with their counts (real records, never
dropped). Each result names its month: `partition`, a `month` metadata entry and the
description's first word. The counting runs in Postgres (quality_sql.py), one query per month.
"""

import datetime as dt
from collections.abc import Iterator
from dataclasses import dataclass, field
from typing import Any

import dagster as dg
import psycopg

# Not exported by dagster; AssetCheckResult fills it the same way for single partitions.
from dagster._core.definitions.asset_checks.asset_check_evaluation import (
    AssetCheckEvaluationTargetMaterializationData,
)

from taxi_assets.mechanics import quality_sql as q
from taxi_assets.mechanics.dataset_spec import DatasetSpec
from taxi_assets.mechanics.errors import TaxiError
from taxi_assets.mechanics.lake import Lake

ROW_COUNT_CHECK = "row_count_matches_lake"
SCHEMA_CHECK = "schema_matches_contract"
BLOCKING_CHECKS = (ROW_COUNT_CHECK, SCHEMA_CHECK)


def check_specs(
    spec: DatasetSpec, asset_key: dg.AssetKey, partitions_def: dg.PartitionsDefinition
) -> list[dg.AssetCheckSpec]:
    """The blocking checks, then one warning per rule of the dataset."""
    blocking = {
        ROW_COUNT_CHECK: "The month's table holds exactly the data rows the lake manifest records.",
        SCHEMA_CHECK: "The month's columns, types and nullability match the dataset's contract.",
    }
    return [
        *(
            dg.AssetCheckSpec(
                name,
                asset=asset_key,
                blocking=True,
                partitions_def=partitions_def,
                description=text,
            )
            for name, text in blocking.items()
        ),
        *(
            dg.AssetCheckSpec(
                rule.name,
                asset=asset_key,
                partitions_def=partitions_def,
                description=f"{rule.description} Warns above {rule.threshold:.1%} of the rows.",
            )
            for rule in spec.warnings
        ),
    ]


@dataclass(frozen=True)
class Outcome:
    """One check's verdict on one month."""

    name: str
    passed: bool
    description: str
    metadata: dict[str, Any] = field(default_factory=dict)


def evaluate(
    conn: psycopg.Connection,
    schema: str,
    spec: DatasetSpec,
    month: dt.date,
    lake: Lake,
    selected: set[str],
    duplicates: int | None = None,
) -> Iterator[Outcome]:
    """The selected checks' outcomes for one month (`duplicates`: the load's own count)."""
    counts = q.month_counts(conn, schema, spec, month, duplicates)
    columns = q.column_types(conn, schema, spec.child_table(month))
    thresholds = {rule.name: rule.threshold for rule in spec.warnings}
    for name in [*BLOCKING_CHECKS, *thresholds]:
        if name not in selected:
            continue
        if counts is None:
            text = f"{month:%Y-%m}: table {spec.child_table(month)} does not exist (not loaded)"
            yield Outcome(name, False, text)
        elif name == ROW_COUNT_CHECK:
            yield row_count_outcome(spec, month, counts.rows, lake)
        elif name == SCHEMA_CHECK:
            yield schema_outcome(spec, month, columns)
        else:
            yield warning_outcome(month, name, counts.flagged[name], counts.rows, thresholds[name])


def row_count_outcome(spec: DatasetSpec, month: dt.date, rows: int, lake: Lake) -> Outcome:
    """Warehouse rows against the lake manifest's data rows."""
    try:
        expected = lake.recorded(spec, month).rows
    except TaxiError as exc:
        return Outcome(ROW_COUNT_CHECK, False, str(exc), {"warehouse_rows": rows})
    metadata = {"warehouse_rows": rows, "lake_rows": expected, "difference": rows - expected}
    verdict = "match" if rows == expected else "do not match"
    table = spec.child_table(month)
    text = f"{month:%Y-%m}: {rows:,} rows in {table} and {expected:,} in the lake"
    return Outcome(ROW_COUNT_CHECK, rows == expected, f"{text}: they {verdict}", metadata)


def schema_outcome(
    spec: DatasetSpec, month: dt.date, columns: list[tuple[str, str, bool]]
) -> Outcome:
    """The table's columns as Postgres reports them, against the contract."""
    expected = q.contract_types(spec)
    found, wanted = set(columns), set(expected)
    differences = [f"missing {c}" for c in expected if c not in found] + [
        f"unexpected {c}" for c in columns if c not in wanted
    ]
    if not differences and columns != expected:
        differences = ["columns reordered"]
    text = "; ".join(differences) or "columns, types and nullability match"
    metadata = {"columns": len(columns), "differences": len(differences)}
    return Outcome(SCHEMA_CHECK, not differences, f"{month:%Y-%m}: {text}", metadata)


def warning_outcome(month: dt.date, name: str, flagged: int, rows: int, limit: float) -> Outcome:
    """A warning passes while the flagged share stays within its threshold."""
    share = flagged / rows if rows else 0.0
    metadata = {"flagged_rows": flagged, "rows": rows, "share": share, "threshold": limit}
    text = f"{month:%Y-%m}: {flagged:,} of {rows:,} rows ({share:.3%}; warns above {limit:.1%})"
    return Outcome(name, share <= limit, text, metadata)


def evaluations(
    instance: dg.DagsterInstance, asset_key: dg.AssetKey, partition: str, outcomes: list[Outcome]
) -> Iterator[dg.AssetCheckEvaluation]:
    """The month's outcomes as evaluations of its latest materialization (looked up once)."""
    target = _latest_materialization(instance, asset_key, partition)
    for outcome in outcomes:
        yield evaluation(asset_key, partition, outcome, target)


def evaluation(
    asset_key: dg.AssetKey,
    partition: str,
    outcome: Outcome,
    target: AssetCheckEvaluationTargetMaterializationData | None,
) -> dg.AssetCheckEvaluation:
    """The outcome for one month: AssetCheckResult cannot name a month in a ranged run."""
    blocking = outcome.name in BLOCKING_CHECKS
    return dg.AssetCheckEvaluation(
        asset_key=asset_key,
        check_name=outcome.name,
        passed=outcome.passed,
        metadata={"month": partition, **outcome.metadata},
        severity=dg.AssetCheckSeverity.ERROR if blocking else dg.AssetCheckSeverity.WARN,
        description=outcome.description,
        blocking=blocking,
        partition=partition,
        target_materialization_data=target,
    )


def _latest_materialization(
    instance: dg.DagsterInstance, asset_key: dg.AssetKey, partition: str
) -> AssetCheckEvaluationTargetMaterializationData | None:
    """The month's materialization this evaluation speaks about (as AssetCheckResult finds it)."""
    records = instance.fetch_materializations(
        dg.AssetRecordsFilter(asset_key=asset_key, asset_partitions=[partition]), limit=1
    ).records
    if not records:
        return None
    return AssetCheckEvaluationTargetMaterializationData(
        run_id=records[0].run_id, storage_id=records[0].storage_id, timestamp=records[0].timestamp
    )
