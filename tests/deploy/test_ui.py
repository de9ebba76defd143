"""The UI as users meet it: Debian's Chromium driven by Playwright against the running stack.

Each step saves a screenshot under test-output/ui/<test>/; a console error fails the test.
Only raw_csv and yellow_taxi are named, so assets added downstream do not break these tests.
"""

import dagster as dg
import pytest

from taxi_assets import defs
from tests.conftest import MONTH_ROWS
from tests.deploy.stack import Stack, launch_month, loaded_months, warehouse_count

pytestmark = [pytest.mark.browser, pytest.mark.stack, pytest.mark.slow]
RUN_MS = 300_000
MONTHS_IN_CALENDAR = 31


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


def test_materialize_a_month_from_the_partition_dialog(page, stack: Stack, screenshot) -> None:
    page.goto(f"{stack.web_url}/assets/yellow_taxi?view=lineage&lineageScope=upstream")
    page.get_by_role("button", name="Materialize all…").last.click()
    months = page.get_by_role("dialog").get_by_placeholder("ex: 2019-01")
    months.fill("2021-01")
    months.press("Enter")
    screenshot("partition-dialog")
    page.get_by_role("dialog").get_by_role("button", name="Launch 1 run").click()
    page.get_by_text("Launched run").wait_for()
    page.get_by_role("link", name="View").first.click()
    page.get_by_text("Success", exact=True).first.wait_for(timeout=RUN_MS)
    screenshot("run-succeeded")
    assert warehouse_count(stack, "yellow_taxi_2021_01") == MONTH_ROWS["2021-01"]


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
