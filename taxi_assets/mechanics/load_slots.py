"""At most N month loads into a warehouse at once, across runs, processes and executors.

Dagster's pool (`taxi_warehouse`) limits *steps*; one step of a ranged run loads several months
side by side, so the pool alone cannot bound month loads. The bound lives in the warehouse
instead: N session advisory locks, the slots, keyed by the schema in a namespace of their own.
A load takes the first free slot on its own connection and keeps it until it commits or rolls
back; with every slot taken it waits and tries again, for at most a timeout: a session that
holds a slot for ever (a forgotten psql, a hung client) must not make every load wait for ever,
so the load then fails naming who holds the slots. A crashed loader's connection closes and
its slot frees itself: nothing to clean up.

A month alone may take a second slot for a second COPY stream (writer.py), but only a free one
that no waiting load wants: a load that waits holds the schema's wait key shared, and a second
stream asks for a slot only while nobody does.

Keys are `(hashtext('<schema>/load_slot'), slot)` and `(hashtext('<schema>/load_wait'), 0)`:
the second key stays below N, while the per-month locks use `YYYYMM`, so they never meet.
"""

import contextlib
import datetime as dt
import time
from collections.abc import Callable, Iterator

import psycopg

from taxi_assets.mechanics.errors import TaxiError

DEFAULT_LOAD_SLOTS = 2  # as many as the `taxi_warehouse` pool's ceiling in dagster.yaml
# Longer than any month's load here (a full month takes minutes), short of "for ever".
DEFAULT_LOAD_SLOT_TIMEOUT_SECONDS = 1800.0
_MAX_POLL_SECONDS = 1.0

# Who holds the schema's slots: pg_locks knows the sessions, pg_stat_activity who they are.
_HOLDERS = """
SELECT l.pid, string_agg(l.objid::text, ', ' ORDER BY l.objid), a.application_name,
host(a.client_addr), a.backend_start, a.state, a.state_change
FROM pg_locks l LEFT JOIN pg_stat_activity a ON a.pid = l.pid
WHERE l.locktype = 'advisory' AND l.granted AND l.classid = hashtext(%s)::oid
AND l.objsubid = 2 AND l.objid < %s
GROUP BY 1, 3, 4, 5, 6, 7 ORDER BY min(l.objid)
"""


def _key(schema: str) -> str:
    return f"{schema}/load_slot"


def _wait_key(schema: str) -> str:
    return f"{schema}/load_wait"


@contextlib.contextmanager
def load_slot(
    conn: psycopg.Connection,
    schema: str,
    slots: int,
    on_wait: Callable[[int], None] = lambda slots: None,
    poll_seconds: float = 0.1,
    timeout_seconds: float = DEFAULT_LOAD_SLOT_TIMEOUT_SECONDS,
    where: str = "a load",
) -> Iterator[int]:
    """Hold one of the `slots` load slots of `schema` on `conn` (autocommit) for the block.

    Yields the slot's number. Calls `on_wait(slots)` once if it has to wait for one; after
    `timeout_seconds` of waiting raises TaxiError naming `where` and the slots' holders.
    """
    if slots < 1:
        raise ValueError(f"load slots must be at least 1, not {slots}")
    deadline = time.monotonic() + timeout_seconds
    slot = _try_each(conn, schema, slots)
    if slot is None:
        on_wait(slots)
        with _waiting(conn, schema):
            while slot is None:
                if time.monotonic() >= deadline:
                    raise TaxiError(
                        f"{where}: waited {timeout_seconds:g}s for one of the {slots} load slots "
                        f"of schema {schema}, held by {holders(conn, schema, slots)}; nothing "
                        "was loaded. End a holder (SELECT pg_terminate_backend(<pid>)) or wait "
                        "for it, then materialize again; TAXI_LOAD_SLOT_TIMEOUT sets how long a "
                        "load waits"
                    )
                time.sleep(poll_seconds)
                poll_seconds = min(poll_seconds * 1.5, _MAX_POLL_SECONDS)
                slot = _try_each(conn, schema, slots)
    try:
        yield slot
    finally:
        release_load_slot(conn, schema, slot)


@contextlib.contextmanager
def _waiting(conn: psycopg.Connection, schema: str) -> Iterator[None]:
    """Say, for as long as this load waits for a slot, that a load waits (a shared lock on the
    schema's wait key): a month's second stream then leaves the next free slot to it."""
    conn.execute("SELECT pg_advisory_lock_shared(hashtext(%s), 0)", (_wait_key(schema),))
    try:
        yield
    finally:
        with contextlib.suppress(psycopg.Error):  # a broken connection released it already
            conn.execute("SELECT pg_advisory_unlock_shared(hashtext(%s), 0)", (_wait_key(schema),))


def try_load_slot(conn: psycopg.Connection, schema: str, slots: int) -> int | None:
    """Take a free load slot on `conn` if there is one right now and no load is waiting for one
    (a waiting load goes first): for a month's second COPY stream, never worth waiting for.
    Give it back with `release_load_slot`, or by closing the connection."""
    nobody_waits = conn.execute(
        "SELECT pg_try_advisory_lock(hashtext(%s), 0)", (_wait_key(schema),)
    ).fetchone()
    if not (nobody_waits and nobody_waits[0]):
        return None
    conn.execute("SELECT pg_advisory_unlock(hashtext(%s), 0)", (_wait_key(schema),))
    return _try_each(conn, schema, slots)


def release_load_slot(conn: psycopg.Connection, schema: str, slot: int) -> None:
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


def holders(conn: psycopg.Connection, schema: str, slots: int) -> str:
    """The sessions holding the schema's slots: pid, application, client, since when."""
    rows = conn.execute(_HOLDERS, (_key(schema), slots)).fetchall()
    described = [
        f"pid {pid} (slot {taken}; application_name {app!r}, client {client or 'local socket'}, "
        f"connected since {_when(started)}, {state or 'state unknown'} since {_when(changed)})"
        for pid, taken, app, client, started, state, changed in rows
    ]
    return "; ".join(described) or "no session any more (they just ended)"


def _when(moment: dt.datetime | None) -> str:
    return f"{moment:%Y-%m-%d %H:%M:%S %Z}".strip() if moment else "unknown"


def slots_in_use(conn: psycopg.Connection, schema: str) -> int:
    """How many of the schema's load slots are held right now, by any session."""
    found = conn.execute(
        "SELECT count(*) FROM pg_locks WHERE locktype = 'advisory' AND granted "
        "AND classid = hashtext(%s)::oid AND objsubid = 2",
        (_key(schema),),
    ).fetchone()
    return int(found[0]) if found else 0
