"""The course's whole warehouse, scaled: our one command beside `psql \\copy` on the same files.

    python -m bench.scale --scale 0.05          # about 8 million rows
    python -m bench.scale --scale 0.001 --datasets yellow

Generates the course's set (bench/course_set.py) at `--scale` of its real month sizes, serves it
from a loopback mirror, loads it with the load command into a fresh database, and in the same
run on the same files measures the sum of one-stream `gunzip -c | psql \\copy` loads and a
two-stream run. Prints wall time, rows/s, peak memory of the loading process tree, the
database size, where the time went, and the ratios; writes every figure as JSON (--out).
"""

import argparse
import datetime as dt
import logging
import os
import subprocess
import sys
from pathlib import Path

import psycopg
from psycopg import sql
from sqlalchemy.engine import make_url

from bench import analytics, copy_streams
from bench.course_set import FULL_SIZES, QUARTER_SIZES, scaled_sizes, write_set
from bench.methods import REPO, cli_env, dagster_home
from bench.stats import cpu_work, load_average
from bench.time_spent import where_the_time_went
from bench.tree_memory import run_measured
from bench.workspace import publish, run_in_scratch
from taxi_assets.cli.course import COURSE
from taxi_assets.mechanics.credentials import masked_url
from taxi_assets.mechanics.embedded import start_embedded_postgres
from taxi_testkit.cluster import throwaway_database
from taxi_testkit.mirror import serve_mirror
from taxi_testkit.zones import write_zones

_log = logging.getLogger("bench.scale")
PARENTS = {"yellow": "yellow_taxi", "green": "green_taxi", "fhv": "fhv_taxi"}


# Issue 23's bounds on our command over the one-stream `psql` sum: the course's set at scale
# 0.2 and at 1.0, the three 2021 months at full size.
TARGETS = {("course", 0.2): 0.9, ("course", 1.0): 0.8, ("2021q1", 1.0): 1.2}


def target(r: dict) -> tuple[float, float]:
    """(bound, scale it is set at): the run's own scale's, else the nearest one below it."""
    scales = sorted(scale for name, scale in TARGETS if name == r["set"])
    scale = max([s for s in scales if s <= r["scale"]], default=scales[0])
    return TARGETS[(r["set"], scale)], scale


def quarter_command(sizes: dict[str, dict[str, int]]) -> list[str]:
    """2021-01..2021-03 of yellow as one `dagster asset materialize --partition-range` run."""
    first, *_, last = sizes["yellow"]
    return [str(Path(sys.executable).with_name("dagster")), "asset", "materialize", "-m",
            "taxi_assets", "--select", "raw_csv,yellow_taxi", "--partition-range",
            f"{first}...{last}"]  # fmt: skip


# The one seam for the load: the command a user types, told the scaled totals to compare with.
def load_command(rows: dict[str, int], at_once: int | None = None) -> list[str]:
    parts = [
        f"--part={part.spec.name}:{part.first}..{part.last}={rows[part.spec.name]}"
        for part in COURSE
        if part.spec.name in rows
    ]
    options = [f"--at-once={at_once}"] if at_once else []
    return [sys.executable, "-m", "taxi_assets.course", *parts, *options]


def parse_args(argv: list[str] | None = None) -> argparse.Namespace:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--scale", type=float, default=0.01, help="share of the real sizes")
    parser.add_argument(
        "--datasets", default="yellow,green,fhv", help="comma-separated (%(default)s)"
    )
    parser.add_argument(
        "--pg",
        default="postgresql://postgres@127.0.0.1:5432/postgres",
        help="admin URL of the server for the fresh database, or `embedded` for the project's "
        "embedded server (as a user without TAXI_PG_URL gets it) in the scratch folder "
        "(%(default)s)",
    )
    parser.add_argument(
        "--set",
        choices=("course", "2021q1"),
        default="course",
        help="the course's set through the course command, or yellow 2021-01..03 as one "
        "`asset materialize --partition-range` run (%(default)s)",
    )
    parser.add_argument(
        "--at-once", type=int, default=None, help="datasets at once (the course's default: all)"
    )
    parser.add_argument(
        "--analytics",
        action="store_true",
        help="after the loads, the course's dbt models month by month against one full refresh",
    )
    parser.add_argument(
        "--reps", type=int, default=1, help="rounds of the three loads, interleaved (%(default)s)"
    )
    parser.add_argument(
        "--mirror",
        type=Path,
        default=None,
        help="folder of the generated months, kept and reused by later runs at the same scale "
        "(default: in the scratch folder)",
    )
    parser.add_argument("--out", type=Path, default=None, help="JSON results")
    parser.add_argument("--workdir", type=Path, default=None, help="scratch (default: temp)")
    args = parser.parse_args(argv)
    args.datasets = [d.strip() for d in args.datasets.split(",") if d.strip()]
    return args


def import_footprint_mb() -> float:
    """Resident memory of a Python that has imported the code location, as a run has."""
    probe = "import taxi_assets.definitions, resource; print(open('/proc/self/status').read())"
    done = subprocess.run([sys.executable, "-c", probe], capture_output=True, text=True, cwd=REPO)
    rss = next(line for line in done.stdout.splitlines() if line.startswith("VmRSS:"))
    return round(int(rss.split()[1]) / 1024, 1)


def warehouse_facts(db_url: str, datasets: list[str]) -> dict:
    """Rows per parent table and the database's size on disk."""
    with psycopg.connect(db_url) as conn:
        rows = {
            name: conn.execute(
                sql.SQL("SELECT count(*) FROM {}").format(sql.Identifier(PARENTS[name]))
            ).fetchone()[0]  # type: ignore[index]
            for name in datasets
        }
        size = conn.execute("SELECT pg_database_size(current_database())").fetchone()[0]  # type: ignore[index]
    return {"rows": rows, "database_bytes": size}


def measure_copy(db_url: str, files: dict, datasets: list[str], streams: int) -> dict:
    schema = f"copy_{streams}_stream"
    copy_streams.create_tables(db_url, schema, datasets)
    load = load_average()
    targets = copy_streams.copy_files(files, schema)
    run = copy_streams.one_stream if streams == 1 else copy_streams.two_streams
    with cpu_work(db_url) as cpu:
        seconds = run(db_url, targets)
    copy_streams.drop_schema(db_url, schema)
    return {"seconds": round(seconds, 2), **cpu, "load_average_before": load}


def measure_course(env: dict[str, str], command: list[str]) -> dict:
    load = load_average()
    with cpu_work(env["TAXI_PG_URL"]) as cpu:
        figures = run_measured(command, env, str(REPO))
    figures.update(cpu)
    if figures["returncode"] != 0:
        raise RuntimeError(f"the load command failed:\n{figures['output_tail']}")
    return {
        **figures,
        "load_average_before": load,
        "time": where_the_time_went(Path(env["DAGSTER_HOME"])),
    }


def run(args: argparse.Namespace) -> dict:
    full = QUARTER_SIZES if args.set == "2021q1" else FULL_SIZES
    sizes = scaled_sizes(args.scale, args.datasets, full)
    args.datasets = list(sizes)
    mirror = args.mirror or args.workdir / "mirror"
    _log.info(f"generating {sum(sum(m.values()) for m in sizes.values()):,} rows")
    files = write_set(sizes, mirror)
    write_zones(mirror)
    results: dict = {
        "started_utc": dt.datetime.now(dt.UTC).isoformat(timespec="seconds"),
        "set": args.set,
        "scale": args.scale,
        "datasets": args.datasets,
        "rows": {name: sum(m.values()) for name, m in sizes.items()},
        "months": sum(len(m) for m in sizes.values()),
        "import_footprint_mb": import_footprint_mb(),
    }
    server = args.pg
    if server == "embedded":
        server = start_embedded_postgres(args.workdir / "pgdata")
    results["server"] = masked_url(server)
    reps = [measure_rep(args, sizes, files, mirror, server, rep) for rep in range(args.reps)]
    for method in ("one_stream", "course", "two_streams"):  # the median rep of each method
        results[method] = median_rep([rep[method] for rep in reps])
        results[f"{method}_seconds_each_rep"] = [rep[method]["seconds"] for rep in reps]
    results["warehouse"], results["database"] = reps[0]["warehouse"], reps[0]["database"]
    if "analytics" in reps[0]:
        results["analytics"] = reps[0]["analytics"]
    results["load_average_end"] = load_average()
    return results


def measure_rep(
    args: argparse.Namespace, sizes: dict, files: dict, mirror: Path, server: str, rep: int
) -> dict:
    """One round, interleaved on the same files: one `psql` stream, our command (a fresh
    database, lake and instance), two `psql` streams; the analytics after the first round."""
    results: dict = {}
    rows = {name: sum(m.values()) for name, m in sizes.items()}
    with throwaway_database(server, "taxi_bench") as db_url, serve_mirror(mirror) as url:
        results["database"] = make_url(db_url).database  # throwaway, dropped at the end
        results["one_stream"] = measure_copy(db_url, files, args.datasets, 1)
        _log.info(f"rep {rep + 1}: one stream: {results['one_stream']}")
        quarter = args.set == "2021q1"
        command = quarter_command(sizes) if quarter else load_command(rows, args.at_once)
        scratch = args.workdir / f"rep{rep}"
        scratch.mkdir(parents=True)
        home = dagster_home(scratch, (REPO / "dagster.yaml").read_text())
        env = cli_env(home, url, scratch / "lake", db_url)
        results["course"] = measure_course(env, command)
        _log.info(f"rep {rep + 1}: course command: {results['course']['seconds']} s")
        results["warehouse"] = warehouse_facts(db_url, args.datasets)
        if results["warehouse"]["rows"] != rows:
            raise RuntimeError(f"rows differ: {results['warehouse']['rows']} vs {rows}")
        if args.analytics and rep == 0:
            results["analytics"] = analytics.measure(env, str(REPO), sizes)
            _log.info(f"analytics: {results['analytics']}")
        results["two_streams"] = measure_copy(db_url, files, args.datasets, 2)
        _log.info(f"rep {rep + 1}: two streams: {results['two_streams']}")
    return results


def median_rep(figures: list[dict]) -> dict:
    """The figures of the rep with the median seconds (the lower middle of an even count)."""
    ranked = sorted(figures, key=lambda figure: figure["seconds"])
    return ranked[(len(ranked) - 1) // 2]


def render(r: dict) -> str:
    """The closing summary."""
    total, course = sum(r["rows"].values()), r["course"]
    bound, bound_scale = target(r)
    one, two = r["one_stream"]["seconds"], r["two_streams"]["seconds"]
    time_lines = [f"  {k}: {v}" for k, v in course["time"].items()]
    return "\n".join([
        f"scale {r['scale']}: {total:,} rows in {r['months']} months of {', '.join(r['datasets'])}",
        f"course command: {course['seconds']:.1f} s, {total / course['seconds']:,.0f} rows/s "
        f"(load average before {course['load_average_before']})",
        f"  peak memory: tree {course['peak_tree_rss_mb']} MB, largest process "
        f"{course['peak_process_rss_mb']} MB ({course['peak_process']}); a Python with the code "
        f"location imported: {r['import_footprint_mb']} MB",
        f"  database size: {r['warehouse']['database_bytes'] / 1e9:.2f} GB",
        "  where the time went:", *time_lines,
        f"psql \\copy, one stream (sum of loads): {one:.1f} s, {total / one:,.0f} rows/s "
        f"(load average before {r['one_stream']['load_average_before']})",
        f"psql \\copy, two streams: {two:.1f} s (load average before "
        f"{r['two_streams']['load_average_before']})",
        f"each rep (s): course {r['course_seconds_each_rep']}, one stream "
        f"{r['one_stream_seconds_each_rep']}, two streams {r['two_streams_seconds_each_rep']}",
        f"ratios: course / one stream {course['seconds'] / one:.2f} (target <= {bound} at "
        f"scale {bound_scale}); "
        f"course / two streams {course['seconds'] / two:.2f}; two / one {two / one:.2f}",
        *([f"analytics: month by month {r['analytics']['month_by_month_seconds']} s, one "
           f"dbt build --full-refresh {r['analytics']['full_refresh_seconds']} s, ratio "
           f"{r['analytics']['ratio']} (target <= 1.2; load average "
           f"{r['analytics']['load_average_before']} -> {r['analytics']['load_average_after']})"]
          if "analytics" in r else []),
        cpu_line(r, bound),
        f"load average at the end: {r['load_average_end']}",
    ])  # fmt: skip


def cpu_line(r: dict, bound: float) -> str:
    """The CPU work each side caused on the whole machine, beside what the target allows."""
    cores, one = os.cpu_count() or 1, r["one_stream"]["seconds"]
    sides = [
        f"{name.replace('_', ' ')} {r[name]['busy_core_seconds']} (its processes "
        f"{r[name]['children_core_seconds']}, Postgres {r[name].get('postgres_core_seconds')})"
        for name in ("course", "one_stream", "two_streams")
    ]
    return (
        f"CPU work, core-seconds on the whole machine: {'; '.join(sides)}. At the target's "
        f"{bound * one:.1f} s, {cores} cores give {cores * bound * one:.1f}"
    )


def main(argv: list[str] | None = None) -> None:
    logging.basicConfig(level=logging.INFO, format="%(asctime)s %(name)s: %(message)s")
    args = parse_args(argv)
    results = run_in_scratch(run, args)
    publish(results, render(results), args.out, "scale")


if __name__ == "__main__":
    main()
