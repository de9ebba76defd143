"""At most N month loads into a warehouse at once, across runs, processes and executors.

Dagster's pool (`taxi_warehouse`) limits *steps*; one step of a ranged run loads several months
side by side, so the pool alone cannot bound month loads. The bound lives in the warehouse
instead: N session advisory locks, the slots, keyed by the schema in a namespace of their own.
A load takes the first free slot on its own connection and keeps it until it commits or rolls
back; with every slot taken it waits and tries again. A crashed loader's connection closes and
its slot frees itself: nothing to clean up.

Keys are `(hashtext('<schema>/load_slot'), slot)`: the second key stays below N, while the
per-month locks use `YYYYMM`, so the two never meet.
"""

import contextlib
import time
from collections.abc import Callable, Iterator

import psycopg

DEFAULT_LOAD_SLOTS = 2  # as many as the `taxi_warehouse` pool's ceiling in dagster.yaml
_MAX_POLL_SECONDS = 1.0


def _key(schema: str) -> str:
    return f"{schema}/load_slot"


@contextlib.contextmanager
def load_slot(
    conn: psycopg.Connection,
    schema: str,
    slots: int,
    on_wait: Callable[[int], None] = lambda slots: None,
    poll_seconds: float = 0.1,
) -> Iterator[int]:
    """Hold one of the `slots` load slots of `schema` on `conn` (autocommit) for the block.

    Yields the slot's number. Calls `on_wait(slots)` once if it has to wait for one.
    """
    if slots < 1:
        raise ValueError(f"load slots must be at least 1, not {slots}")
    slot, waited = _try_each(conn, schema, slots), False
    while slot is None:
        if not waited:
            on_wait(slots)
            waited = True
        time.sleep(poll_seconds)
        poll_seconds = min(poll_seconds * 1.5, _MAX_POLL_SECONDS)
        slot = _try_each(conn, schema, slots)
    try:
        yield slot
    finally:
        with contextlib.suppress(psycopg.Error):  # a broken connection released it already
            conn.execute("SELECT pg_advisory_unlock(hashtext(%s), %s)", (_key(schema), slot))


def _try_each(conn: psycopg.Connection, schema: str, slots: int) -> int | None:
    """The first slot this session could take, or None if all are held."""
    for slot in range(slots):
        taken = conn.execute(
            "SELECT pg_try_advisory_lock(hashtext(%s), %s)", (_key(schema), slot)
        ).fetchone()
        if taken and taken[0]:
            return slot
    return None


def slots_in_use(conn: psycopg.Connection, schema: str) -> int:
    """How many of the schema's load slots are held right now, by any session."""
    found = conn.execute(
        "SELECT count(*) FROM pg_locks WHERE locktype = 'advisory' AND granted "
        "AND classid = hashtext(%s)::oid AND objsubid = 2",
        (_key(schema),),
    ).fetchone()
    return int(found[0]) if found else 0
