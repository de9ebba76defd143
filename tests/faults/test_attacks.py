"""Issue 16: faults found by attacking a loaded warehouse, each made for real.

Written against the `dagster` CLI and `dg.materialize` over the project's own Definitions,
with the dataset named once in DATASETS, so each test extends to every dataset spec.
"""

import gzip
import json
import os
import stat
import subprocess
from collections.abc import Iterator
from dataclasses import dataclass
from pathlib import Path

import dagster as dg
import psycopg
import pytest
from psycopg import sql

from taxi_assets.datasets import DATASETS as ALL_DATASETS
from taxi_assets.definitions import defs
from taxi_assets.mechanics.dataset_spec import DatasetSpec, WarningRule
from taxi_assets.resources import DataLake, TaxiSource, WarehouseResource
from taxi_testkit import cluster
from taxi_testkit.mirror import serve_mirror
from tests.faults.processes import DAGSTER
from tests.support.crafted_months import gzip_lines
from tests.support.fault_month import lake_files
from tests.support.postgres import TEST_PG_URL, count_rows, table_fingerprint
from tests.support.runs import failure_message

SECRET = "s3cretPW"
TEST_DB = sql.Identifier(psycopg.conninfo.conninfo_to_dict(TEST_PG_URL)["dbname"]).as_string()


@dataclass(frozen=True)
class Dataset:
    """What a test needs to know of a dataset: its job, assets, table and mirror folder."""

    job: str
    raw: str
    warehouse: str
    table: str
    kind: str
    pickup: str  # columns the attacks write into: a timestamp, a text, a count, two amounts
    text: str
    count: str
    amount: str
    total: str
    count_rule: str  # the warning that flags a negative `count`

    def child(self, month: str) -> str:
        return f"{self.table}_{month.replace('-', '_')}"

    def file(self, month: str) -> str:
        return f"{self.kind}/{self.kind}_tripdata_{month}.csv.gz"


def _negative_count_rule(spec: DatasetSpec) -> WarningRule | None:
    smallints = {c.name for c in spec.columns if c.pg_type == "smallint"}
    rules = [r for r in spec.warnings if r.kind == "negative" and r.columns[0] in smallints]
    return rules[0] if rules else None


def attacked(spec: DatasetSpec, count_rule: WarningRule) -> Dataset:
    """The dataset's job, assets and the columns of each kind the attacks write into."""
    text = next(c.name for c in spec.columns if c.pg_type == "text")
    amounts = [c.name for c in spec.columns if c.pg_type == "numeric"]
    return Dataset(
        *(spec.job_name, spec.raw_asset, spec.table, spec.table, spec.name, spec.pickup_column),
        *(text, count_rule.columns[0], amounts[0], amounts[-1], count_rule.name),
    )


# Every declared dataset with counts and amounts to corrupt (FHV records neither).
DATASETS = [
    pytest.param(attacked(spec, rule), id=spec.name)
    for spec in ALL_DATASETS
    if (rule := _negative_count_rule(spec)) and any(c.pg_type == "numeric" for c in spec.columns)
]


@pytest.fixture(params=DATASETS)
def ds(request: pytest.FixtureRequest) -> Dataset:
    return request.param


def run(
    resources: dict, month: str | None, *keys: str, checks: bool = False, **kwargs
) -> dg.ExecuteInProcessResult:
    """Materialize the named assets of the project's Definitions for `month`."""
    selection = dg.AssetSelection.assets(*keys)
    return dg.materialize(
        [*defs.assets, *(defs.asset_checks or [])],  # type: ignore[list-item]
        selection=selection if checks else selection.without_checks(),
        partition_key=month,
        resources=resources,
        raise_on_error=False,
        **kwargs,
    )


def lines_of(ds: Dataset, mirror_dir: Path, month: str) -> list[str]:
    return gzip.decompress((mirror_dir / ds.file(month)).read_bytes()).decode().splitlines()


def set_field(lines: list[str], line: int, column: str, value: str) -> None:
    """Overwrite one field of the file's `line` (1 = the header, as COPY counts)."""
    fields = lines[line - 1].split(",")
    fields[lines[0].split(",").index(column)] = value
    lines[line - 1] = ",".join(fields)


@dataclass(frozen=True)
class OwnMirror:
    """A loopback mirror of the test's own, whose files the test writes and replaces."""

    root: Path
    url: str

    def __call__(self, ds: Dataset, month: str, body: bytes) -> None:
        target = self.root / ds.file(month)
        target.parent.mkdir(parents=True, exist_ok=True)
        target.write_bytes(body)


@pytest.fixture
def publish(tmp_path: Path) -> Iterator[OwnMirror]:
    root = tmp_path / "own_mirror"
    root.mkdir()
    with serve_mirror(root) as url:
        yield OwnMirror(root, url)


@pytest.fixture
def own(resources: dict, publish: OwnMirror, tmp_path: Path) -> dict:
    """The test's resources pointed at its own mirror and a fresh lake."""
    source = TaxiSource(base_url=publish.url, first_backoff_seconds=0.01)
    return {**resources, "source": source, "lake": DataLake(root=str(tmp_path / "own_lake"))}


# 1. No password reaches a log, an event, metadata, a compute log or an error.

MALFORMED_URLS = {
    "space-in-password": "postgresql://postgres:s3cretPW x@127.0.0.1:5432/test",
    "bad-host": "postgresql://postgres:s3cretPW@[::1/test",
    "query-string": "postgresql://postgres@127.0.0.1:1/test?password=s3cretPW",
    "sslpassword": "postgresql://postgres@127.0.0.1:1/test?sslpassword=s3cretPW",
    "keyword-value": "host=127.0.0.1 port=1 user=postgres password=s3cretPW dbname=test",
    "keyword-quoted": "host=127.0.0.1 port=1 user=postgres password='s3cretPW x' dbname=test",
}


@pytest.mark.cli
@pytest.mark.parametrize("url", MALFORMED_URLS.values(), ids=MALFORMED_URLS.keys())
def test_no_password_reaches_dagster_home_or_the_output(
    url: str, ds: Dataset, cli_env: dict, tmp_path: Path
) -> None:
    tags = json.dumps({"dagster/partition": "2021-01"})
    # Two connection attempts, not five: still a retry, and the same final error (what could
    # leak), without three more backoffs.
    config = tmp_path / "run_config.json"
    config.write_text(json.dumps({"resources": {"warehouse": {"config": {"connect_attempts": 2}}}}))
    command = [DAGSTER, "job", "execute", "-m", "taxi_assets", "-j", ds.job, "--tags", tags]
    command += ["--config", str(config)]
    done = subprocess.run(
        command, env={**cli_env, "TAXI_PG_URL": url}, capture_output=True, timeout=300
    )
    assert done.returncode != 0 and b"warehouse" in done.stdout + done.stderr
    home = Path(cli_env["DAGSTER_HOME"])
    stored = {p: p.read_bytes() for p in home.rglob("*") if p.is_file()}
    assert any(p.suffix == ".db" for p in stored) and any(
        b"warehouse" in b for b in stored.values()
    )
    leaks = [str(p) for p, body in stored.items() if SECRET.encode() in body]
    assert leaks == [] and SECRET.encode() not in done.stdout + done.stderr


# 2. Where rows go comes from the partition key, never from the lake's manifest.


@pytest.mark.parametrize("field", ["month", "url"])
def test_a_manifest_naming_another_month_never_moves_rows(
    field: str, ds: Dataset, resources: dict, lake_dir: Path, pg_schema: str
) -> None:
    for month in ("2021-01", "2021-02"):
        assert run(resources, month, ds.raw, ds.warehouse).success
    before = {m: table_fingerprint(pg_schema, ds.child(m)) for m in ("2021-01", "2021-02")}
    manifest = lake_dir / f"{ds.file('2021-01')}.manifest.json"
    entry = json.loads(manifest.read_text())
    original, entry[field] = entry[field], entry[field].replace("2021-01", "2021-02")
    manifest.write_text(json.dumps(entry))
    assert run(resources, "2021-01", ds.raw, ds.warehouse).success
    assert {m: table_fingerprint(pg_schema, ds.child(m)) for m in before} == before
    assert json.loads(manifest.read_text())[field] == original  # downloaded again


# 3. A file Postgres rejects is set aside and downloaded again on the next run.


def test_a_rejected_file_is_set_aside_and_downloaded_again(
    ds: Dataset, own: dict, publish: OwnMirror, mirror_dir: Path, pg_schema: str
) -> None:
    good = lines_of(ds, mirror_dir, "2021-02")
    bad = list(good)
    set_field(bad, 9, ds.pickup, "2021-02-30 10:00:00")
    publish(ds, "2021-02", gzip_lines(bad))
    message = failure_message(run(own, "2021-02", ds.raw, ds.warehouse))
    assert "line 9" in message and "2021-02-30" in message
    assert "set aside" in message and "downloads the month again" in message
    publish(ds, "2021-02", gzip_lines(good))  # the mirror publishes a corrected file
    assert run(own, "2021-02", ds.raw, ds.warehouse).success
    assert count_rows(pg_schema, ds.child("2021-02")) == len(good) - 1


# 4. A role that owns its schema, and has nothing else, loads everything.


@pytest.fixture
def loader_role() -> Iterator[str]:
    """A login role with only the database's default privileges (CONNECT), dropped after."""
    with cluster.throwaway_role(TEST_PG_URL, "taxi_loader") as name:
        yield name


def as_role(resources: dict, role: str, schema: str, **warehouse) -> dict:
    """The resources with the warehouse reached as `role`, writing to `schema`."""
    url = TEST_PG_URL.replace("postgres@", f"{role}@")
    writer = WarehouseResource(url=url, schema_name=schema, connect_attempts=1, **warehouse)
    return {**resources, "warehouse": writer}


def role_sql(statement: str, role: str) -> None:
    with psycopg.connect(TEST_PG_URL, autocommit=True) as conn:
        conn.execute(sql.SQL(statement).format(role=sql.Identifier(role)))  # type: ignore[arg-type]


@pytest.mark.parametrize("ds", DATASETS[:1])  # the mart reads yellow_taxi
def test_a_role_owning_only_its_schema_loads_trips_zones_and_marts(
    ds: Dataset, resources: dict, loader_role: str
) -> None:
    role_sql("CREATE SCHEMA {role} AUTHORIZATION {role}", loader_role)
    mine = as_role(resources, loader_role, loader_role)
    assert run(mine, "2021-01", ds.raw, ds.warehouse).success
    assert run(mine, None, "taxi_zones").success
    assert run(mine, "2021-01", "daily_borough_trips").success
    assert count_rows(loader_role, ds.child("2021-01")) == 3_000
    assert count_rows(loader_role, "daily_borough_trips") > 0


def test_a_role_that_cannot_create_its_schema_is_told_which_month(
    ds: Dataset, resources: dict, loader_role: str
) -> None:
    result = run(as_role(resources, loader_role, loader_role), "2021-01", ds.raw, ds.warehouse)
    message = failure_message(result)
    assert "2021-01 (" in message and "lacks a privilege" in message
    assert "permission denied for database" in message


# 5. A quoted field may hold a newline: records are counted as COPY reads them.


def test_a_quoted_newline_is_one_record_as_copy_reads_it(
    ds: Dataset, own: dict, publish: OwnMirror, mirror_dir: Path, pg_schema: str
) -> None:
    lines = lines_of(ds, mirror_dir, "2021-02")
    set_field(lines, 5, ds.text, '"N\nsplit ""flag"""')
    publish(ds, "2021-02", gzip_lines(lines))
    assert run(own, "2021-02", ds.raw, ds.warehouse).success
    assert count_rows(pg_schema, ds.child("2021-02")) == len(lines) - 1


def test_an_unclosed_quote_is_named_as_the_cause(
    ds: Dataset, own: dict, publish: OwnMirror, mirror_dir: Path
) -> None:
    lines = lines_of(ds, mirror_dir, "2021-02")
    set_field(lines, 5, ds.text, '"N')
    publish(ds, "2021-02", gzip_lines(lines))
    message = failure_message(run(own, "2021-02", ds.raw))
    assert "ends inside a quoted field (a quote is never closed)" in message


# 6. Only regular files are opened by the abandoned-temporary cleanup.


@pytest.mark.cli
@pytest.mark.parametrize(
    ("suffix", "left_alone"),
    [(f".part-{'f' * 32}", True), (".manifest.json", False)],
    ids=["temporary", "manifest"],
)
def test_a_fifo_in_the_lake_does_not_hang_the_download(
    suffix: str,
    left_alone: bool,
    ds: Dataset,
    start,
    cli_env: dict,
    lake_dir: Path,
    pg_schema: str,
    tmp_path: Path,
) -> None:
    fifo = lake_dir / f"{ds.file('2021-01')}{suffix}"
    fifo.parent.mkdir(parents=True)
    os.mkfifo(fifo)
    job = start(cli_env, "2021-01", tmp_path / "run", job=ds.job)
    assert job.wait(timeout=240) == 0
    assert stat.S_ISFIFO(fifo.lstat().st_mode) == left_alone  # a manifest's name is ours
    assert count_rows(pg_schema, ds.child("2021-01")) == 3_000


# 7. Errors that help.


@pytest.fixture
def full_disk(tmp_path: Path) -> Iterator[Path]:
    """A 16 kB tmpfs, too small for a month (needs root, as in CI's container)."""
    mount = tmp_path / "small_disk"
    mount.mkdir()
    subprocess.run(["mount", "-t", "tmpfs", "-o", "size=16k", "tmpfs", str(mount)], check=True)
    try:
        yield mount
    finally:
        subprocess.run(["umount", "-l", str(mount)], check=True)


def test_a_full_disk_names_the_month_and_the_file(
    ds: Dataset, resources: dict, full_disk: Path
) -> None:
    result = run({**resources, "lake": DataLake(root=str(full_disk))}, "2021-01", ds.raw)
    message = failure_message(result)
    assert f"2021-01: cannot write {full_disk / ds.file('2021-01')}" in message
    assert "No space left on device" in message and "free space under" in message
    assert lake_files(full_disk) == []


def test_a_gzip_of_nothing_is_an_empty_file(ds: Dataset, own: dict, publish: OwnMirror) -> None:
    publish(ds, "2021-01", gzip.compress(b""))
    message = failure_message(run(own, "2021-01", ds.raw))
    assert "2021-01 (" in message and "is an empty file" in message
    assert "drifts" not in message


def test_a_statement_timeout_is_terminal_with_advice(
    ds: Dataset, resources: dict, loader_role: str
) -> None:
    role_sql("CREATE SCHEMA {role} AUTHORIZATION {role}", loader_role)
    role_sql(f"GRANT CREATE ON DATABASE {TEST_DB} TO {{role}}", loader_role)  # no privilege gap
    role_sql("ALTER ROLE {role} SET statement_timeout = '1ms'", loader_role)
    mine = as_role(resources, loader_role, loader_role, first_backoff_seconds=0.01)
    with dg.DagsterInstance.ephemeral() as instance:
        result = run(mine, "2021-01", ds.raw, ds.warehouse, instance=instance)
        logged = [r.user_message for r in instance.all_logs(result.run_id)]
    message = failure_message(result)
    assert "2021-01 (" in message and "statement_timeout" in message
    assert not [m for m in logged if "load attempt 2" in m]


# 8. Values no check noticed.


@pytest.mark.parametrize("value", ["NaN", "Infinity", "-Infinity", "nan", " +inf", "-INF"])
def test_non_finite_numbers_are_refused_with_the_line(
    value: str, ds: Dataset, own: dict, publish: OwnMirror, mirror_dir: Path, pg_schema: str
) -> None:
    lines = lines_of(ds, mirror_dir, "2021-02")
    set_field(lines, 9, ds.amount, value)
    publish(ds, "2021-02", gzip_lines(lines))
    message = failure_message(run(own, "2021-02", ds.raw, ds.warehouse))
    assert "2021-02 (" in message and "NaN or infinite" in message and "line 9" in message


def test_negative_counts_and_absurd_amounts_are_warnings_with_counts(
    ds: Dataset, own: dict, publish: OwnMirror, mirror_dir: Path
) -> None:
    lines = lines_of(ds, mirror_dir, "2021-02")
    for line in range(2, 5):
        set_field(lines, line, ds.count, "-2")
    set_field(lines, 9, ds.total, "1e309")  # a valid numeric: loaded, and reported
    publish(ds, "2021-02", gzip_lines(lines))
    result = run(own, "2021-02", ds.raw, ds.warehouse, checks=True)
    found = {e.check_name: e for e in result.get_asset_check_evaluations()}
    flagged = {n: found[n].metadata["flagged_rows"].value for n in found if not found[n].passed}
    assert flagged == {ds.count_rule: 3, "extreme_amounts": 1}
    assert all(found[n].severity == dg.AssetCheckSeverity.WARN for n in flagged)
