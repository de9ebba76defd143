"""The checks of a dataset's warehouse asset, evaluated month by month as each month commits.

Three blocking checks fail the step, and so hold back downstream assets, when a month cannot be
trusted (its rows do not reconcile with the lake file, its table drifted from the contract, or
most of its pickups lie in another month: the file holds another month's trips, which the same
check also refuses on the staged rows, before the swap);
the dataset's warning rules report suspicious rows with their counts (real records, never
dropped). Each result names its month: `partition`, a `month` metadata entry and the
description's first word. The counting runs in Postgres (quality_sql.py), one query per month.
"""

import datetime as dt
from collections.abc import Callable, Iterator
from dataclasses import dataclass, field
from typing import Any

import dagster as dg
import psycopg

# Not exported by dagster; AssetCheckResult fills it the same way for single partitions.
from dagster._core.definitions.asset_checks.asset_check_evaluation import (
    AssetCheckEvaluationTargetMaterializationData,
)
from psycopg import sql

from taxi_assets.mechanics import quality_sql as q
from taxi_assets.mechanics.dataset_spec import DatasetSpec, WarningRule
from taxi_assets.mechanics.errors import LoadRejectedError, TaxiError
from taxi_assets.mechanics.lake import Lake
from taxi_assets.mechanics.settings import number_setting
from taxi_assets.shared.check_targets import latest_materialization

ROW_COUNT_CHECK = "row_count_matches_lake"
SCHEMA_CHECK = "schema_matches_contract"
MONTH_CHECK = "pickups_in_file_month"
BLOCKING_CHECKS = (ROW_COUNT_CHECK, SCHEMA_CHECK, MONTH_CHECK)
# Real files hold a small share of other months' pickups (well below 1%); a file of another
# month's trips holds nearly all of them outside (a 2019-02 file of January's rows: 100%).
DEFAULT_MAX_OUTSIDE_MONTH_SHARE = 0.5


def check_specs(
    spec: DatasetSpec, asset_key: dg.AssetKey, partitions_def: dg.PartitionsDefinition
) -> list[dg.AssetCheckSpec]:
    """The blocking checks, then one warning per rule of the dataset."""
    blocking = {
        ROW_COUNT_CHECK: "The month's table holds exactly the data rows the lake manifest records.",
        SCHEMA_CHECK: "The month's columns, types and nullability match the dataset's contract.",
        MONTH_CHECK: "At most TAXI_MAX_OUTSIDE_MONTH_SHARE (default 50%) of the month's pickups "
        "lie outside the file's month; a file beyond it holds another month's trips and is "
        "refused before the swap.",
    }
    if _month_rule(spec) is None:
        del blocking[MONTH_CHECK]
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
    staged: q.MonthCounts | None = None,
) -> Iterator[Outcome]:
    """The selected checks' outcomes for one month (`duplicates`: the load's own count;
    `staged`: the counts the load took of the rows it just swapped in, else one scan now)."""
    if staged is not None and duplicates is not None:
        counts: q.MonthCounts | None = q.with_duplicates(staged, spec, duplicates)
    else:
        counts = q.month_counts(conn, schema, spec, month, duplicates)
    columns = q.column_types(conn, schema, spec.child_table(month))
    thresholds = {rule.name: rule.threshold for rule in spec.warnings}
    month_rule = _month_rule(spec)
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
        elif name == MONTH_CHECK and month_rule is not None:
            outside = counts.flagged[month_rule.name]
            yield month_outcome(month, outside, counts.rows, max_outside_month_share())
        else:
            yield warning_outcome(month, name, counts.flagged[name], counts.rows, thresholds[name])


def row_count_outcome(spec: DatasetSpec, month: dt.date, rows: int, lake: Lake) -> Outcome:
    """Warehouse rows against the lake manifest's data rows (the manifest stays when a lake
    keeping its newest months only has removed the file)."""
    entry = lake.manifest(spec, month)
    if entry is None:
        text = (
            f"{month:%Y-%m}: the lake has no manifest of {lake.path_for(spec, month)} to count "
            f"against; materialize {spec.raw_asset} for this month"
        )
        return Outcome(ROW_COUNT_CHECK, False, text, {"warehouse_rows": rows})
    expected = entry.rows
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


def max_outside_month_share() -> float:
    """TAXI_MAX_OUTSIDE_MONTH_SHARE, a share from 0 to 1, read when a check or a load runs."""
    share = number_setting(None, "TAXI_MAX_OUTSIDE_MONTH_SHARE", DEFAULT_MAX_OUTSIDE_MONTH_SHARE)
    if not 0 <= share <= 1:
        raise TaxiError(f"TAXI_MAX_OUTSIDE_MONTH_SHARE={share:g} is not a share from 0 to 1")
    return share


def month_outcome(month: dt.date, outside: int, rows: int, max_share: float) -> Outcome:
    """Passes while at most `max_share` of the month's pickups lie outside it."""
    share = outside / rows if rows else 0.0
    allowed = f"the {max_share * 100:g}% allowed (TAXI_MAX_OUTSIDE_MONTH_SHARE)"
    passed = share <= max_share
    verdict = (
        f"within {allowed}"
        if passed
        else f"more than {allowed}: the file holds another month's trips"
    )
    text = f"{month:%Y-%m}: {outside:,} of {rows:,} pickups ({share:.1%}) lie outside it, {verdict}"
    metadata = {"outside_rows": outside, "rows": rows, "share": share, "max_share": max_share}
    return Outcome(MONTH_CHECK, passed, text, metadata)


class StagedMonthGate:
    """MONTH_CHECK on the staged rows, inside the load's transaction before the swap: a file of
    another month's trips is refused and the loaded month stays as it was. The same scan counts
    every warning rule too (`counts`), so the checks after the swap need no scan of their own:
    the month's table then holds exactly these rows. A Parquet month's counts were taken from
    its Arrow batches as they streamed (arrow_counts.py): `precounted` returns them, and no
    scan runs."""

    def __init__(
        self,
        spec: DatasetSpec,
        month: dt.date,
        where: str,
        precounted: Callable[[], q.MonthCounts | None] = lambda: None,
    ) -> None:
        self.spec, self.month, self.where = spec, month, where
        self.max_share = max_outside_month_share()
        self.precounted = precounted
        self.counts: q.MonthCounts | None = None

    def __call__(self, conn: psycopg.Connection, staging: sql.Identifier) -> None:
        # The duplicate rule's count is the load's own (duplicates.py), filled in afterwards.
        self.counts = self.precounted() or q.table_counts(
            conn, staging, self.spec, self.month, duplicates=0
        )
        rule = _month_rule(self.spec)
        if rule is None:
            return
        outside = self.counts.flagged[rule.name]
        outcome = month_outcome(self.month, outside, self.counts.rows, self.max_share)
        if not outcome.passed:
            raise LoadRejectedError(
                f"{self.where}: the blocking check {MONTH_CHECK} failed on the staged rows "
                f"({outcome.description}); the month was not replaced"
            )


def _month_rule(spec: DatasetSpec) -> WarningRule | None:
    """The dataset's `outside_month` rule: its column is the pickup MONTH_CHECK counts."""
    return next((rule for rule in spec.warnings if rule.kind == "outside_month"), None)


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
    target = latest_materialization(instance, asset_key, partition)
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
