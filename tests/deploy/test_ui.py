"""The UI as users meet it: Debian's Chromium driven by Playwright against the running stack.

Each step saves a screenshot under test-output/ui/<test>/; a console error fails the test.
The graph tests name only raw_csv and yellow_taxi, so assets added downstream do not break them.
"""

import contextlib
import re

import dagster as dg
import pytest
from playwright.sync_api import TimeoutError as PlaywrightTimeout

from taxi_assets import defs
from taxi_assets.shared.launch import launcher_of
from taxi_assets.shared.partitions import month_partitions
from taxi_assets.trips.checks import ROW_COUNT_CHECK
from tests.deploy.stack import (
    Stack,
    backfill_months,
    graphql,
    launch_month,
    loaded_months,
    wait_until_materialized,
    warehouse_count,
)
from tests.support.mirror_months import MONTH_ROWS

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


_RUN_TAGS = """query Tags($runId: ID!) { runOrError(runId: $runId) { ... on Run {
  tags { key value } } } }"""
_BACKFILL_RUN_TAGS = """query Runs($id: String!) { partitionBackfillOrError(backfillId: $id) {
  ... on PartitionBackfill { runs(limit: 10) { tags { key value } } } } }"""


def run_tags(stack: Stack, run_id: str) -> dict[str, str]:
    found = graphql(stack, _RUN_TAGS, runId=run_id)["runOrError"]["tags"]
    return {tag["key"]: tag["value"] for tag in found}


def test_materialize_a_month_from_the_partition_dialog(page, stack: Stack, screenshot) -> None:
    launch_from_partition_dialog(page, stack, "2021-01", "Launch 1 run", "Launched run", screenshot)
    assert final_status(page, "Success|Failure|Canceled") == "Success"
    screenshot("run-succeeded")
    assert warehouse_count(stack, "yellow_taxi_2021_01") == MONTH_ROWS["2021-01"]
    tags = run_tags(stack, re.search(r"/runs/([^/?]+)", page.url)[1])
    assert tags["dagster/from_ui"] == "true" and launcher_of(tags) == "ui"  # what the UI sent


def test_backfill_a_range_from_the_partition_dialog(page, stack: Stack, screenshot) -> None:
    launch_from_partition_dialog(
        page, stack, "[2021-02...2021-03]", "Launch backfill", "Created backfill", screenshot
    )
    assert final_status(page, "Succeeded|Failed|Canceled|Completed") == "Succeeded"
    screenshot("backfill-succeeded")
    backfill_id = re.search(r"/(?:backfills|runs/b)/([^/?]+)", page.url)[1]
    runs = graphql(stack, _BACKFILL_RUN_TAGS, id=backfill_id)["partitionBackfillOrError"]["runs"]
    launchers = {launcher_of({t["key"]: t["value"] for t in run["tags"]}) for run in runs}
    assert runs and launchers == {"backfill"}
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


# Column names as the warehouse spells them, found on the asset pages after a load (the UI
# lower-cases them when a materialization repeats the definition's schema).
COLUMNS_SHOWN = {
    "yellow_taxi": ("TPEP provider (1 Creative Mobile, 2 VeriFone).", "VendorID", "PULocationID"),
    "taxi_zones": ("TLC taxi zone id (PULocationID, DOLocationID).", "LocationID"),
}


def test_asset_pages_show_the_column_names_sql_knows_after_a_load(
    page, stack: Stack, screenshot
) -> None:
    assert launch_month(stack, "2021-01")[1] == "SUCCESS"
    wait_until_materialized(stack, "taxi_zones")  # by the automation sensor, nobody asked
    for asset, (description, *names) in COLUMNS_SHOWN.items():
        page.goto(f"{stack.web_url}/assets/{asset}")
        page.get_by_text(description).wait_for()  # the Columns section is drawn
        screenshot(f"{asset}-columns")
        for name in names:
            assert page.get_by_text(name, exact=True).count() >= 1, name
            assert page.get_by_text(name.lower(), exact=True).count() == 0, name


def test_the_mart_fills_itself_and_its_page_says_what_it_waits_for(
    page, stack: Stack, screenshot
) -> None:
    assert launch_month(stack, "2021-02")[1] == "SUCCESS"
    wait_until_materialized(stack, "daily_borough_trips", "2021-02")
    page.goto(f"{stack.web_url}/assets/daily_borough_trips")
    page.get_by_text("once its yellow_taxi month and taxi_zones are loaded").wait_for()
    screenshot("mart-overview")
    page.get_by_text("preview", exact=True).scroll_into_view_if_needed()
    screenshot("mart-metadata")
    assert page.get_by_text(re.compile(r"^\d+\.\d$")).count() >= 1  # minutes to 0.1
    assert page.get_by_text(re.compile(r"^\d+\.\d{3,}$")).count() == 0
    assert page.get_by_text(re.compile("^(months|total_rows)$")).count() == 0


def test_a_check_result_of_a_ranged_backfill_names_its_month(
    page, stack: Stack, screenshot
) -> None:
    assert backfill_months(stack, ["2021-02", "2021-03"]) == "COMPLETED_SUCCESS"
    page.goto(f"{stack.web_url}/assets/yellow_taxi?view=checks&checkDetail={ROW_COUNT_CHECK}")
    result = page.get_by_text(re.compile(r"^2021-0[23]: [\d,]+ rows in yellow_taxi_2021_0[23] "))
    result.wait_for()
    screenshot("latest-check-result")
    month = result.inner_text()[:7]
    assert f"yellow_taxi_{month.replace('-', '_')} " in result.inner_text()
    assert re.search(rf"Partition\s+{month}\b", page.inner_text("body"))


def graph_box(page, name: str):
    """The box in the global asset graph that is labelled `name`: a group, collapsed or
    expanded, or an asset drawn small (zoomed out, without its tooltip)."""
    return page.locator("foreignObject").filter(has=page.get_by_text(name, exact=True)).first


def test_the_expanded_graph_reads_from_the_raw_files_downward(
    page, stack: Stack, screenshot
) -> None:
    page.goto(f"{stack.web_url}/asset-groups")
    graph_box(page, "warehouse").wait_for()  # drawn collapsed
    for _ in range(3):  # the graph's own shortcut, once its handler listens: expand all groups
        page.keyboard.press("Alt+e")
        with contextlib.suppress(PlaywrightTimeout):
            graph_box(page, "raw_csv").wait_for(timeout=10_000)
            break
    for name in ("raw_csv", "yellow_taxi", "taxi_zones"):
        graph_box(page, name).wait_for()
    screenshot("groups-expanded")
    raw, warehouse = (graph_box(page, name).bounding_box() for name in ("raw", "warehouse"))
    assert raw["y"] + raw["height"] <= warehouse["y"]  # the raw box ends above the warehouse box
