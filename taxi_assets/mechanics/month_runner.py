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

Dagster may also stop a step between two of its events: an interrupt that arrives while the step's
thread writes a month's materialization is raised when Dagster next enters the step, so this
generator is never resumed and its own `except` does not run. A month's COMMIT therefore waits for
its turn (`Lane.commit_turn`): it happens only while the step's thread is back inside this loop,
never while Dagster holds it. A month whose step is gone never commits; the threads are daemons,
so the process exits without them and Postgres rolls their transactions back.
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
        self._turn = threading.Condition()
        self._step_is_here = False

    @contextlib.contextmanager
    def cancellable(self, conn: psycopg.Connection) -> Iterator[psycopg.Connection]:
        """While the block runs, an interrupt of the run cancels `conn`'s statement."""
        with self._lock:
            if self.cancelled.is_set():
                raise InterruptedError("the run was interrupted before this month started")
            self._connections.add(conn)
        try:
            yield conn
        finally:
            with self._lock:
                self._connections.discard(conn)

    @contextlib.contextmanager
    def commit_turn(self) -> Iterator[None]:
        """Entered right before a month's COMMIT: waits until the step's thread is inside
        `run_months` and keeps it there until the block (the COMMIT) is done."""
        with self._turn:
            while not self._step_is_here and not self.cancelled.is_set():
                self._turn.wait(_POLL_SECONDS)
            if self.cancelled.is_set():
                raise InterruptedError("the run was interrupted before this month committed")
            yield

    def step_is_here(self, here: bool) -> None:
        """Said by the step's thread as it enters and leaves `run_months` (at each yield)."""
        with self._turn:
            self._step_is_here = here
            self._turn.notify_all()

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
    lane.step_is_here(True)
    try:
        while waiting or running:
            while waiting and len(running) < max(1, parallel) and first_error is None:
                item = waiting.pop(0)
                running[_start(load, item, lane)] = item
            if not running:
                break
            done, _ = futures.wait(running, _POLL_SECONDS, futures.FIRST_COMPLETED)
            _write(messages, log)
            for future in sorted(done, key=lambda f: items.index(running[f])):
                item, error = running.pop(future), future.exception()
                if error is None:
                    lane.step_is_here(False)  # Dagster has the thread until it resumes us
                    yield item, future.result()
                    lane.step_is_here(True)
                elif first_error is None:
                    first_error = error
                else:
                    log.error(f"{item} failed as well: {error}")
    except BaseException:  # interrupted, or the caller stopped early: roll back what is in flight
        lane.cancel()
        futures.wait(running, _CANCEL_GRACE_SECONDS)
        raise
    finally:
        lane.step_is_here(False)
        _write(messages, log)
    if first_error is not None:
        raise first_error


def _start(
    load: Callable[[Item, Lane], Result], item: Item, lane: Lane
) -> "futures.Future[Result]":
    """`load(item, lane)` in a daemon thread of its own: an interrupted run's process never
    waits at exit for a month blocked on a lock (its transaction dies with the connection)."""
    future: futures.Future[Result] = futures.Future()

    def work() -> None:
        future.set_running_or_notify_cancel()
        try:
            future.set_result(load(item, lane))
        except BaseException as exc:  # handed to the step's thread, which raises it
            future.set_exception(exc)

    threading.Thread(target=work, name=f"month_load_{item}", daemon=True).start()
    return future


def _write(messages: "queue.Queue[tuple[int, str]]", log: logging.Logger) -> None:
    """Write what the loads logged so far, in the calling (step's) thread."""
    while True:
        try:
            level, message = messages.get_nowait()
        except queue.Empty:
            return
        log.log(level, message)
