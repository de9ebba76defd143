"""Load slots: at most N month loads per warehouse schema at once, whoever starts them."""

import threading
import time
from collections.abc import Callable, Iterator

import psycopg
import pytest

from taxi_assets.mechanics.load_slots import load_slot, slots_in_use
from tests.support.postgres import TEST_PG_URL

Connect = Callable[[], psycopg.Connection]


@pytest.fixture
def connect() -> Iterator[Connect]:
    """Fresh autocommit sessions (one per would-be loader), all closed afterwards."""
    opened: list[psycopg.Connection] = []

    def open_one() -> psycopg.Connection:
        opened.append(psycopg.connect(TEST_PG_URL, autocommit=True))
        return opened[-1]

    yield open_one
    for conn in opened:
        conn.close()


def take_in_thread(conn: psycopg.Connection, schema: str, slots: int) -> threading.Event:
    """Start a loader that waits for a slot; the event is set once it holds one."""
    got = threading.Event()

    def load() -> None:
        with load_slot(conn, schema, slots):
            got.set()

    threading.Thread(target=load, daemon=True).start()
    return got


def test_the_third_loader_waits_until_one_of_two_slots_frees(
    pg_schema: str, connect: Connect
) -> None:
    first, second = load_slot(connect(), pg_schema, 2), load_slot(connect(), pg_schema, 2)
    assert {first.__enter__(), second.__enter__()} == {0, 1}
    third = take_in_thread(connect(), pg_schema, 2)
    assert not third.wait(1.0) and slots_in_use(connect(), pg_schema) == 2
    first.__exit__(None, None, None)
    assert third.wait(5.0)
    second.__exit__(None, None, None)


def test_a_loader_that_dies_frees_its_slot(pg_schema: str, connect: Connect) -> None:
    holder = connect()
    held = load_slot(holder, pg_schema, 1)
    held.__enter__()
    waiting = take_in_thread(connect(), pg_schema, 1)
    assert not waiting.wait(0.5)
    connect().execute("SELECT pg_terminate_backend(%s)", (holder.info.backend_pid,))
    assert waiting.wait(5.0)
    del held


def test_a_failed_load_gives_its_slot_back(pg_schema: str, connect: Connect) -> None:
    conn = connect()
    with pytest.raises(RuntimeError), load_slot(conn, pg_schema, 1):
        raise RuntimeError("COPY failed")
    assert slots_in_use(conn, pg_schema) == 0


def test_other_schemas_have_slots_of_their_own(pg_schema: str, connect: Connect) -> None:
    with load_slot(connect(), pg_schema, 1):
        started = time.monotonic()
        with load_slot(connect(), f"{pg_schema}_other", 1) as slot:
            assert slot == 0 and time.monotonic() - started < 1.0


@pytest.mark.timeout(120)  # a hang here (seen once in CI, inside a try-lock) costs 2 minutes
def test_waiting_is_reported_once(pg_schema: str, connect: Connect) -> None:
    waits: list[int] = []
    holder = load_slot(connect(), pg_schema, 1)
    holder.__enter__()
    threading.Timer(0.6, holder.__exit__, (None, None, None)).start()
    # Bounded: should the holder's release not arrive, this fails naming the slot's holders
    # instead of waiting for the suite's timeout (CI once hung here for 600 s).
    with load_slot(connect(), pg_schema, 1, on_wait=waits.append, timeout_seconds=60):
        assert waits == [1]
