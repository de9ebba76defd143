"""The always-on stack for real: deploy/run-stack.sh (gRPC code server, webserver, daemon as
separate processes on deploy/dagster.yaml with Postgres storage), driven through GraphQL."""

from pathlib import Path

import pytest

from tests.conftest import MONTH_ROWS
from tests.deploy.stack import Stack, launch_month, stored_run_status, warehouse_count

# One worker runs every test of the shared stack (tests/deploy/conftest.py), so it starts once.
pytestmark = [pytest.mark.stack, pytest.mark.slow, pytest.mark.xdist_group("stack")]


def test_graphql_launch_of_a_month_loads_its_table(stack: Stack) -> None:
    run_id, status = launch_month(stack, "2021-03")
    assert status == "SUCCESS", stack.log.read_text()[-3000:]
    assert warehouse_count(stack, "yellow_taxi_2021_03") == MONTH_ROWS["2021-03"]
    # The instance is deploy/dagster.yaml's: the run lives in Postgres, nothing in SQLite.
    assert stored_run_status(stack, run_id) == "SUCCESS"
    assert not list(Path(stack.env["DAGSTER_HOME"]).rglob("*.db"))
