"""Summaries of repeated measurements, the ratios the issue targets, and the machine's context."""

import os
import platform
import statistics
import subprocess

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
