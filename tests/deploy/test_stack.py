"""The always-on stack for real: deploy/run-stack.sh (gRPC code server, webserver, daemon as
separate processes on deploy/dagster.yaml with Postgres storage), driven through GraphQL."""

from pathlib import Path

import pytest

from tests.deploy.stack import Stack, graphql, launch_month, stored_run_status, warehouse_count
from tests.support.mirror_months import MONTH_ROWS

# One worker runs every test of the shared stack (tests/deploy/conftest.py), so it starts once.
pytestmark = [pytest.mark.stack, pytest.mark.slow, pytest.mark.xdist_group("stack")]


def test_graphql_launch_of_a_month_loads_its_table(stack: Stack) -> None:
    run_id, status = launch_month(stack, "2021-03")
    assert status == "SUCCESS", stack.log.read_text()[-3000:]
    assert warehouse_count(stack, "yellow_taxi_2021_03") == MONTH_ROWS["2021-03"]
    # The instance is deploy/dagster.yaml's: the run lives in Postgres, nothing in SQLite.
    assert stored_run_status(stack, run_id) == "SUCCESS"
    assert not list(Path(stack.env["DAGSTER_HOME"]).rglob("*.db"))


# The query docs/ui.md gives for the webserver's GraphQL playground (/graphql): the open-source
# UI records column lineage but draws it nowhere.
COLUMN_LINEAGE_QUERY = """{ assetNodeOrError(assetKey: {path: ["daily_borough_trips"]}) {
  ... on AssetNode { metadataEntries { label ... on TableColumnLineageMetadataEntry {
    lineage { columnName columnDeps { assetKey { path } columnName } } } } } } }"""


def test_the_marts_column_lineage_is_served_where_the_docs_say(stack: Stack) -> None:
    entries = graphql(stack, COLUMN_LINEAGE_QUERY)["assetNodeOrError"]["metadataEntries"]
    [lineage] = [e["lineage"] for e in entries if e["label"] == "dagster/column_lineage"]
    deps = {e["columnName"]: e["columnDeps"] for e in lineage}
    assert {"assetKey": {"path": ["yellow_taxi"]}, "columnName": "PULocationID"} in deps[
        "pickup_borough"
    ]
    assert {"assetKey": {"path": ["taxi_zones"]}, "columnName": "Borough"} in deps["pickup_borough"]


def test_the_code_location_starts_without_warnings_nobody_can_act_on(stack: Stack) -> None:
    log = stack.log.read_text()
    assert "Loaded code location" in log or "Started Dagster code server" in log
    assert "BetaWarning" not in log and "PreviewWarning" not in log
