"""The GraphQL calls that only tests make on a backfill: watch it, cancel it, re-execute it.

The product keeps what scripts need (taxi_assets/backfill_api.py: partition statuses, launch);
these are the UI's other buttons, which the daemon tests press.
"""

from dataclasses import dataclass

from taxi_assets.cli.backfill_api import DagsterApi

TERMINAL_BACKFILL_STATUSES = {
    "COMPLETED",
    "COMPLETED_SUCCESS",
    "COMPLETED_FAILED",
    "FAILED",
    "CANCELED",
}

_CANCEL = """
mutation Cancel($id: String!) {
  cancelPartitionBackfill(backfillId: $id) {
    __typename ... on PythonError { message }
  }
}"""
_RETRY = """
mutation Retry($params: ReexecutionParams!) {
  reexecutePartitionBackfill(reexecutionParams: $params) {
    __typename ... on LaunchBackfillSuccess { backfillId } ... on PythonError { message }
  }
}"""
_STATUS = """
query Status($id: String!) {
  partitionBackfillOrError(backfillId: $id) {
    __typename ... on PartitionBackfill { status } ... on PythonError { message }
  }
}"""
_TARGET = """
query Target($id: String!) {
  partitionBackfillOrError(backfillId: $id) {
    __typename
    ... on PartitionBackfill { partitionNames assetSelection { path } }
    ... on PythonError { message }
  }
}"""


@dataclass(frozen=True)
class BackfillControl(DagsterApi):
    """`DagsterApi` plus status, targets, cancel and re-execute-from-failure of a backfill."""

    def cancel_backfill(self, backfill_id: str) -> None:
        result = self.call(_CANCEL, {"id": backfill_id})["cancelPartitionBackfill"]
        self._expect(result, "CancelBackfillSuccess")

    def reexecute_from_failure(self, backfill_id: str) -> str:
        """A new backfill of what `backfill_id` did not materialize; its id."""
        params = {"parentRunId": backfill_id, "strategy": "FROM_FAILURE"}
        result = self.call(_RETRY, {"params": params})["reexecutePartitionBackfill"]
        return self._expect(result, "LaunchBackfillSuccess")["backfillId"]

    def backfill_status(self, backfill_id: str) -> str:
        result = self.call(_STATUS, {"id": backfill_id})["partitionBackfillOrError"]
        return self._expect(result, "PartitionBackfill")["status"]

    def backfill_targets(self, backfill_id: str) -> tuple[list[str], list[str]]:
        """(months, asset names) a backfill targets."""
        result = self.call(_TARGET, {"id": backfill_id})["partitionBackfillOrError"]
        result = self._expect(result, "PartitionBackfill")
        assets = ["/".join(key["path"]) for key in result["assetSelection"] or []]
        return list(result["partitionNames"] or []), assets
