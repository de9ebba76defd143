"""The GraphQL calls behind the UI's backfill dialog that scripts need: what is loaded, launch.

Talks to a running `dagster-webserver` (its /graphql endpoint); the `dagster-daemon` of the same
instance then executes the backfill. Used by `python -m taxi_assets.catchup`; the calls only
tests make (watch, cancel, re-execute) live in tests/support/backfill_control.py.
"""

from collections.abc import Mapping, Sequence
from dataclasses import dataclass
from typing import Any

import requests

from taxi_assets.datasets import LESSON_DATASET
from taxi_assets.mechanics.dataset_spec import DatasetSpec

_LAUNCH = """
mutation Launch($params: LaunchBackfillParams!) {
  launchPartitionBackfill(backfillParams: $params) {
    __typename ... on LaunchBackfillSuccess { backfillId } ... on PythonError { message }
  }
}"""
_REQUESTED = """
query Requested {
  partitionBackfillsOrError(status: REQUESTED, limit: 100) {
    __typename
    ... on PartitionBackfills { results { id partitionNames assetSelection { path } } }
    ... on PythonError { message }
  }
}"""
_PARTITIONS = """
query Partitions($key: AssetKeyInput!) {
  assetNodeOrError(assetKey: $key) {
    __typename
    ... on AssetNode {
      partitionKeys
      assetPartitionStatuses {
        ... on TimePartitionStatuses { ranges { status startKey endKey } }
      }
    }
  }
}"""


class DagsterApiError(RuntimeError):
    """The webserver answered with an error, or with something other than the expected type."""


@dataclass(frozen=True)
class DagsterApi:
    """A `dagster-webserver` GraphQL endpoint, e.g. http://127.0.0.1:3000/graphql."""

    url: str
    timeout_seconds: float = 30.0

    def call(self, query: str, variables: Mapping[str, Any]) -> dict[str, Any]:
        """The `data` of one GraphQL request; raises DagsterApiError on any reported error."""
        reply = requests.post(
            self.url, json={"query": query, "variables": variables}, timeout=self.timeout_seconds
        )
        if reply.status_code != 200:
            raise DagsterApiError(
                f"{self.url} answered HTTP {reply.status_code}: {reply.text[:500]}"
            )
        body = reply.json()
        if body.get("errors"):
            raise DagsterApiError(f"{self.url}: {body['errors']}")
        return body["data"]

    def _expect(self, result: dict[str, Any], typename: str) -> dict[str, Any]:
        if result["__typename"] != typename:
            raise DagsterApiError(f"{self.url}: {result['__typename']}: {result.get('message')}")
        return result

    def launch_backfill(
        self,
        months: Sequence[str],
        title: str,
        run_config: Mapping[str, Any] | None = None,
        spec: DatasetSpec = LESSON_DATASET,
    ) -> str:
        """Launch one asset backfill of the dataset's raw and warehouse assets for `months`."""
        params: dict[str, Any] = {
            "assetSelection": [{"path": [name]} for name in (spec.raw_asset, spec.table)],
            "partitionNames": list(months),
            "title": title,
        }
        if run_config is not None:
            params["runConfigData"] = run_config
        result = self.call(_LAUNCH, {"params": params})["launchPartitionBackfill"]
        return self._expect(result, "LaunchBackfillSuccess")["backfillId"]

    def months_in_requested_backfills(self, asset: str = LESSON_DATASET.table) -> set[str]:
        """Months that backfills still in progress will materialize for `asset`."""
        result = self.call(_REQUESTED, {})["partitionBackfillsOrError"]
        months: set[str] = set()
        for backfill in self._expect(result, "PartitionBackfills")["results"]:
            if [asset] in [key["path"] for key in backfill["assetSelection"] or []]:
                months.update(backfill["partitionNames"] or [])
        return months

    def partition_statuses(
        self, asset: str = LESSON_DATASET.table
    ) -> tuple[list[str], dict[str, str]]:
        """The asset's partition keys, and {key: MATERIALIZED|FAILED|MATERIALIZING} for those
        Dagster has a record of (a key absent from the mapping was never materialized)."""
        result = self.call(_PARTITIONS, {"key": {"path": [asset]}})["assetNodeOrError"]
        node = self._expect(result, "AssetNode")
        keys = list(node["partitionKeys"])
        statuses: dict[str, str] = {}
        for status_range in node["assetPartitionStatuses"].get("ranges", []):
            start, end = keys.index(status_range["startKey"]), keys.index(status_range["endKey"])
            statuses.update(dict.fromkeys(keys[start : end + 1], status_range["status"]))
        return keys, statuses
