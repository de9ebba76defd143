"""`<table>_tlc_sensor`: loads each month the TLC publishes as its file appears, and reloads a
loaded month whose file the TLC has re-published (docs/datasets.md, "New and revised months").

Each tick (none while a run or backfill is loading the dataset) asks the TLC (HEAD requests,
nothing downloaded) for the months after the latest loaded one, in order, until one answers 403
("not yet"). Every TAXI_REVISION_CHECK_HOURS it also looks back over the loaded months of the
last TAXI_REVISION_LOOKBACK_MONTHS and compares what the TLC publishes now (ETag, Last-Modified,
size) with what the lake's manifest recorded at download: a month that differs is reloaded
whole, downloaded afresh; an unchanged one is left alone. The mirror's months (2019-01..2021-07
as CSV) are the schedule's, not the sensor's.
"""

import bisect
import datetime as dt
import json
from collections.abc import Sequence
from dataclasses import dataclass

import dagster as dg
from dagster._core.definitions.unresolved_asset_job_definition import UnresolvedAssetJobDefinition
from dagster._core.execution.backfill import BulkActionStatus
from dagster._core.storage.dagster_run import IN_PROGRESS_RUN_STATUSES

from taxi_assets.mechanics.dataset_spec import DatasetSpec
from taxi_assets.mechanics.disk_space import shortfall
from taxi_assets.mechanics.errors import TaxiError, TransientError
from taxi_assets.mechanics.lake import Lake
from taxi_assets.mechanics.months import parse_month
from taxi_assets.mechanics.publication import FileVersion
from taxi_assets.mechanics.settings import number_setting
from taxi_assets.mechanics.source import probe
from taxi_assets.resources import DataLake, TaxiSource
from taxi_assets.trips.assets import DatasetAssets, refetch_config

FOUND_TAG = "taxi/sensor_found"  # `new month` or `revised file`
VERSION_TAG = "taxi/source_version"  # the ETag (else Last-Modified, else size) it found
CHANGE_TAG = "taxi/source_change"  # what changed, for a revised file
_TAG_CHARS = 200


@dataclass(frozen=True)
class WatchSettings:
    """How the sensor watches, each from its environment variable (read when the code location
    loads, as Dagster reads a sensor's interval then)."""

    interval_seconds: int
    catch_up_months: int
    revision_check_hours: float
    revision_lookback_months: int

    @classmethod
    def from_environment(cls) -> "WatchSettings":
        return cls(
            int(number_setting(None, "TAXI_TLC_SENSOR_INTERVAL_SECONDS", 3600, whole=True)),
            int(number_setting(None, "TAXI_TLC_CATCH_UP_MONTHS", 6, whole=True)),
            number_setting(None, "TAXI_REVISION_CHECK_HOURS", 24),
            int(number_setting(None, "TAXI_REVISION_LOOKBACK_MONTHS", 12, whole=True)),
        )


def publication_sensor(
    assets: DatasetAssets, job: UnresolvedAssetJobDefinition, settings: WatchSettings
) -> dg.SensorDefinition:
    """The dataset's sensor, running by default."""
    spec = assets.spec
    partitions = assets.warehouse.partitions_def
    assert isinstance(partitions, dg.TimeWindowPartitionsDefinition)
    key = dg.AssetKey(spec.table)

    @dg.sensor(
        name=f"{spec.table}_tlc_sensor",
        job=job,
        minimum_interval_seconds=settings.interval_seconds,
        default_status=dg.DefaultSensorStatus.RUNNING,
        description=f"Loads each month of {spec.title.lower()} the TLC publishes as its file "
        f"appears (403 means not yet), and reloads a loaded month whose file the TLC "
        f"re-published. Asks only for the months after the latest loaded one, and looks back "
        f"{settings.revision_lookback_months} months every {settings.revision_check_hours:g} h.",
    )
    def _sensor(
        context: dg.SensorEvaluationContext, source: TaxiSource, lake: DataLake
    ) -> dg.SensorResult:
        busy = load_in_progress(context.instance, key)
        if busy:  # its months are not loaded yet: asking now would load them a second time
            return dg.SensorResult(skip_reason=f"{busy}; the sensor asks again after it")
        watch = _Watch(spec, source, lake.lake())
        months = partitions.get_partition_keys()
        loaded = sorted(context.instance.get_materialized_partitions(key))
        cursor = json.loads(context.cursor or "{}")
        now = dt.datetime.now(dt.UTC).timestamp()
        look_back = now - cursor.get("looked_back_at", 0) >= settings.revision_check_hours * 3600
        try:
            requests, notes = watch.new_months(loaded, months, settings.catch_up_months)
            if look_back and settings.revision_lookback_months > 0:
                revised, revision_notes = watch.revised_months(
                    loaded, months, settings.revision_lookback_months
                )
                requests, notes = requests + revised, notes + revision_notes
                cursor["looked_back_at"] = now
        except (TransientError, TaxiError) as exc:  # an unreachable TLC: try again next tick
            return dg.SensorResult(skip_reason=f"the TLC did not answer: {exc}")
        for note in notes:
            context.log.info(note)
        if requests:
            return dg.SensorResult(run_requests=requests, cursor=json.dumps(cursor))
        return dg.SensorResult(skip_reason="; ".join(notes), cursor=json.dumps(cursor))

    return _sensor


def load_in_progress(instance: dg.DagsterInstance, key: dg.AssetKey) -> str:
    """What is loading the asset right now (a queued or running run, a backfill still
    requesting runs), '' when nothing is: a ranged run records its months one by one, so its
    later months look missing until it ends."""
    for run in instance.get_runs(dg.RunsFilter(statuses=IN_PROGRESS_RUN_STATUSES), limit=100):
        if run.asset_selection and key in run.asset_selection:
            return f"run {run.run_id[:8]} of {run.job_name} is loading {key.to_user_string()}"
    for backfill in instance.get_backfills(status=BulkActionStatus.REQUESTED, limit=50):
        if backfill.asset_selection and key in backfill.asset_selection:
            return f"backfill {backfill.backfill_id} is loading {key.to_user_string()}"
    return ""


class _Watch:
    """One tick's questions to the TLC for one dataset."""

    def __init__(self, spec: DatasetSpec, source: TaxiSource, lake: Lake) -> None:
        self.spec, self.source, self.lake = spec, source, lake
        self.timeout = (source.connect_timeout_seconds, source.read_timeout_seconds)

    def new_months(
        self, loaded: list[str], months: Sequence[str], catch_up: int
    ) -> tuple[list[dg.RunRequest], list[str]]:
        """Run requests for the partitions' `months` after the latest loaded one that the TLC
        has published, asked in order until one is not there yet."""
        name = self.spec.table
        if not loaded:
            return [], [
                f"nothing of {name} is loaded yet: the sensor follows the latest loaded month "
                "(load or backfill the months you want first)"
            ]
        after = months[bisect.bisect_right(months, loaded[-1]) :]
        waiting = [k for k in after if self._from_tlc(k)]
        if not waiting:
            return [], [
                f"{name} is loaded through {loaded[-1]}, the latest month the TLC can have "
                "published (or the mirror's, whose months the schedule loads)"
            ]
        if len(waiting) > catch_up:
            return [], [
                f"{name}'s latest loaded month {loaded[-1]} is {len(waiting)} TLC months behind "
                f"{waiting[-1]}: more than TAXI_TLC_CATCH_UP_MONTHS={catch_up}. The sensor keeps "
                f"a current warehouse current; backfill {waiting[0]}...{waiting[-1]} to catch up"
            ]
        requests, notes = [], []
        for month in waiting:
            url = self.source.url_of(self.lake.month_file(self.spec, parse_month(month)))
            version = probe(url, f"{name} {month}", self.timeout)
            if version is None:
                notes.append(f"{name} {month}: not published yet ({url} answers 403 or 404)")
                break
            short = self._no_room(month, version)
            if short:
                notes.append(short)
                break
            notes.append(f"{name} {month}: published ({version.label}); loading it")
            requests.append(_request(month, "new month", version))
        return requests, notes

    def revised_months(
        self, loaded: list[str], months: Sequence[str], lookback: int
    ) -> tuple[list[dg.RunRequest], list[str]]:
        """Run requests for the loaded months of the look-back window (the last `lookback` of
        the partitions' `months`) whose file the TLC publishes in another version than the
        lake's manifest recorded."""
        window = set(months[-lookback:]) if lookback > 0 else set()
        requests, notes, unchanged = [], [], 0
        for month in (k for k in loaded if k in window and self._from_tlc(k)):
            entry = self.lake.manifest(self.spec, parse_month(month))
            if entry is None:  # its lake record is gone: nothing to compare with
                continue
            current = probe(entry.url, f"{self.spec.table} {month}", self.timeout)
            change = current.changes_from(entry.version) if current else ""
            if current is None or not change:
                unchanged += current is not None
                continue
            short = self._no_room(month, current)
            if short:
                notes.append(short)
                continue
            notes.append(
                f"{self.spec.table} {month}: the TLC re-published it ({change}); reloading it"
            )
            config = refetch_config(self.spec)
            requests.append(_request(month, "revised file", current, change, config))
        if loaded:  # with nothing loaded, new_months has said so already
            notes.append(
                f"{self.spec.table}: {unchanged} loaded month(s) of the last {lookback} "
                "unchanged at the TLC"
            )
        return requests, notes

    def _from_tlc(self, month: str) -> bool:
        return self.lake.month_file(self.spec, parse_month(month)).parquet

    def _no_room(self, month: str, version: FileVersion) -> str:
        """Why the lake's disk cannot take the month's file, '' when it can (an object store
        is not checked; the warehouse's disk is checked by the load, which knows the rows)."""
        root = self.lake.root
        if version.size is None or "://" in str(root):
            return ""
        short = shortfall([(root, version.size)])  # type: ignore[list-item]  # a local Path
        return f"{self.spec.table} {month}: not loading it into the lake: {short}" if short else ""


def _request(
    month: str, found: str, version: FileVersion, change: str = "", config: dict | None = None
) -> dg.RunRequest:
    """The month's run; its key names the version, so a version is loaded once."""
    tags = {FOUND_TAG: found, VERSION_TAG: version.label[:_TAG_CHARS]}
    if change:
        tags[CHANGE_TAG] = change[:_TAG_CHARS]
    return dg.RunRequest(
        run_key=f"{month} {found} {version.label}",
        partition_key=month,
        tags=tags,
        run_config=config or {},
    )
