"""Summaries of repeated measurements, the ratios the issue targets, and the machine's context."""

import os
import platform
import resource
import statistics
import subprocess
import time
from collections.abc import Iterator
from contextlib import contextmanager

import psutil
import psycopg

TARGETS = {  # ratio name: (numerator, denominator, comparison, bound)
    "(c)/(b)": ("c", "b", "<=", 1.2),
    "(d)/(b)": ("d", "b", "<=", 2.5),
    "(a)/(c)": ("a", "c", ">=", 30.0),
}


def summary(runs: list[dict]) -> dict:
    """Median, min and max of the runs' `seconds`, with the runs themselves."""
    seconds = [r["seconds"] for r in runs]
    if not seconds:
        return {"n": 0, "runs": runs}
    return {
        "n": len(seconds),
        "median": round(statistics.median(seconds), 3),
        "min": round(min(seconds), 3),
        "max": round(max(seconds), 3),
        "runs": runs,
    }


def ratios(summaries: dict[str, dict]) -> dict:
    """Each target ratio of medians (and of minimums), and whether it meets its bound."""
    out = {}
    for name, (top, bottom, comparison, bound) in TARGETS.items():
        a, b = summaries.get(top, {}), summaries.get(bottom, {})
        if not a.get("n") or not b.get("n"):
            continue
        value = a["median"] / b["median"]
        met = value <= bound if comparison == "<=" else value >= bound
        out[name] = {
            "median_ratio": round(value, 3),
            "min_ratio": round(a["min"] / b["min"], 3),
            "target": f"{comparison} {bound}",
            "met": met,
        }
    return out


def memory_verdict(small: dict, large: dict) -> dict:
    """The flat-memory targets: peak within 10% across sizes, growth under 100 MB."""
    ratio = large["peak_rss_mb"] / small["peak_rss_mb"]
    growth = max(small["rss_growth_mb"], large["rss_growth_mb"])
    return {
        "peak_ratio_large_to_small": round(ratio, 3),
        "max_growth_mb": growth,
        "met": ratio <= 1.10 and growth < 100,
    }


def load_average() -> list[float]:
    """The 1, 5 and 15 minute load averages, as `uptime` prints them."""
    return [round(x, 2) for x in os.getloadavg()]


def busy_core_seconds() -> float:
    """Core-seconds the whole machine has been busy since boot: every process's CPU, the
    Postgres backends' included. The difference over a command is the CPU work it caused,
    which on a machine of N cores must fit in N times the seconds a target allows."""
    t = psutil.cpu_times()  # on Linux guest time is already inside user
    return t.user + t.nice + t.system + t.irq + t.softirq + t.steal


def _postmaster(db_url: str) -> psutil.Process | None:
    """The server's postmaster when it runs on this machine, else None."""
    with psycopg.connect(db_url) as conn:  # ask while the backend lives
        backend = conn.execute("SELECT pg_backend_pid()").fetchone()[0]  # type: ignore[index]
        try:  # a server on another machine has no such local process, or an unrelated one
            process = psutil.Process(backend)
            return process.parent() if process.name() == "postgres" else None
        except psutil.Error:
            return None


def _cpu_totals(postmaster: psutil.Process | None) -> dict[str, float]:
    children = resource.getrusage(resource.RUSAGE_CHILDREN)
    totals = {
        "busy_core_seconds": busy_core_seconds(),
        "children_core_seconds": children.ru_utime + children.ru_stime,
    }
    if postmaster is not None:  # the CPU of the backends it has reaped
        times = postmaster.cpu_times()
        totals["postgres_core_seconds"] = times.children_user + times.children_system
    return totals


def _sessions_ended(db_url: str, timeout: float = 10.0) -> None:
    """Wait until the database's other client sessions are gone: a backend's CPU reaches its
    postmaster's figures only once the backend has exited and been reaped, a moment after
    its client closed the connection."""
    deadline = time.monotonic() + timeout
    with psycopg.connect(db_url, autocommit=True) as conn:
        while time.monotonic() < deadline:
            others = conn.execute(
                "SELECT count(*) FROM pg_stat_activity WHERE datname = current_database() "
                "AND pid <> pg_backend_pid() AND backend_type = 'client backend'"
            ).fetchone()[0]  # type: ignore[index]
            if not others:
                break
            time.sleep(0.05)
    time.sleep(0.1)  # the postmaster reaps an exited backend at once; this covers the gap


@contextmanager
def cpu_work(db_url: str) -> Iterator[dict[str, float]]:
    """The CPU a command caused, filled in when the block ends: the whole machine's, the
    processes this one waited for (the command's tree), and the local server's backends that
    ended meanwhile (a load's connections close when it ends)."""
    postmaster = _postmaster(db_url)
    figures: dict[str, float] = {}
    start = _cpu_totals(postmaster)
    yield figures
    _sessions_ended(db_url)
    end = _cpu_totals(postmaster)
    figures.update({name: round(end[name] - start[name], 1) for name in start})


def machine(db_url: str) -> dict:
    """Cores, memory, PostgreSQL and Python versions of the machine the figures come from."""
    with psycopg.connect(db_url) as conn:
        server = conn.execute("SHOW server_version").fetchone()[0]  # type: ignore[index]
    pages, page_size = os.sysconf("SC_PHYS_PAGES"), os.sysconf("SC_PAGE_SIZE")
    return {
        "cores": os.cpu_count(),
        "memory_gb": round(pages * page_size / 2**30, 1),
        "postgresql": server,
        "python": platform.python_version(),
        "platform": platform.platform(),
        "uptime": subprocess.run(["uptime"], capture_output=True, text=True).stdout.strip(),
    }
