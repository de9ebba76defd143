"""Which months exist and where each comes from: to date, floors, refusals, the import budget."""

import datetime as dt

import pytest
import requests

from taxi_assets.datasets import FHV, FHVHV, GREEN, YELLOW
from taxi_assets.mechanics.dataset_spec import MIRROR, TLC
from taxi_assets.mechanics.errors import TaxiError
from taxi_assets.mechanics.months import parse_month
from taxi_assets.shared.partitions import latest_publishable_month, partitions_for
from taxi_testkit.mirror import serve_mirror
from tests.support.imports import modules_loaded_by


@pytest.mark.parametrize(
    ("today", "latest"),
    [("2026-11-17", "2026-09"), ("2026-11-16", "2026-08"), ("2026-12-04", "2026-09")],
)
def test_the_latest_month_is_the_last_one_ended_47_days_ago(today: str, latest: str) -> None:
    assert latest_publishable_month(dt.date.fromisoformat(today)) == latest


@pytest.mark.parametrize(
    ("month", "source"),
    [("2018-12", TLC), ("2019-01", MIRROR), ("2021-07", MIRROR), ("2021-08", TLC)],
)
def test_a_month_comes_from_the_mirror_inside_its_range_else_from_the_tlc(
    month: str, source: str
) -> None:
    assert YELLOW.month_file(parse_month(month)).source == source
    assert YELLOW.month_file(parse_month(month), tlc_every_month=True).source == TLC


def test_fhvhv_always_comes_from_the_tlc_in_its_layout() -> None:
    month_file = FHVHV.month_file(parse_month("2020-05"))
    assert (month_file.url_path, month_file.lake_path) == (
        "fhvhv_tripdata_2020-05.parquet",
        "fhvhv/fhvhv_tripdata_2020-05.parquet",
    )


def test_first_month_goes_down_to_each_datasets_first_in_the_2011_layout(
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    monkeypatch.setenv("TAXI_FIRST_MONTH", "2011-01")
    firsts = {
        spec.name: partitions_for(
            spec.first_month, None, spec.earliest_month, spec.older_layout
        ).get_first_partition_key()
        for spec in (YELLOW, GREEN, FHV, FHVHV)
    }
    assert firsts == {"yellow": "2011-01", "green": "2014-01", "fhv": "2015-01", "fhvhv": "2019-02"}


def test_yellow_2009_and_2010_are_refused_by_name(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setenv("TAXI_FIRST_MONTH", "2009-01")
    with pytest.raises(TaxiError, match="yellow-taxi files of 2009-2010 use another schema"):
        partitions_for(YELLOW.first_month, None, YELLOW.earliest_month, YELLOW.older_layout)
    with pytest.raises(TaxiError, match="from 2011-01 on"):
        YELLOW.month_file(parse_month("2010-12"))


def test_the_load_location_imports_no_pyarrow_until_a_parquet_month_loads() -> None:
    loads = modules_loaded_by("from taxi_assets import defs; defs.resolve_asset_graph()")
    assert "dagster" in loads and "pyarrow" not in loads
    assert "pyarrow" in modules_loaded_by("import taxi_assets.mechanics.parquet")


def test_the_loopback_mirror_answers_403_for_a_tlc_month_and_404_for_a_mirror_one(
    tmp_path,
) -> None:
    with serve_mirror(tmp_path) as url:
        tlc = requests.get(f"{url}/trip-data/yellow_tripdata_2099-01.parquet", timeout=5)
        mirror = requests.get(f"{url}/yellow/yellow_tripdata_2099-01.csv.gz", timeout=5)
    assert (tlc.status_code, mirror.status_code) == (403, 404)
