"""The warehouse assets' freshness, as Dagster's own evaluator (the freshness daemon's) judges it:
fresh when a month arrived in the TLC's publication window, late when none did."""

import asyncio
import datetime as dt
from collections.abc import Iterator

import dagster as dg
import pytest
from dagster._core.definitions.freshness import FreshnessState
from dagster._core.definitions.freshness_evaluator import CronFreshnessPolicyEvaluator
from dagster._core.loader import LoadingContextForTest
from dagster._core.test_utils import freeze_time

from taxi_assets import defs

KEY = dg.AssetKey("yellow_taxi")
JUDGED_AT = dt.datetime(2026, 12, 5, 12, tzinfo=dt.UTC)  # after the deadline of 2026-12-04 06:00


@pytest.fixture
def instance() -> Iterator[dg.DagsterInstance]:
    with dg.instance_for_test() as test_instance:
        yield test_instance


def freshness(instance: dg.DagsterInstance, loaded_at: dt.datetime | None) -> FreshnessState:
    if loaded_at is not None:
        with freeze_time(loaded_at):
            instance.report_runless_asset_event(dg.AssetMaterialization(KEY, partition="2026-09"))
    node = defs.resolve_asset_graph().get(KEY)
    with freeze_time(JUDGED_AT):
        evaluation = CronFreshnessPolicyEvaluator().evaluate_freshness(
            LoadingContextForTest(instance), node
        )
        return asyncio.run(evaluation)


def test_a_month_loaded_in_the_publication_window_is_fresh(instance) -> None:
    loaded = dt.datetime(2026, 11, 20, 3, tzinfo=dt.UTC)  # the TLC published 2026-09 that week
    assert freshness(instance, loaded) == FreshnessState.PASS


def test_no_month_in_the_window_shows_the_asset_late(instance) -> None:
    loaded = dt.datetime(2026, 11, 2, 3, tzinfo=dt.UTC)  # the month before's arrival only
    assert freshness(instance, loaded) == FreshnessState.FAIL


def test_an_asset_never_loaded_has_no_freshness_yet(instance) -> None:
    assert freshness(instance, None) == FreshnessState.UNKNOWN
