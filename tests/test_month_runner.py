"""Months side by side in one step: bounded, handed back as they commit, failing like before."""

import logging
import os
import signal
import threading
import time

import psycopg
import pytest

from taxi_assets.mechanics.month_runner import Lane, run_months
from tests.support.postgres import TEST_PG_URL

LOG = logging.getLogger("test_month_runner")


class Loads:
    """A stand-in month load that sleeps, records overlap, and fails where told."""

    def __init__(self, seconds: dict[str, float], fail: str = "") -> None:
        self.seconds, self.fail = seconds, fail
        self.started: list[str] = []
        self.at_once = self.most_at_once = 0
        self._lock = threading.Lock()

    def __call__(self, month: str, lane: Lane) -> str:
        with self._lock:
            self.started.append(month)
            self.at_once += 1
            self.most_at_once = max(self.most_at_once, self.at_once)
        lane.log.info(f"{month} loading")
        time.sleep(self.seconds[month])
        with self._lock:
            self.at_once -= 1
        if month == self.fail:
            raise ValueError(f"{month} has a bad row")
        return f"{month} loaded"


def test_at_most_n_at_once_and_each_handed_back_when_done() -> None:
    loads = Loads({"01": 0.6, "02": 0.1, "03": 0.1, "04": 0.1})
    done = [month for month, _ in run_months(["01", "02", "03", "04"], loads, 2, LOG)]
    assert loads.most_at_once == 2
    assert done == ["02", "03", "04", "01"]  # the long January does not hold the others back


def test_after_a_failure_no_month_starts_and_the_one_in_flight_finishes() -> None:
    loads = Loads({"01": 0.1, "02": 0.4, "03": 0.1, "04": 0.1}, fail="03")
    done: list[str] = []
    with pytest.raises(ValueError, match="03 has a bad row"):
        for month, _ in run_months(["01", "02", "03", "04"], loads, 2, LOG):
            done.append(month)
    assert done == ["01", "02"] and loads.started == ["01", "02", "03"]


def test_what_the_loads_log_is_written_by_the_calling_thread(
    caplog: pytest.LogCaptureFixture,
) -> None:
    with caplog.at_level(logging.INFO, logger=LOG.name):
        list(run_months(["01", "02"], Loads({"01": 0.1, "02": 0.1}), 2, LOG))
    written = {r.getMessage(): r.threadName for r in caplog.records}
    assert written == {"01 loading": "MainThread", "02 loading": "MainThread"}


def sleep_in_postgres(month: str, lane: Lane) -> str:
    with psycopg.connect(TEST_PG_URL, autocommit=True) as conn, lane.cancellable(conn):
        conn.execute("SELECT pg_sleep(30)")
    return month


def test_an_interrupted_run_cancels_the_statements_in_flight() -> None:
    months = run_months(["01", "02"], sleep_in_postgres, 2, LOG)
    threading.Timer(1.0, os.kill, (os.getpid(), signal.SIGINT)).start()  # as a terminated run
    started = time.monotonic()
    with pytest.raises(KeyboardInterrupt):
        next(months)
    assert time.monotonic() - started < 10


def test_a_month_commits_only_while_the_step_is_back_in_the_runner() -> None:
    committed: list[str] = []
    refused: list[str] = []

    def commit_when_allowed(month: str, lane: Lane) -> str:
        time.sleep(0.1 if month == "01" else 0.5)
        try:
            with lane.commit_turn():
                committed.append(month)
        except InterruptedError:
            refused.append(month)
            raise
        return month

    months = run_months(["01", "02"], commit_when_allowed, 2, LOG)
    assert next(months) == ("01", "01")
    time.sleep(1.5)  # as Dagster writing January's events, or never resuming the step
    assert committed == ["01"]  # February waits for its turn instead of committing meanwhile
    months.close()  # the step is gone (the run was interrupted): February never commits
    deadline = time.monotonic() + 5
    while not refused and time.monotonic() < deadline:
        time.sleep(0.05)
    assert committed == ["01"] and refused == ["02"]


def test_month_loads_run_in_daemon_threads() -> None:
    def thread_kind(month: str, lane: Lane) -> bool:
        return threading.current_thread().daemon

    assert [daemon for _, daemon in run_months(["01"], thread_kind, 1, LOG)] == [True]
