"""The course's dbt tests as asset checks that say what they assert and which month they read.

dagster-dbt makes each dbt test an unpartitioned check with no description. A test on a
month-grained model reads only the months being built (taxi_dbt/macros/month.sql), so here its
check gets the models' monthly partitions and a sentence saying what it asserts, and each result
is reported per month: `partition`, a `month` metadata entry and the description's first word.
A run over a range of months runs each test once for the range. A test that passes there passes
for every month in it (every test here only finds rows that break a rule, and a month holds a
subset of the range's rows); a test that fails is counted again month by month, on the SQL dbt
ran, so each month's result is its own.
"""

import re
from collections.abc import Iterable, Iterator, Mapping, Sequence
from typing import Any

import dagster as dg
from psycopg import sql

from taxi_assets.mechanics.errors import TaxiError
from taxi_assets.resources import WarehouseResource
from taxi_assets.shared.automation import MONTHS_WHOSE_INPUTS_CHANGED
from taxi_assets.shared.check_targets import MonthTargets

MONTHLY_TAG = "monthly"  # taxi_dbt/dbt_project.yml tags the month-grained folders
# How a test's SQL names its months (macros/month.sql, get_where_subquery): on a
# month_partitioned model the months' child tables, `(select * from "db"."s"."fct_trips_2021_01"
# union all select * from ...) dbt_subquery`; elsewhere month_filter's `in ('2021-01-01'::date,
# '2021-02-01'::date)`.
_CHILD = r'(?:"[^"]*"\.)*"[^"]*_\d{4}_\d{2}"'
_MONTH_CHILDREN = re.compile(
    rf"\(select \* from {_CHILD}(?: union all select \* from {_CHILD})*\) dbt_subquery"
)
_MONTHS_IN_SQL = re.compile(r"in \('\d{4}-\d{2}-01'::date(?:, '\d{4}-\d{2}-01'::date)*\)")


def is_monthly_test(manifest: Mapping[str, Any], test: Mapping[str, Any]) -> bool:
    """Whether the test is attached to a month-grained model."""
    attached = test.get("attached_node") or next(
        iter(test.get("depends_on", {}).get("nodes", [])), None
    )
    node = manifest.get("nodes", {}).get(attached or "", {})
    return MONTHLY_TAG in node.get("tags", [])


def describe(test: Mapping[str, Any], monthly: bool) -> str:
    """One sentence saying what the test asserts, in the words of its arguments."""
    if test.get("description"):
        return str(test["description"])
    metadata = test.get("test_metadata") or {}
    kwargs = metadata.get("kwargs") or {}
    column = kwargs.get("column_name", "")
    rows = "the month's rows" if monthly else "the table"
    name = metadata.get("name", "")
    if name == "not_null":
        return f"{column} is never null in {rows}."
    if name == "unique":
        return f"No two of {rows} share a {column}."
    if name == "accepted_values":
        values = ", ".join(str(v) for v in kwargs.get("values", []))
        return f"{column} is one of {values} in {rows}."
    if name == "relationships":
        target = re.sub(r"^ref\(['\"](.+?)['\"]\)$", r"\1", str(kwargs.get("to", "")))
        return f"Every {column} of {rows} is a {kwargs.get('field')} of {target} (or null)."
    if name == "unique_combination":
        return f"No two of {rows} share {', '.join(kwargs.get('columns', []))}."
    if name == "at_least":
        return f"{column} is at least {kwargs.get('min_value')} in {rows}."
    return f"dbt test {test.get('name')} finds no failing rows in {rows}."


def check_spec(
    spec: dg.AssetCheckSpec,
    manifest: Mapping[str, Any],
    unique_id: str,
    months: dg.PartitionsDefinition,
) -> dg.AssetCheckSpec:
    """dagster-dbt's spec with the description, and the months when the test is monthly."""
    test = manifest["nodes"][unique_id]
    monthly = is_monthly_test(manifest, test)
    return dg.AssetCheckSpec(
        name=spec.name,
        asset=spec.asset_key,
        description=describe(test, monthly),
        additional_deps=spec.additional_deps,
        metadata=spec.metadata,
        blocking=spec.blocking,
        partitions_def=months if monthly else None,
        # Declarative automation runs a check only when it has a condition of its own: with
        # this one, a test runs in the same run as every build of its model.
        automation_condition=MONTHS_WHOSE_INPUTS_CHANGED
        if monthly
        else dg.AutomationCondition.eager(),
    )


def per_month(
    result: dg.AssetCheckResult,
    months: Sequence[str],
    targets: MonthTargets,
    failing_by_month: Mapping[str, int] | None = None,
) -> Iterator[dg.AssetCheckEvaluation]:
    """The result of one test over `months`, as one evaluation per month."""
    assert result.asset_key is not None and result.check_name is not None
    for month in months:
        if result.passed:
            failing = 0
        elif failing_by_month is None:  # a single month: dbt's own count
            failing = _failed_rows(result)
        else:
            failing = failing_by_month.get(month, 0)
        passed = result.passed or failing == 0
        text = f"{month}: " + ("passed" if passed else f"{failing:,} failing rows")
        yield dg.AssetCheckEvaluation(
            asset_key=result.asset_key,
            check_name=result.check_name,
            passed=passed,
            metadata={**result.metadata, "month": month, "failing_rows": failing},
            severity=result.severity,
            description=text,
            blocking=result.severity == dg.AssetCheckSeverity.ERROR,
            partition=month,
            target_materialization_data=targets.get(result.asset_key, month),
        )


def _failed_rows(result: dg.AssetCheckResult) -> int:
    value = result.metadata.get("dagster_dbt/failed_row_count")
    return max(1, int(value.value)) if value is not None else 1  # type: ignore[arg-type]


def failing_rows_by_month(
    warehouse: WarehouseResource, compiled: str, months: Iterable[str]
) -> dict[str, int]:
    """The failing rows of a test's SQL (run over a range) counted again for each month."""
    counts = {}
    with warehouse.connect() as conn:
        for month in months:
            narrowed = narrowed_to(compiled, month)
            statement = sql.SQL("select count(*) from ({}) as failing").format(sql.SQL(narrowed))  # type: ignore[arg-type]
            counts[month] = conn.execute(statement).fetchone()[0]  # type: ignore[index]
    return counts


def narrowed_to(compiled: str, month: str) -> str:
    """A test's SQL over a range of months, reading `month` only."""
    children = _MONTH_CHILDREN.search(compiled)
    if children:
        suffix = "_" + month.replace("-", "_") + '"'
        child = next((c for c in re.findall(_CHILD, children.group()) if c.endswith(suffix)), None)
        if child is None:
            raise TaxiError(f"cannot narrow a failed dbt test to {month}: its SQL reads no {month}")
        return compiled.replace(children.group(), f"(select * from {child}) dbt_subquery")
    if _MONTHS_IN_SQL.search(compiled):
        return _MONTHS_IN_SQL.sub(f"in ('{month}-01'::date)", compiled)
    raise TaxiError("cannot narrow a failed dbt test to one month: its SQL names no months")
