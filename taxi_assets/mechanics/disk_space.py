"""Whether the lake's and the warehouse's disks can hold what a load is about to write: checked
before it starts, so a full disk refuses a month up front instead of failing it midway."""

import shutil
from collections.abc import Sequence
from pathlib import Path

import psycopg

GB = 1e9
HEADROOM = 1.2  # beyond a month's rows: its indexes, WAL, the staging copy of a swap


def free_bytes(path: Path) -> tuple[int, int]:
    """(device, free bytes) of the filesystem that holds `path` (or would: its nearest parent)."""
    while not path.exists() and path != path.parent:
        path = path.parent
    return path.stat().st_dev, shutil.disk_usage(path).free


def data_directory(conn: psycopg.Connection) -> Path | None:
    """The server's data directory when it is on this machine (and the role may see it), on an
    autocommit connection."""
    try:
        found = conn.execute("SHOW data_directory").fetchone()
    except psycopg.Error:  # a role without pg_read_all_settings: the disk is not ours to see
        return None
    path = Path(found[0]) if found else None
    return path if path is not None and path.exists() else None


def shortfall(places: Sequence[tuple[Path, float]]) -> str:
    """'' when every filesystem holds what is bound for it; else which one falls short, by how
    much (places on one device add up)."""
    needs: dict[int, float] = {}
    free: dict[int, int] = {}
    for path, amount in places:
        device, available = free_bytes(path)
        needs[device] = needs.get(device, 0.0) + amount
        free[device] = available
    for device, amount in needs.items():
        if amount > free[device]:
            where = " and ".join(str(p) for p, _ in places if free_bytes(p)[0] == device)
            return (
                f"it needs about {amount / GB:,.2f} GB on the disk of {where}, which has "
                f"{free[device] / GB:,.2f} GB free"
            )
    return ""
