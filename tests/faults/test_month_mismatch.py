"""A month's file holding another month's trips (a 2019-02 file of January's rows loaded 100%
outside its month, and dbt counted January twice): refused by a blocking check before the swap,
while real files, with their small share of other months' pickups, still load
(docs/failure-modes.md, Loading into Postgres)."""

import gzip
from collections.abc import Callable
from pathlib import Path

import dagster as dg
import pytest

from taxi_assets.mechanics.errors import TaxiError
from taxi_assets.trips.checks import MONTH_CHECK, max_outside_month_share
from tests.support.crafted_months import PICKUP, set_field
from tests.support.fault_month import CHILD, MONTH, materialize
from tests.support.postgres import count_rows, table_fingerprint, tables_like
from tests.test_checks import evaluations, run_checks_only
from tests.test_course import course

FOREIGN_ROWS = 2_500  # the mirror's 2021-02


@pytest.fixture
def february_as_january(mirror_dir: Path, crafted: Callable[..., Path]) -> str:
    """A mirror whose 2021-01 file holds February's trips: the mis-published month."""
    feb = mirror_dir / "yellow" / "yellow_tripdata_2021-02.csv.gz"
    return crafted(feb.read_bytes()).as_uri()


def test_a_file_of_another_month_s_trips_is_refused_before_the_swap(
    loaded: tuple, february_as_january: str, against: Callable[..., dict], pg_schema: str
) -> None:
    result = materialize(against(february_as_january))
    assert not result.success
    message = str(result.get_step_failure_events()[0].step_failure_data.error)
    assert f"the blocking check {MONTH_CHECK} failed on the staged rows" in message, message
    assert f"2021-01: {FOREIGN_ROWS:,} of {FOREIGN_ROWS:,} pickups (100.0%) lie outside it" in (
        message
    )
    assert "more than the 50% allowed (TAXI_MAX_OUTSIDE_MONTH_SHARE)" in message
    assert "the month was not replaced" in message
    assert table_fingerprint(pg_schema, CHILD) == loaded
    assert tables_like(pg_schema, "%staging") == []


def test_a_real_share_of_other_months_pickups_loads_with_the_warning(
    good_bytes: bytes, crafted: Callable[..., Path], against: Callable[..., dict], pg_schema: str
) -> None:
    lines = gzip.decompress(good_bytes).decode().splitlines()
    set_field(lines, range(1, 91), PICKUP, "2020-12-31 23:58:00")  # 3% of 3,000: the evening before
    root = crafted(gzip.compress(("\n".join(lines) + "\n").encode()))
    result = materialize(against(root.as_uri()))
    assert result.success
    found = {e.check_name: e for e in result.get_asset_check_evaluations()}
    assert found[MONTH_CHECK].passed and found[MONTH_CHECK].metadata["outside_rows"].value >= 90
    warning = found["pickups_outside_month"]
    assert not warning.passed and warning.severity == dg.AssetCheckSeverity.WARN
    assert count_rows(pg_schema, CHILD) == len(lines) - 1


def test_the_share_is_a_setting_and_a_month_beyond_it_fails_its_blocking_check(
    february_as_january: str,
    against: Callable[..., dict],
    pg_schema: str,
    fault_lake: Path,
    cli_env: dict,
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    resources = against(february_as_january)
    monkeypatch.setenv("TAXI_MAX_OUTSIDE_MONTH_SHARE", "1")
    assert materialize(resources).success  # allowed: every pickup may lie elsewhere
    assert count_rows(pg_schema, CHILD) == FOREIGN_ROWS
    monkeypatch.delenv("TAXI_MAX_OUTSIDE_MONTH_SHARE")  # back to 50%: the loaded month fails
    checked = evaluations(run_checks_only(resources, MONTH))[(MONTH_CHECK, MONTH)]
    assert not checked.passed and checked.blocking
    assert checked.severity == dg.AssetCheckSeverity.ERROR
    plan = ["--part", f"yellow:{MONTH}..{MONTH}={FOREIGN_ROWS}", "--dry-run"]
    env = {**cli_env, "TAXI_LAKE_DIR": str(fault_lake)}
    assert "yellow: 1 months to load, 0 already loaded" in course(env, *plan).stdout
    allowed = {**env, "TAXI_MAX_OUTSIDE_MONTH_SHARE": "1"}
    assert "yellow: 0 months to load, 1 already loaded" in course(allowed, *plan).stdout


@pytest.mark.parametrize("value", ["half", "1.5", "-0.1", "nan"])
def test_a_share_that_is_not_between_0_and_1_is_refused(
    value: str, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.setenv("TAXI_MAX_OUTSIDE_MONTH_SHARE", value)
    with pytest.raises(TaxiError, match="TAXI_MAX_OUTSIDE_MONTH_SHARE"):
        max_outside_month_share()
