"""What the analytics' dbt runs rely on in dagster and dagster-dbt, pinned: the private methods
TaxiDbtCli overrides, the preview API of partitioned checks, and how months and the partial
parse reach dbt."""

import inspect
import os
from functools import cached_property
from pathlib import Path

import dagster as dg
import pytest
from dagster_dbt import DbtCliResource

from taxi_assets.analytics.assets import TRANSLATOR, dbt_cli_resource, taxi_dbt_monthly
from taxi_assets.analytics.dbt_invocation import (
    MONTHS_ENV,
    TaxiDbtCli,
    dbt_environment,
    partial_parse_cache,
    profile_key,
)
from taxi_assets.analytics.month_checks import describe, narrowed_to
from taxi_assets.mechanics.errors import TaxiError
from taxi_assets.shared.partitions import month_partitions


def test_the_overridden_dagster_dbt_methods_still_exist() -> None:
    assert isinstance(inspect.getattr_static(DbtCliResource, "_cli_version"), cached_property)
    signature = inspect.signature(DbtCliResource._initialize_dbt_core_adapter)
    assert list(signature.parameters) == ["self", "args"]
    assert "self._initialize_dbt_core_adapter(args)" in inspect.getsource(DbtCliResource.cli)
    dbt = dbt_cli_resource()
    assert isinstance(dbt, TaxiDbtCli) and dbt._cli_version.major == 1
    assert dbt._initialize_dbt_core_adapter(["build"]) is None


def test_partitioned_checks_are_the_preview_api_we_use() -> None:
    assert "partitions_def" in inspect.signature(dg.AssetCheckSpec).parameters
    assert "partition" in inspect.signature(dg.AssetCheckEvaluation).parameters
    specs = list(taxi_dbt_monthly.check_specs)
    assert specs and all(spec.partitions_def == month_partitions for spec in specs)
    assert all(spec.description and spec.automation_condition for spec in specs)
    assert TRANSLATOR.settings.enable_asset_checks


def test_each_kind_of_test_is_described() -> None:
    def test(name: str, **kwargs: object) -> dict:
        return {"name": "t", "test_metadata": {"name": name, "kwargs": kwargs}}

    assert describe(test("not_null", column_name="trip_id"), True) == (
        "trip_id is never null in the month's rows."
    )
    assert "dim_zones" in describe(
        test("relationships", column_name="x", to="ref('dim_zones')", field="location_id"), True
    )
    assert "the table" in describe(test("unique", column_name="location_id"), False)
    assert describe({"description": "Own words.", "test_metadata": {}}, True) == "Own words."


def test_months_reach_dbt_in_the_environment_only_while_it_starts() -> None:
    os.environ.pop(MONTHS_ENV, None)
    with dbt_environment(["2021-02", "2021-03"]):
        assert os.environ[MONTHS_ENV] == "2021-02,2021-03"
        assert os.environ["DBT_INDIRECT_SELECTION"] == "buildable"
    assert MONTHS_ENV not in os.environ


def test_the_partial_parse_is_kept_per_profile(tmp_path: Path) -> None:
    project_target, run_target = tmp_path / "target", tmp_path / "run"
    key = profile_key("postgresql://postgres@127.0.0.1:5432/test", "s1")
    assert key != profile_key("postgresql://postgres@127.0.0.1:5432/test", "s2")
    assert key == profile_key("postgresql://postgres:other@127.0.0.1:5432/test", "s1")
    with partial_parse_cache(project_target, key, run_target):
        run_target.mkdir()
        (run_target / "partial_parse.msgpack").write_bytes(b"parsed")
    cached = project_target / "partial_parse" / f"{key}.msgpack"
    assert cached.read_bytes() == b"parsed"
    with partial_parse_cache(project_target, key, tmp_path / "next"):
        assert (tmp_path / "next" / "partial_parse.msgpack").read_bytes() == b"parsed"


def test_a_failed_range_test_is_narrowed_to_each_month_in_both_forms() -> None:
    children = (
        'select x from (select * from "db"."s"."fct_trips_2019_01" union all select * from '
        '"db"."s"."fct_trips_2019_02") dbt_subquery where x is null'
    )
    assert narrowed_to(children, "2019-02") == (
        'select x from (select * from "db"."s"."fct_trips_2019_02") dbt_subquery where x is null'
    )
    filtered = "select 1 from t where file_month in ('2019-01-01'::date, '2019-02-01'::date)"
    assert narrowed_to(filtered, "2019-02").endswith("in ('2019-02-01'::date)")
    with pytest.raises(TaxiError, match="2019-03"):
        narrowed_to(children, "2019-03")
    with pytest.raises(TaxiError, match="names no months"):
        narrowed_to("select 1 from t", "2019-01")
