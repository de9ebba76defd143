"""The UI as users meet it: Debian's Chromium driven by Playwright against the running stack.

Each step saves a screenshot under test-output/ui/<test>/; a console error fails the test.
Only raw_csv and yellow_taxi are named, so assets added downstream do not break these tests.
"""

import re

import dagster as dg
import pytest

from taxi_assets import defs
from taxi_assets.partitions import month_partitions
from tests.conftest import MONTH_ROWS
from tests.deploy.stack import Stack, launch_month, loaded_months, warehouse_count

pytestmark = [
    pytest.mark.browser,
    pytest.mark.stack,
    pytest.mark.slow,
    pytest.mark.xdist_group("stack"),  # the shared stack starts once, on one worker
]
RUN_MS = 180_000
MONTHS_IN_CALENDAR = len(month_partitions.get_partition_keys())


def asset_node(page, name: str):
    """The node of asset `name` in the lineage graph."""
    return page.locator(f"foreignObject:has([data-tooltip='{name}'])")


def children_in_definitions(name: str) -> list[str]:
    """Direct downstream assets of `name` as the code defines them (others may add some)."""
    node = defs.resolve_asset_graph().get(dg.AssetKey(name))
    return sorted(key.to_user_string() for key in node.child_keys)


def test_asset_graph_shows_raw_csv_feeding_yellow_taxi(page, stack: Stack, screenshot) -> None:
    page.goto(f"{stack.web_url}/assets/yellow_taxi?view=lineage")
    page.get_by_role("button", name="Upstream").click()
    raw, loaded = asset_node(page, "raw_csv"), asset_node(page, "yellow_taxi")
    raw.wait_for()
    screenshot("upstream-of-yellow_taxi")
    assert raw.bounding_box()["x"] < loaded.bounding_box()["x"]  # the graph flows left to right
    for name in ("raw_csv", "yellow_taxi"):
        page.goto(f"{stack.web_url}/assets/{name}?view=lineage&lineageScope=downstream")
        for child in children_in_definitions(name):
            asset_node(page, child).wait_for()
        screenshot(f"downstream-of-{name}")


def launch_from_partition_dialog(
    page, stack: Stack, months: str, button: str, toast: str, screenshot
) -> None:
    """From yellow_taxi's upstream graph: Materialize all…, type `months`, press `button`, then
    follow the View link of the `toast` that confirms the launch."""
    page.goto(f"{stack.web_url}/assets/yellow_taxi?view=lineage&lineageScope=upstream")
    page.get_by_role("button", name="Materialize all…").last.click()
    selection = page.get_by_role("dialog").get_by_placeholder("ex: 2019-01")
    selection.fill(months)
    selection.press("Enter")
    screenshot("partition-dialog")
    page.get_by_role("dialog").get_by_role("button", name=button).click()
    page.get_by_text(toast).wait_for()
    page.get_by_role("link", name="View").first.click()


def final_status(page, statuses: str) -> str:
    """Wait until the page's status tag shows one of `statuses` (a regex alternation)."""
    tag = page.locator(".BaseTag").filter(has_text=re.compile(f"^({statuses})$")).first
    tag.wait_for(timeout=RUN_MS)
    return tag.inner_text()


def test_materialize_a_month_from_the_partition_dialog(page, stack: Stack, screenshot) -> None:
    launch_from_partition_dialog(page, stack, "2021-01", "Launch 1 run", "Launched run", screenshot)
    assert final_status(page, "Success|Failure|Canceled") == "Success"
    screenshot("run-succeeded")
    assert warehouse_count(stack, "yellow_taxi_2021_01") == MONTH_ROWS["2021-01"]


def test_backfill_a_range_from_the_partition_dialog(page, stack: Stack, screenshot) -> None:
    launch_from_partition_dialog(
        page, stack, "[2021-02...2021-03]", "Launch backfill", "Created backfill", screenshot
    )
    assert final_status(page, "Succeeded|Failed|Canceled|Completed") == "Succeeded"
    screenshot("backfill-succeeded")
    for month in ("2021-02", "2021-03"):
        assert warehouse_count(stack, f"yellow_taxi_{month.replace('-', '_')}") == MONTH_ROWS[month]


def test_partitions_view_shows_materialized_and_missing_months(
    page, stack: Stack, screenshot
) -> None:
    assert launch_month(stack, "2021-02")[1] == "SUCCESS"
    loaded = len(loaded_months(stack))
    page.goto(f"{stack.web_url}/assets/yellow_taxi?view=partitions")
    page.get_by_text(f"Materialized ({loaded})").wait_for()
    page.get_by_text(f"Missing ({MONTHS_IN_CALENDAR - loaded})").wait_for()
    screenshot("all-months")
    page.get_by_text(f"Missing ({MONTHS_IN_CALENDAR - loaded})").click()  # hide missing months
    page.locator("[title='2021-02']").first.wait_for()
    assert page.locator("[title='2021-07']").count() == 0  # never loaded: hidden with missing
    screenshot("materialized-only")
