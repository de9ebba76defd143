"""A small Celery deployment on this machine, for tests and the benchmark: a Dagster instance on
a throwaway Postgres database, and `dagster-celery` workers started with the stock command.

    config, queue = private_celery_config(tmp)
    with throwaway_database(admin_url) as db_url, CeleryWorkers(env, logs, config, queue) as w:
        home = write_instance(tmp / "home", db_url)   # env: DAGSTER_HOME=home, TAXI_CELERY_CONFIG
        w.start("w1"); w.start("w2")

Every worker is its own process group, so stopping (or killing) one reaches its Celery pool.
"""

import contextlib
import os
import signal
import subprocess
import sys
import time
import uuid
from collections.abc import Iterator
from pathlib import Path

import psycopg
import yaml
from psycopg import sql
from sqlalchemy.engine import make_url

REPO_ROOT = Path(__file__).resolve().parents[1]
_READY_SECONDS = 120.0


@contextlib.contextmanager
def _throwaway(url: str, prefix: str, create: str, *drops: str) -> Iterator[str]:
    """Create an object named `<prefix>_<random>` with `create`; yield its name; run `drops`."""
    name = f"{prefix}_{uuid.uuid4().hex[:12]}"
    with psycopg.connect(url, autocommit=True) as conn:
        conn.execute(sql.SQL(create).format(sql.Identifier(name)))  # type: ignore[arg-type]
    try:
        yield name
    finally:
        with psycopg.connect(url, autocommit=True) as conn:
            for drop in drops:
                conn.execute(sql.SQL(drop).format(sql.Identifier(name)))  # type: ignore[arg-type]


@contextlib.contextmanager
def throwaway_database(admin_url: str, prefix: str = "dagster") -> Iterator[str]:
    """Create a database on the server of `admin_url`; yield its URL; drop it (and its sessions)
    afterwards."""
    drop = "DROP DATABASE IF EXISTS {} WITH (FORCE)"
    with _throwaway(admin_url, prefix, "CREATE DATABASE {}", drop) as name:
        yield make_url(admin_url).set(database=name).render_as_string(hide_password=False)


def throwaway_schema(url: str, prefix: str = "test") -> contextlib.AbstractContextManager[str]:
    """Create a schema in the database of `url`; yield its name; drop it with its tables after."""
    return _throwaway(url, prefix, "CREATE SCHEMA {}", "DROP SCHEMA {} CASCADE")


def throwaway_role(url: str, prefix: str = "test_role") -> contextlib.AbstractContextManager[str]:
    """Create a login role with no privileges of its own; yield its name; drop it and whatever
    it owns in the database of `url` afterwards (roles are cluster-wide: use it there only)."""
    drops = ("DROP OWNED BY {} CASCADE", "DROP ROLE {}")
    return _throwaway(url, prefix, "CREATE ROLE {} LOGIN", *drops)


def write_instance(home: Path, storage_url: str) -> Path:
    """A DAGSTER_HOME whose instance keeps runs, events and schedules in Postgres.

    Workers and runs must share it: a worker reads the run and writes the step's events there.
    Dagster's Postgres storage speaks psycopg2 (its `NOTIFY` fails through psycopg 3). Run
    monitoring polls often, so a run over its `dagster/max_runtime` ends within seconds.
    """
    url = make_url(storage_url).set(drivername="postgresql+psycopg2")
    config = {
        "storage": {"postgres": {"postgres_url": url.render_as_string(hide_password=False)}},
        "run_monitoring": {"enabled": True, "poll_interval_seconds": 5},
        "telemetry": {"enabled": False},
    }
    home.mkdir(parents=True, exist_ok=True)
    (home / "dagster.yaml").write_text(yaml.safe_dump(config))
    return home


@contextlib.contextmanager
def dagster_daemon(env: dict[str, str], log: Path) -> Iterator[subprocess.Popen]:
    """`dagster-daemon run -m taxi_assets` from the repository root (run queue, monitoring);
    stopped with its code server and run processes (one process group) afterwards."""
    daemon = str(Path(sys.executable).with_name("dagster-daemon"))
    with log.open("wb") as handle:
        process = subprocess.Popen(
            [daemon, "run", "-m", "taxi_assets"],
            cwd=REPO_ROOT,
            env=env,
            stdout=handle,
            stderr=subprocess.STDOUT,
            start_new_session=True,
        )
    try:
        yield process
    finally:
        _signal_group(process, signal.SIGTERM)
        with contextlib.suppress(subprocess.TimeoutExpired):
            process.wait(timeout=30)
        _signal_group(process, signal.SIGKILL)
        process.wait(timeout=30)


def private_celery_config(directory: Path) -> tuple[Path, str]:
    """A copy of the repository's celery.yaml whose steps go to a queue of their own.

    Runs find it through TAXI_CELERY_CONFIG, workers through `-y` and `-q`: deployments that
    share the broker (parallel test sessions, the benchmark) never take each other's steps.
    """
    config = yaml.safe_load((REPO_ROOT / "celery.yaml").read_text())
    queue = f"taxi_{uuid.uuid4().hex[:12]}"
    config["execution"]["config"]["config_source"]["task_default_queue"] = queue
    directory.mkdir(parents=True, exist_ok=True)
    path = directory / "celery.yaml"
    path.write_text(yaml.safe_dump(config))
    return path, queue


class CeleryWorkers:
    """Starts `dagster-celery worker start -n NAME-TAG -y CONFIG -q QUEUE -A dagster_celery.app`
    from the repository root, one task at a time each; stops every worker it started on exit.

    Celery gives each worker node a control queue named after it (`NAME@host.celery.pidbox`),
    exclusive on the broker: a TAG of its own keeps two deployments that share the broker
    (parallel test sessions, the benchmark) from refusing each other's `w1`. Callers use NAME.
    """

    def __init__(self, env: dict[str, str], log_dir: Path, config: Path, queue: str) -> None:
        bin_dir = str(Path(sys.executable).parent)
        self.env = {**env, "PATH": f"{bin_dir}{os.pathsep}{env.get('PATH', '')}"}
        self.log_dir = log_dir
        self.config, self.queue = config, queue
        self.tag = uuid.uuid4().hex[:8]
        self.processes: dict[str, subprocess.Popen] = {}

    def name_of(self, node: str) -> str:
        """The NAME given to `start` for a Celery node name such as `w1-1a2b3c4d@host`."""
        return node.split("@")[0].removesuffix(f"-{self.tag}")

    def __enter__(self) -> "CeleryWorkers":
        return self

    def __exit__(self, *exc: object) -> None:
        for name in list(self.processes):
            self.stop(name)

    def start(self, name: str, concurrency: int = 1) -> subprocess.Popen:
        """Start a worker and wait until Celery reports it ready."""
        self.log_dir.mkdir(parents=True, exist_ok=True)
        log = self.log_path(name)
        command = [str(Path(sys.executable).with_name("dagster-celery")), "worker", "start"]
        command += ["-n", f"{name}-{self.tag}", "-y", str(self.config), "-q", self.queue]
        command += ["-A", "dagster_celery.app"]
        command += ["--", f"--concurrency={concurrency}"]
        with log.open("wb") as handle:
            process = subprocess.Popen(
                command,
                cwd=REPO_ROOT,
                env=self.env,
                stdout=handle,
                stderr=subprocess.STDOUT,
                start_new_session=True,
            )
        self.processes[name] = process
        self._wait_ready(name, process)
        return process

    def log_path(self, name: str) -> Path:
        return self.log_dir / f"worker-{name}.log"

    def group_of(self, pid: int) -> str | None:
        """The name of the worker whose process group holds `pid`, if any."""
        try:
            group = os.getpgid(pid)
        except ProcessLookupError:
            return None
        return next((n for n, p in self.processes.items() if p.pid == group), None)

    def kill(self, name: str) -> None:
        """SIGKILL a worker and its pool at once, as a lost machine would vanish."""
        process = self.processes.pop(name)
        _signal_group(process, signal.SIGKILL)
        process.wait(timeout=30)

    def stop(self, name: str) -> None:
        """Warm shutdown (SIGTERM), then SIGKILL if the worker does not exit in 30 s."""
        process = self.processes.pop(name)
        _signal_group(process, signal.SIGTERM)
        try:
            process.wait(timeout=30)
        except subprocess.TimeoutExpired:
            _signal_group(process, signal.SIGKILL)
            process.wait(timeout=30)
        _signal_group(process, signal.SIGKILL)  # any pool process left behind

    def _wait_ready(self, name: str, process: subprocess.Popen) -> None:
        deadline = time.monotonic() + _READY_SECONDS
        while time.monotonic() < deadline:
            text = self.log_path(name).read_text(errors="replace")
            if " ready." in text:
                return
            if process.poll() is not None:
                raise RuntimeError(f"worker {name} exited early:\n{text[-3000:]}")
            time.sleep(0.3)
        raise RuntimeError(f"worker {name} not ready in {_READY_SECONDS:.0f}s")


def _signal_group(process: subprocess.Popen, signum: int) -> None:
    with contextlib.suppress(ProcessLookupError, PermissionError):
        os.killpg(process.pid, signum)


def delete_queue(broker_url: str, queue: str) -> None:
    """Delete a private queue and any task left in it (a run whose workers were all killed)."""
    from kombu import Connection

    with Connection(broker_url) as conn:
        conn.default_channel.queue_delete(queue)
