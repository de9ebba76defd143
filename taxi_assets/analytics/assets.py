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

import json
import tempfile
from collections.abc import Iterator, Mapping, Sequence
from pathlib import Path
from typing import Any

import dagster as dg
from dagster_dbt import (
    DagsterDbtTranslator,
    DagsterDbtTranslatorSettings,
    DbtCliInvocation,
    DbtCliResource,
    dbt_assets,
)

from taxi_assets.analytics.project import TAXI_DBT, dbt_executable, warehouse_profile
from taxi_assets.mechanics.errors import TaxiError
from taxi_assets.mechanics.months import parse_month
from taxi_assets.resources import WarehouseResource
from taxi_assets.shared.automation import MONTHS_WHOSE_INPUTS_CHANGED
from taxi_assets.shared.ownership import OWNERS
from taxi_assets.shared.partitions import month_partitions

DBT_GROUP = "analytics"
MONTHLY_TAG = "monthly"  # taxi_dbt/dbt_project.yml tags the month-grained folders


class TaxiDbtTranslator(DagsterDbtTranslator):
    """dbt nodes as our assets: one group, Postgres kind, automation like the marts."""

    def get_group_name(self, dbt_resource_props: Mapping[str, Any]) -> str | None:
        return DBT_GROUP

    def get_owners(self, dbt_resource_props: Mapping[str, Any]) -> Sequence[str] | None:
        return OWNERS

    def get_automation_condition(
        self, dbt_resource_props: Mapping[str, Any]
    ) -> dg.AutomationCondition | None:
        if MONTHLY_TAG in dbt_resource_props.get("tags", []):
            return MONTHS_WHOSE_INPUTS_CHANGED
        return dg.AutomationCondition.eager()


# Each model links to its SQL file (the UI's "View code").
TRANSLATOR = TaxiDbtTranslator(DagsterDbtTranslatorSettings(enable_code_references=True))


def dbt_cli_resource() -> DbtCliResource:
    """The project's dbt, run with the venv's own executable (found without the venv on PATH)."""
    return DbtCliResource(project_dir=TAXI_DBT, dbt_executable=dbt_executable())


def _build(
    context: dg.AssetExecutionContext,
    dbt: DbtCliResource,
    warehouse: WarehouseResource,
    what: str,
    dbt_vars: dict[str, str] | None = None,
) -> Iterator[Any]:
    args = ["build"] + (["--vars", json.dumps(dbt_vars)] if dbt_vars else [])
    # dbt's artifacts and log file go to a folder of this step, removed afterwards (the run log
    # keeps dbt's events and the failure reasons), so target/ does not grow with every run.
    with (
        tempfile.TemporaryDirectory(prefix="dbt-run-") as target,
        warehouse_profile(warehouse.target_url(), warehouse.warehouse_schema) as profiles,
    ):
        invocation = _with_profiles(dbt, profiles).cli(
            args, context=context, target_path=Path(target), raise_on_error=False
        )
        yield from invocation.stream()
        if not invocation.is_successful():
            raise TaxiError(f"dbt build of {what} failed: {_failures(invocation)}")


def _with_profiles(dbt: DbtCliResource, profiles: Path) -> DbtCliResource:
    """The same dbt, reading the warehouse's profile from `profiles` (a folder of this step)."""
    return DbtCliResource(
        project_dir=dbt.project_dir,
        profiles_dir=str(profiles),
        dbt_executable=dbt.dbt_executable,
        global_config_flags=dbt.global_config_flags,
    )


def _failures(invocation: DbtCliInvocation) -> str:
    """What dbt reported for each failed node (compile errors name the missing month)."""
    try:
        results = invocation.get_artifact("run_results.json")["results"]
    except Exception:  # dbt stopped before writing its results
        return "dbt stopped early; see the run's stdout"
    failed = [r for r in results if r.get("status") in ("error", "fail", "runtime error")]
    return "; ".join(f"{r['unique_id']}: {' '.join(str(r.get('message')).split())}" for r in failed)


@dbt_assets(
    manifest=TAXI_DBT.manifest_path,
    project=TAXI_DBT,
    select=f"tag:{MONTHLY_TAG}",
    name="taxi_dbt_monthly",
    partitions_def=month_partitions,
    # One dbt build per month: a month is the unit each model replaces.
    backfill_policy=dg.BackfillPolicy.multi_run(max_partitions_per_run=1),
    dagster_dbt_translator=TRANSLATOR,
)
def taxi_dbt_monthly(
    context: dg.AssetExecutionContext, dbt: DbtCliResource, warehouse: WarehouseResource
) -> Iterator[Any]:
    """Staging, intermediate and mart models for one file month (the partition)."""
    month = context.partition_key
    parse_month(month)  # a clear error before dbt starts
    yield from _build(context, dbt, warehouse, f"month {month}", {"month": month})


@dbt_assets(
    manifest=TAXI_DBT.manifest_path,
    project=TAXI_DBT,
    exclude=f"tag:{MONTHLY_TAG}",
    name="taxi_dbt_dimensions",
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
    target=dg.AssetSelection.groups(DBT_GROUP),
    default_status=dg.DefaultSensorStatus.RUNNING,
    description="Builds a month's dbt models when its trips land, dim_zones when zones change.",
)
