"""Several months of one step loaded side by side, each still on its own.

A ranged run hands one step all of its months. `run_months` loads up to N of them at once in
threads; each month keeps its own connection, transaction and swap (the caller's `load`), and
its result is handed back in the step's own thread the moment it commits, so the step records
that month's materialization then. What the threads log is queued and written by the step's
thread too: Dagster's log manager and event storage are never touched from a worker.

Failure keeps today's semantics: months that committed stay loaded and are handed back; after
the first error no new month starts, the months already in flight finish (they are valid work,
and are handed back too), and then the first error is raised. An interrupt (the run is
terminated) cancels the in-flight statements, so their transactions roll back, before it
propagates.
"""

import contextlib
import logging
import queue
import threading
from collections.abc import Callable, Iterator, Sequence
from concurrent import futures
from typing import Generic, TypeVar

import psycopg

Item = TypeVar("Item")
Result = TypeVar("Result")
_POLL_SECONDS = 0.2
_CANCEL_GRACE_SECONDS = 60.0


class QueuedLog(logging.Logger):
    """A logger whose records are queued for the step's thread to write."""

    def __init__(self, messages: "queue.Queue[tuple[int, str]]") -> None:
        super().__init__("taxi_assets.month_load")
        self._messages = messages

    def handle(self, record: logging.LogRecord) -> None:
        self._messages.put((record.levelno, record.getMessage()))


class Lane(Generic[Item]):
    """What one month's load gets from the runner: a log, and a way to be cancelled."""

    def __init__(self, log: QueuedLog, cancelled: threading.Event) -> None:
        self.log = log
        self.cancelled = cancelled
        self._connections: set[psycopg.Connection] = set()
        self._lock = threading.Lock()

    @contextlib.contextmanager
    def cancellable(self, conn: psycopg.Connection) -> Iterator[psycopg.Connection]:
        """While the block runs, an interrupt of the run cancels `conn`'s statement."""
        if self.cancelled.is_set():
            raise InterruptedError("the run was interrupted before this month started")
        with self._lock:
            self._connections.add(conn)
        try:
            yield conn
        finally:
            with self._lock:
                self._connections.discard(conn)

    def cancel(self) -> None:
        self.cancelled.set()
        with self._lock:
            for conn in self._connections:
                conn.cancel_safe(timeout=5.0)


def run_months(
    items: Sequence[Item],
    load: Callable[[Item, Lane], Result],
    parallel: int,
    log: logging.Logger,
) -> Iterator[tuple[Item, Result]]:
    """Load `items` in order, up to `parallel` at once; yield (item, result) as each commits."""
    messages: queue.Queue[tuple[int, str]] = queue.Queue()
    lane: Lane = Lane(QueuedLog(messages), threading.Event())
    waiting = list(items)
    running: dict[futures.Future[Result], Item] = {}
    first_error: BaseException | None = None
    pool = futures.ThreadPoolExecutor(max(1, parallel), thread_name_prefix="month_load")
    try:
        while waiting or running:
            while waiting and len(running) < parallel and first_error is None:
                item = waiting.pop(0)
                running[pool.submit(load, item, lane)] = item
            if not running:
                break
            done, _ = futures.wait(running, _POLL_SECONDS, futures.FIRST_COMPLETED)
            _write(messages, log)
            for future in sorted(done, key=lambda f: items.index(running[f])):
                item, error = running.pop(future), future.exception()
                if error is None:
                    yield item, future.result()
                elif first_error is None:
                    first_error = error
                else:
                    log.error(f"{item} failed as well: {error}")
    except BaseException:  # interrupted, or the caller stopped early: roll back what is in flight
        lane.cancel()
        futures.wait(running, _CANCEL_GRACE_SECONDS)
        raise
    finally:
        _write(messages, log)
        pool.shutdown(wait=False, cancel_futures=True)
    if first_error is not None:
        raise first_error


def _write(messages: "queue.Queue[tuple[int, str]]", log: logging.Logger) -> None:
    """Write what the loads logged so far, in the calling (step's) thread."""
    while True:
        try:
            level, message = messages.get_nowait()
        except queue.Empty:
            return
        log.log(level, message)
