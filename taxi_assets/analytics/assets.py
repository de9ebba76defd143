"""The course's dbt models (taxi_dbt/) as assets in the same graph as the loads.

Sources name our warehouse assets (`meta.dagster.asset_key`), so the lineage runs from the
mirror to `fct_monthly_zone_revenue`; each dbt test is an asset check. The month-grained
models share the loads' monthly partitions: a run builds one file month, passed to dbt as the
var `month`, and replaces exactly that month's rows (taxi_dbt/macros/month.sql). `dim_zones`
and the payment-type seed are not month-grained and build whole.

Both follow their upstream without a person, like `daily_borough_trips`: a month of yellow_taxi
(or green_taxi, fhv_taxi) lands, that month's models are requested; taxi_zones changes,
dim_zones and then the months that exist are.
"""

import tempfile
from collections.abc import Iterator, Mapping, Sequence
from pathlib import Path
from typing import Any

import dagster as dg
from dagster_dbt import (
    DagsterDbtTranslator,
    DagsterDbtTranslatorSettings,
    DbtCliResource,
    DbtProject,
    dbt_assets,
)

from taxi_assets.analytics import month_checks
from taxi_assets.analytics.dbt_invocation import (
    TaxiDbtCli,
    dbt_environment,
    failures,
    partial_parse_cache,
    profile_key,
    with_profiles,
)
from taxi_assets.analytics.project import TAXI_DBT, dbt_executable, warehouse_profile
from taxi_assets.mechanics.errors import TaxiError
from taxi_assets.mechanics.months import parse_month
from taxi_assets.resources import WarehouseResource
from taxi_assets.shared.automation import (
    BUILD_WHEN_MISSING,
    MONTHS_WHOSE_INPUTS_CHANGED,
    WHOLE_TABLE,
    automation_interval_seconds,
)
from taxi_assets.shared.check_targets import MonthTargets
from taxi_assets.shared.ownership import OWNERS
from taxi_assets.shared.partitions import month_partitions
from taxi_assets.shared.pools import ANALYTICS_POOL

DBT_GROUP = "analytics"
MONTHLY_TAG = month_checks.MONTHLY_TAG


class TaxiDbtTranslator(DagsterDbtTranslator):
    """dbt nodes as our assets: one group, our owners, automation like the marts, and each
    test a check that says what it asserts and, on a month model, which month it read."""

    def get_group_name(self, dbt_resource_props: Mapping[str, Any]) -> str | None:
        return DBT_GROUP

    def get_owners(self, dbt_resource_props: Mapping[str, Any]) -> Sequence[str] | None:
        return OWNERS

    def get_automation_condition(
        self, dbt_resource_props: Mapping[str, Any]
    ) -> dg.AutomationCondition | None:
        if MONTHLY_TAG in dbt_resource_props.get("tags", []):
            return MONTHS_WHOSE_INPUTS_CHANGED
        if dbt_resource_props.get("resource_type") == "seed":
            return BUILD_WHEN_MISSING  # no inputs: built once on a fresh deployment
        return WHOLE_TABLE

    def get_asset_check_spec(
        self,
        asset_spec: dg.AssetSpec,
        manifest: Mapping[str, Any],
        unique_id: str,
        project: DbtProject | None,
    ) -> dg.AssetCheckSpec | None:
        spec = super().get_asset_check_spec(asset_spec, manifest, unique_id, project)
        if spec is None:
            return None
        return month_checks.check_spec(spec, manifest, unique_id, month_partitions)


# Each model links to its SQL file (the UI's "View code").
TRANSLATOR = TaxiDbtTranslator(DagsterDbtTranslatorSettings(enable_code_references=True))


def dbt_cli_resource() -> DbtCliResource:
    """The project's dbt, run with the venv's own executable (found without the venv on PATH)."""
    # A DbtProject as project_dir, as dagster-dbt documents (its field type says str).
    return TaxiDbtCli(project_dir=TAXI_DBT, dbt_executable=dbt_executable())  # type: ignore[arg-type]


def _build(
    context: dg.AssetExecutionContext,
    dbt: DbtCliResource,
    warehouse: WarehouseResource,
    what: str,
    months: Sequence[str] = (),
) -> Iterator[Any]:
    """`dbt build` of the selected models for `months`, their tests reported month by month."""
    url, schema = warehouse.target_url(), warehouse.warehouse_schema
    # dbt's artifacts and log file go to a folder of this step, removed afterwards (the run log
    # keeps dbt's events and the failure reasons), so target/ does not grow with every run.
    with (
        tempfile.TemporaryDirectory(prefix="dbt-run-") as target,
        warehouse_profile(url, schema) as profiles,
        partial_parse_cache(
            Path(TAXI_DBT.project_dir) / "target", profile_key(url, schema), Path(target)
        ),
    ):
        with dbt_environment(months):
            invocation = with_profiles(dbt, profiles).cli(
                ["build"], context=context, target_path=Path(target), raise_on_error=False
            )
        held: list[dg.AssetCheckResult] = []
        targets = MonthTargets(context.instance, months)
        for event in invocation.stream():
            if not (isinstance(event, dg.AssetCheckResult) and _is_monthly(context, event)):
                yield event
            elif event.passed or len(months) == 1:
                yield from month_checks.per_month(event, months, targets)
            else:
                held.append(event)  # counted month by month once dbt's results are written
        results = _results(invocation)
        yield from _month_evaluations(warehouse, held, months, targets, results)
        if not invocation.is_successful():
            reported = failures(results) or "dbt stopped early; see the run log"
            raise TaxiError(f"dbt build of {what} failed: {reported}")


def _is_monthly(context: dg.AssetExecutionContext, result: dg.AssetCheckResult) -> bool:
    key = dg.AssetCheckKey(result.asset_key, result.check_name)  # type: ignore[arg-type]
    return context.assets_def.get_spec_for_check_key(key).partitions_def is not None


def _results(invocation: Any) -> Mapping[str, Any]:
    try:
        return invocation.get_artifact("run_results.json")
    except Exception:  # dbt stopped before writing its results
        return {}


def _month_evaluations(
    warehouse: WarehouseResource,
    held: list[dg.AssetCheckResult],
    months: Sequence[str],
    targets: MonthTargets,
    results: Mapping[str, Any],
) -> Iterator[dg.AssetCheckEvaluation]:
    """Each test that failed over several months, counted again month by month on the SQL dbt
    ran, as one evaluation per month."""
    compiled = {r["unique_id"]: r.get("compiled_code") for r in results.get("results", [])}
    for result in held:
        code = compiled.get(str(result.metadata["unique_id"].value))
        if not code:
            raise TaxiError(f"dbt reported no SQL for the failed test {result.check_name}")
        by_month = month_checks.failing_rows_by_month(warehouse, code, months)
        yield from month_checks.per_month(result, months, targets, by_month)


@dbt_assets(
    manifest=TAXI_DBT.manifest_path,
    project=TAXI_DBT,
    select=f"tag:{MONTHLY_TAG}",
    name="taxi_dbt_monthly",
    partitions_def=month_partitions,
    # A range of months is one run and one dbt invocation: each model builds every month of
    # the range into a table of its own and swaps them in together (macros/month_partitioned.sql).
    backfill_policy=dg.BackfillPolicy.single_run(),
    pool=ANALYTICS_POOL,
    dagster_dbt_translator=TRANSLATOR,
)
def taxi_dbt_monthly(
    context: dg.AssetExecutionContext, dbt: DbtCliResource, warehouse: WarehouseResource
) -> Iterator[Any]:
    """Staging, intermediate and mart models for the run's file months (its partitions)."""
    months = list(context.partition_keys)
    for month in months:
        parse_month(month)  # a clear error before dbt starts
    what = f"month {months[0]}" if len(months) == 1 else f"months {months[0]}..{months[-1]}"
    yield from _build(context, dbt, warehouse, what, months)


@dbt_assets(
    manifest=TAXI_DBT.manifest_path,
    project=TAXI_DBT,
    exclude=f"tag:{MONTHLY_TAG}",
    name="taxi_dbt_dimensions",
    pool=ANALYTICS_POOL,
    dagster_dbt_translator=TRANSLATOR,
)
def taxi_dbt_dimensions(
    context: dg.AssetExecutionContext, dbt: DbtCliResource, warehouse: WarehouseResource
) -> Iterator[Any]:
    """dim_zones and the payment-type seed, whole."""
    yield from _build(context, dbt, warehouse, "the dimensions")


# `dagster job execute -j analytics_monthly_job --tags '{"dagster/partition": "2021-03"}'`
analytics_monthly_job = dg.define_asset_job(
    "analytics_monthly_job",
    selection=dg.AssetSelection.assets(taxi_dbt_monthly),
    description="Build one file month of the course's dbt models (dim_zones and the seed first).",
)

# Running by default, as the marts' sensor: a landed month's models follow without a person.
analytics_automation_sensor = dg.AutomationConditionSensorDefinition(
    "analytics_automation_sensor",
    minimum_interval_seconds=automation_interval_seconds(),
    target=dg.AssetSelection.groups(DBT_GROUP),
    default_status=dg.DefaultSensorStatus.RUNNING,
    description="Builds a month's dbt models when its trips land, dim_zones when zones change.",
)
