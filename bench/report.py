"""The bench's closing summary, as text: the same figures the JSON holds and the UI shows."""

LABELS = {
    "a": "(a) lesson: pandas chunks + to_sql",
    "b": "(b) gunzip -c | psql \\copy",
    "c": "(c) yellow_taxi step (warehouse writer)",
    "d": "(d) dagster job execute, end to end",
}


def _method_lines(methods: dict) -> list[str]:
    lines = [f"{'method':48} {'median':>9} {'min':>9} {'max':>9}  n"]
    for name, label in LABELS.items():
        s = methods.get(name, {})
        if name == "a" and s.get("n"):
            label = f"{label} ({s['runs'][0]['driver']})"
        if s.get("n"):
            lines.append(
                f"{label:48} {s['median']:8.2f}s {s['min']:8.2f}s {s['max']:8.2f}s  {s['n']}"
            )
    return lines


def _step_lines(methods: dict) -> list[str]:
    runs = methods.get("c", {}).get("runs", [])
    if not runs:
        return []
    last = runs[-1]
    lines = [
        f"(c) as the UI shows it (last rep): load_seconds {last['load_seconds']}, "
        f"rows_per_second {last['rows_per_second']:,}, step {last['step_seconds']} s; "
        f"memory {last['rss_after_imports_mb']} MB after imports, peak {last['peak_rss_mb']} MB "
        f"(+{last['rss_growth_mb']} MB)"
    ]
    job_runs = methods.get("d", {}).get("runs", [])
    if job_runs:
        lines.append(f"(d) as the UI shows it (last rep): {job_runs[-1]['ui']}")
    return lines


def _ratio_lines(ratios: dict) -> list[str]:
    return [
        f"{name}: {r['median_ratio']:.2f} (medians; {r['min_ratio']:.2f} of minimums), "
        f"target {r['target']}: {'met' if r['met'] else 'NOT met'}"
        for name, r in ratios.items()
    ]


def _memory_lines(memory: dict | None) -> list[str]:
    if not memory:
        return []
    lines = [
        f"memory {month} ({m['rows']:,} rows): peak {m['peak_rss_mb']} MB, "
        f"+{m['rss_growth_mb']} MB over {m['rss_after_imports_mb']} MB after imports, "
        f"load {m['load_seconds']} s"
        for month, m in memory["months"].items()
    ]
    lines.append(
        f"memory: large/small peak {memory['peak_ratio_large_to_small']:.3f} (target <= 1.10), "
        f"growth {memory['max_growth_mb']} MB (target < 100): "
        f"{'met' if memory['met'] else 'NOT met'}"
    )
    return lines


def _backfill_lines(backfill: dict | None) -> list[str]:
    if not backfill:
        return []
    rows = ", ".join(f"{m} {n:,}" for m, n in backfill["rows"].items())
    lines = [f"backfill of three months ({rows} rows), wall time:"]
    for mode, s in backfill["modes"].items():
        lines.append(f"  {mode:22} median {s['median']:7.2f}s  min {s['min']:7.2f}s  n {s['n']}")
    return lines


def _dbt_lines(results: dict) -> list[str]:
    dbt = results.get("dbt")
    if not dbt:
        return []
    load = results["methods"].get("c", {}).get("median")
    lines = [
        f"(e) dbt models of the month (yellow {results['rows']:,}, green {dbt['green_rows']:,}, "
        f"FHV {dbt['fhv_rows']:,} rows), beside its load (c) median {load} s:",
        f"  dimensions (dim_zones, seed) {dbt['dimensions_step_seconds']} s",
    ]
    for n, build in enumerate(dbt["builds"], start=1):
        kind = "first build" if n == 1 else "rebuild"
        models = ", ".join(f"{k} {v}" for k, v in build["models"].items())
        lines.append(f"  {kind}: step {build['step_seconds']} s (dbt per model, s: {models})")
    return lines


def render(results: dict) -> str:
    """The whole summary: context, methods, ratios, memory, backfill."""
    m = results["machine"]
    head = [
        f"taxi_assets bench, {results['month']}, {results['rows']:,} rows, "
        f"started {results['started_utc']}",
        f"machine: {m['cores']} cores, {m['memory_gb']} GB, PostgreSQL {m['postgresql']}, "
        f"Python {m['python']}",
        f"load at start: {m['uptime']}",
        f"load at end:   {results['uptime_end']}",
        "",
    ]
    body = [
        *_method_lines(results["methods"]),
        *_step_lines(results["methods"]),
        "",
        *_ratio_lines(results["ratios"]),
        "",
        *_dbt_lines(results),
        "",
        *_memory_lines(results["memory"]),
        "",
        *_backfill_lines(results["backfill"]),
    ]
    return "\n".join(head + body)
