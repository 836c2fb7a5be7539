"""Medians and the Markdown report of a bench run, from the dict ``run.py`` writes as JSON.

Ratios are Nuvom ÷ peer, always: above 1 is better for Nuvom in jobs/s rows, below 1 is better
for Nuvom in millisecond rows.
"""

from __future__ import annotations

import statistics
from typing import Any

#: Scenario -> the figures summarized (median, min, max over the rounds).
METRICS = {
    "enqueue": ["jobs_per_s"],
    "bulk": ["jobs_per_s"],
    "drain": ["jobs_per_s", "jobs_per_s_steady", "first_done_s"],
    "roundtrip": ["p50_ms", "p99_ms"],
    "scale": ["jobs_per_s", "jobs_per_s_steady", "fill_s"],
    "small": ["jobs_per_s", "jobs_per_s_steady", "first_done_s"],
}
NAMES = {
    "nuvom-file": "Nuvom (file)",
    "nuvom-file-procs": "Nuvom (file, processes)",
    "nuvom-sqlite-procs": "Nuvom (SQLite, processes)",
    "nuvom-redis-procs": "Nuvom (Redis, processes)",
    "filehuey": "FileHuey",
    "nuvom-sqlite": "Nuvom (SQLite)",
    "sqlitehuey": "SqliteHuey",
    "nuvom-redis": "Nuvom (Redis)",
    "redishuey": "RedisHuey",
    "rq": "RQ",
    "dramatiq": "Dramatiq",
    "celery": "Celery",
    "arq": "arq",
}
#: The Nuvom backend each peer is compared with (same storage).
PAIR = {"sqlitehuey": "nuvom-sqlite", "filehuey": "nuvom-file"}
REDIS_PEERS = ["redishuey", "rq", "dramatiq", "celery", "arq"]

DASH = "\N{EN DASH}"
Data = dict[str, Any]


def summarize(runs: dict[str, dict[str, list[Data]]]) -> dict[str, dict[str, Data]]:
    """For each system and scenario: median, min and max of each metric, over its rounds."""
    out: dict[str, dict[str, Data]] = {}
    for system, scenarios in runs.items():
        for scenario, results in scenarios.items():
            summary: Data = {"rounds": len(results)}
            for metric in METRICS[scenario]:
                values = [r[metric] for r in results if isinstance(r.get(metric), (int, float))]
                if values:
                    median = statistics.median(values)
                    summary[metric] = {"median": median, "min": min(values), "max": max(values)}
            out.setdefault(system, {})[scenario] = summary
    return out


def value(data: Data, system: str, scenario: str, metric: str) -> float | None:
    found = data["results"].get(system, {}).get(scenario, {}).get(metric)
    return float(found["median"]) if found else None


def _num(x: float) -> str:
    return f"{x:,.0f}" if x >= 100 else f"{x:.1f}" if x >= 10 else f"{x:.2f}"


def cell(data: Data, system: str, scenario: str, metric: str) -> str:
    found = data["results"].get(system, {}).get(scenario, {}).get(metric)
    if not found:
        return "—"
    if found["min"] == found["max"]:
        return _num(found["median"])
    return f"{_num(found['median'])} ({_num(found['min'])}{DASH}{_num(found['max'])})"


def ratio(ours: float | None, theirs: float | None) -> str:
    return f"{ours / theirs:.2f}x" if ours and theirs else "—"


def nuvom_of(system: str) -> str:
    """The Nuvom system (threads pool) a peer is compared with."""
    return PAIR.get(system, "nuvom-redis")


def main_table(data: Data) -> list[str]:
    lines = [
        "| System | (a) enqueue, jobs/s | (b) bulk, jobs/s | (c) drain, jobs/s | (c) drain from first "
        "done, jobs/s | (d) p50, ms | (d) p99, ms | Nuvom ÷ it, drain |",
        "|---|---:|---:|---:|---:|---:|---:|---:|",
    ]
    for system in data["config"]["systems"]:
        drain = value(data, system, "drain", "jobs_per_s")
        ours = value(data, nuvom_of(system), "drain", "jobs_per_s")
        vs = "" if system.startswith("nuvom") else ratio(ours, drain)
        cells = [
            cell(data, system, "enqueue", "jobs_per_s"),
            cell(data, system, "bulk", "jobs_per_s"),
            cell(data, system, "drain", "jobs_per_s"),
            cell(data, system, "drain", "jobs_per_s_steady"),
            cell(data, system, "roundtrip", "p50_ms"),
            cell(data, system, "roundtrip", "p99_ms"),
        ]
        lines.append(f"| {NAMES[system]} | {' | '.join(cells)} | {vs} |")
    return lines


def headline(data: Data) -> list[str]:
    """Nuvom ÷ the best peer on Redis, and each Nuvom backend ÷ Huey on the same storage."""
    rows = [
        ("drain, jobs/s", "drain", "jobs_per_s", max, ""),
        ("drain, Nuvom with --pool processes, jobs/s", "drain", "jobs_per_s", max, "-procs"),
        ("bulk enqueue, jobs/s", "bulk", "jobs_per_s", max, ""),
        ("enqueue one by one, jobs/s", "enqueue", "jobs_per_s", max, ""),
        ("round trip p50, ms", "roundtrip", "p50_ms", min, ""),
        ("round trip p99, ms", "roundtrip", "p99_ms", min, ""),
    ]
    lines = [
        "| Measure | Nuvom (Redis) ÷ best Redis peer | Nuvom (SQLite) ÷ SqliteHuey "
        "| Nuvom (file) ÷ FileHuey |",
        "|---|---:|---:|---:|",
    ]
    for label, scenario, metric, best, variant in rows:
        peers = {p: value(data, p, scenario, metric) for p in REDIS_PEERS}
        known = {p: v for p, v in peers.items() if v}
        top = best(known, key=lambda p: known[p]) if known else None
        ours = value(data, f"nuvom-redis{variant}", scenario, metric)
        redis = ratio(ours, known.get(top)) if top else "—"
        redis += f" (vs {NAMES[top]})" if top and redis != "—" else ""
        same = [
            ratio(value(data, f"{nuvom}{variant}", scenario, metric), value(data, peer, scenario, metric))
            for peer, nuvom in PAIR.items()
        ]
        lines.append(f"| {label} | {redis} | {' | '.join(same)} |")
    return lines


def scale_table(data: Data) -> list[str]:
    n, big_n = f"{data['config']['jobs']:,}", f"{data['config']['scale']:,}"
    lines = [
        f"| Backend | drain {n} of a {n} backlog, jobs/s | first {n} of a {big_n} backlog, jobs/s "
        f"| big ÷ small | filling the {big_n} backlog, s |",
        "|---|---:|---:|---:|---:|",
    ]
    for system in ("nuvom-sqlite", "nuvom-redis"):
        small, big = value(data, system, "drain", "jobs_per_s"), value(data, system, "scale", "jobs_per_s")
        fill = value(data, system, "scale", "fill_s")
        lines.append(
            f"| {NAMES[system]} | {cell(data, system, 'drain', 'jobs_per_s')} | "
            f"{cell(data, system, 'scale', 'jobs_per_s')} | {ratio(big, small)} | "
            f"{_num(fill) if fill else '—'} |"
        )
    return lines


#: The performance targets: (what, Nuvom system, scenario, metric, peer or None, "min"/"max", bound).
#: A peer's target bounds Nuvom ÷ peer; without a peer the bound is on Nuvom's own figure.
TARGETS: list[tuple[str, str, str, str, str | None, str, float]] = [
    ("Redis drain ≥ 3x RedisHuey", "nuvom-redis", "drain", "jobs_per_s", "redishuey", "min", 3.0),
    ("Redis enqueue ≥ 1x RedisHuey", "nuvom-redis", "enqueue", "jobs_per_s", "redishuey", "min", 1.0),
    ("Redis p50 ≤ RedisHuey's", "nuvom-redis", "roundtrip", "p50_ms", "redishuey", "max", 1.0),
    ("Redis .map ≥ 50,000 jobs/s", "nuvom-redis", "bulk", "jobs_per_s", None, "min", 50_000),
    ("SQLite drain ≥ 2x SqliteHuey", "nuvom-sqlite", "drain", "jobs_per_s", "sqlitehuey", "min", 2.0),
    ("SQLite enqueue ≥ 1x SqliteHuey", "nuvom-sqlite", "enqueue", "jobs_per_s", "sqlitehuey", "min", 1.0),
    ("File drain ≥ 2,500 jobs/s", "nuvom-file", "drain", "jobs_per_s", None, "min", 2_500),
    ("File drain ≥ 8x FileHuey", "nuvom-file", "drain", "jobs_per_s", "filehuey", "min", 8.0),
    ("File p50 ≤ 3 ms", "nuvom-file", "roundtrip", "p50_ms", None, "max", 3.0),
]


def _target_row(what: str, ours: float | None, bound: str, met: bool | None, *, times: bool = True) -> str:
    verdict = "—" if met is None else "met" if met else "**missed**"
    shown = "—" if ours is None else f"{ours:.2f}x" if times else _num(ours)
    return f"| {what} | {shown} | {bound} | {verdict} |"


def targets_table(data: Data) -> list[str]:
    """Each performance target, the figure measured in this run (medians) and whether it holds."""
    lines = ["| Target | Measured | Bound | |", "|---|---:|---:|---|"]
    for what, system, scenario, metric, peer, kind, bound in TARGETS:
        ours = value(data, system, scenario, metric)
        if peer is not None:
            theirs = value(data, peer, scenario, metric)
            ours = ours / theirs if ours is not None and theirs else None
        met = None if ours is None else ours >= bound if kind == "min" else ours <= bound
        shown = f"{'≥' if kind == 'min' else '≤'} {_num(bound)}{'x' if peer else ''}"
        lines.append(_target_row(what, ours, shown, met, times=peer is not None))
    for backend in ("file", "sqlite", "redis"):  # the process pool within 20% of the thread pool
        threads = value(data, f"nuvom-{backend}", "drain", "jobs_per_s")
        procs = value(data, f"nuvom-{backend}-procs", "drain", "jobs_per_s")
        share = procs / threads if procs and threads else None
        met = None if share is None else share >= 0.8
        lines.append(_target_row(f"--pool processes drain, {backend} (÷ threads)", share, "≥ 0.80x", met))
    for backend in ("file", "sqlite", "redis"):  # flat from a small to a large backlog
        small = value(data, f"nuvom-{backend}", "small", "jobs_per_s_steady")
        large = value(data, f"nuvom-{backend}", "drain", "jobs_per_s_steady")
        share = large / small if large and small else None
        met = None if share is None else 0.8 <= share <= 1.2
        lines.append(
            _target_row(
                f"{backend}: drain rate of the large ÷ the small backlog", share, f"0.80{DASH}1.20x", met
            )
        )
    for backend in ("sqlite", "redis"):  # the first jobs of a huge backlog
        small = value(data, f"nuvom-{backend}", "drain", "jobs_per_s")
        big = value(data, f"nuvom-{backend}", "scale", "jobs_per_s")
        share = big / small if big and small else None
        met = None if share is None else share >= 0.9
        lines.append(_target_row(f"{backend}: scale ÷ drain", share, "≥ 0.90x", met))
    return lines


def limits_table(data: Data) -> list[str]:
    limits = data["limits"]
    p1, p16 = limits.get("redis_P1", {}), limits.get("redis_P16", {})
    sqlite = limits.get("sqlite_claim", {}).get("per_s")
    redis_drain = value(data, "nuvom-redis", "drain", "jobs_per_s_steady")
    sqlite_drain = value(data, "nuvom-sqlite", "drain", "jobs_per_s_steady")
    lines = ["| Raw limit | per second | Nuvom drain (from first done) as a fraction |", "|---|---:|---:|"]
    for name, rates in (("redis-benchmark LPUSH / RPOP", p1), ("redis-benchmark -P 16 LPUSH / RPOP", p16)):
        if rates:
            frac = f"{redis_drain / rates['rpop']:.1%} of RPOP" if redis_drain and rates.get("rpop") else "—"
            lines.append(f"| {name} | {rates.get('lpush', 0):,.0f} / {rates.get('rpop', 0):,.0f} | {frac} |")
    if sqlite:
        frac = f"{sqlite_drain / sqlite:.1%}" if sqlite_drain else "—"
        lines.append(f"| SQLite claim transaction (WAL, synchronous=NORMAL) | {sqlite:,.0f} | {frac} |")
    return lines


def markdown(data: Data) -> str:
    """The whole report: main table, headline ratios, scale, raw limits, errors."""
    config, meta = data["config"], data["meta"]
    done = max(
        (s["rounds"] for scenarios in data["results"].values() for k, s in scenarios.items() if k != "scale"),
        default=0,
    )
    rounds = f"{done} interleaved round(s)"
    if done < config["repeats"]:
        rounds = f"{done} of {config['repeats']} interleaved rounds (stopped early)"
    out = [
        f"Run of {meta['started']}: {config['jobs']:,} jobs, {config['round_trips']} round trips, "
        f"{rounds}, 2 slots; median (min{DASH}max) over the rounds. "
        f"Load average before {meta['load_before']}, after {meta['load_after']}; "
        f"took {meta['took_s']:.0f} s.",
        "",
        *main_table(data),
        "",
        "Ratios are Nuvom ÷ peer: above 1 is better for Nuvom in jobs/s rows, below 1 in ms rows.",
        "",
        *headline(data),
    ]
    if any(data["results"].get(s, {}).get("scale") for s in ("nuvom-sqlite", "nuvom-redis")):
        out += ["", f"Scale (backlog {config['scale']:,}, 1 round):", "", *scale_table(data)]
    out += ["", "Targets (medians of this run; ratios are Nuvom ÷ the peer):", "", *targets_table(data)]
    out += ["", *limits_table(data)]
    versions = ", ".join(f"{k} {v}" for k, v in meta["versions"].items())
    out += ["", f"Versions: {versions}. Python {meta['python']} on {meta['platform']}, {meta['cpus']} CPUs."]
    if config["skipped"]:
        out += ["", f"Skipped (not installed): {', '.join(config['skipped'])}."]
    if data["errors"]:
        out += ["", "Failed measurements:", ""]
        for label, msg in data["errors"].items():
            out.append(f"- `{label}`: {msg.splitlines()[-1] if msg else ''}")
    return "\n".join(out) + "\n"
