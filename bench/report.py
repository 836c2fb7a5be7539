"""The markdown table of a bench run, from the results dict that ``run.py`` writes as JSON."""

from __future__ import annotations

from collections.abc import Callable
from typing import Any

PEERS = [("filehuey", "FileHuey"), ("sqlitehuey", "SqliteHuey")]

Row = tuple[str, Callable[[dict[str, Any]], float | None], str, str]


def _get(*path: str) -> Callable[[dict[str, Any]], float | None]:
    def read(system: dict[str, Any]) -> float | None:
        value: Any = system
        for key in path:
            if not isinstance(value, dict) or key not in value:
                return None
            value = value[key]
        return value if isinstance(value, (int, float)) else None

    return read


def _flatness(system: dict[str, Any]) -> float | None:
    big, small = (
        _get("drain", "jobs_per_s_from_ready")(system),
        _get("drain_small", "jobs_per_s_from_ready")(system),
    )
    return big / small if big and small else None


def _fmt(value: float | None, unit: str) -> str:
    if value is None:
        return "—"
    if unit == "x":
        return f"{value:.2f}"
    if unit in ("ms", "s"):
        return f"{value:.1f}" if value >= 10 else f"{value:.2f}"
    if unit == "%":
        return f"{value:.1f}"
    return f"{value:,.0f}"


def _ratio(ours: float | None, theirs: float | None) -> str:
    if ours is None or theirs is None:
        return "—"
    if theirs == 0:
        return "n/a (peer 0)" if ours else "—"
    return f"{ours / theirs:.2f}x"


def rows(config: dict[str, Any]) -> list[Row]:
    n, small, trips = f"{config['jobs']:,}", f"{config['small_backlog']:,}", config["round_trips"]
    return [
        (f"(a) enqueue {n} one by one (`.delay()`), jobs/s", _get("enqueue", "jobs_per_s"), "n", "↑"),
        (f"(b) enqueue {n} with one `.map()`, jobs/s", _get("map", "jobs_per_s"), "n", "↑"),
        (f"(c) drain {n}, 2 slots, jobs/s (from worker spawn)", _get("drain", "jobs_per_s"), "n", "↑"),
        (f"(c) drain {n}: wall time from spawn, s", _get("drain", "wall_s"), "s", "↓"),
        ("(c) worker startup (spawn → ready line), s", _get("drain", "startup_s"), "s", "↓"),
        ("(c) worker CPU time (whole process, incl. startup), s", _get("drain", "cpu_s"), "s", "↓"),
        ("(c) worker CPU per job after startup, µs", _get("drain", "cpu_us_per_job"), "n", "↓"),
        (
            f"(d) drain {small} backlog, jobs/s from ready",
            _get("drain_small", "jobs_per_s_from_ready"),
            "n",
            "↑",
        ),
        (f"(d) drain {n} backlog, jobs/s from ready", _get("drain", "jobs_per_s_from_ready"), "n", "↑"),
        (f"(d) flatness: {n}-backlog rate / {small}-backlog rate", _flatness, "x", "≈1"),
        (f"(e) round trip p50, ms ({trips} sequential, idle worker)", _get("roundtrip", "p50_ms"), "ms", "↓"),
        (f"(e) round trip p99, ms ({trips} sequential, idle worker)", _get("roundtrip", "p99_ms"), "ms", "↓"),
        (
            f"(f) idle worker CPU, % of one core ({config['idle_secs']:g} s)",
            _get("idle", "cpu_pct"),
            "%",
            "↓",
        ),
    ]


def markdown(data: dict[str, Any]) -> str:
    config, meta, results = data["config"], data["meta"], data["results"]
    ours = results.get("nuvom", {})
    head = ["Measure", "better", "Nuvom (file)"]
    for _, label in PEERS:
        head += [label, f"Nuvom / {label}"]
    lines = [
        f"## Nuvom benchmark — {config['mode']} run",
        "",
        f"{meta['started']} · Python {meta['python']} · {meta['cpus']} CPUs · nuvom {meta['nuvom']} · "
        f"huey {meta['huey']} · temp dir on {meta['tmp_fs']} · took {meta['took_s']:.0f} s · "
        f"nuvom source sha256 {meta['nuvom_source_sha256']} (newest file {meta['nuvom_source_newest_file']})",
        "",
        "| " + " | ".join(head) + " |",
        "|" + "|".join(["---", ":-:"] + ["---:"] * (len(head) - 2)) + "|",
    ]
    for label, read, unit, better in rows(config):
        cells = [label, better, _fmt(read(ours), unit)]
        for key, _ in PEERS:
            peer = results.get(key, {})
            cells += [_fmt(read(peer), unit), _ratio(read(ours), read(peer))]
        lines.append("| " + " | ".join(cells) + " |")

    fast = [(label, results.get(f"{key}_fastpoll", {}).get("roundtrip", {})) for key, label in PEERS]
    if any(f for _, f in fast):
        lines += [
            "",
            "Extra, not Huey's defaults: Huey with polling lowered to Nuvom's 10 ms "
            "(consumer `-d 0.01 -m 0.01 -b 1.0`, client `get(max_delay=0.01)`):",
            "",
            "| Measure | Nuvom (file) | "
            + " | ".join(f"{label} 10 ms | Nuvom / it" for label, _ in fast)
            + " |",
            "|---|---:|" + "---:|---:|" * len(fast),
        ]
        for pct in ("p50_ms", "p99_ms"):
            mine = _get("roundtrip", pct)(ours)
            cells = [f"(e) round trip {pct[:3]}, ms", _fmt(mine, "ms")]
            for _, f in fast:
                theirs = f.get(pct)
                cells += [_fmt(theirs, "ms"), _ratio(mine, theirs)]
            lines.append("| " + " | ".join(cells) + " |")

    lines += ["", *[f"- {note}" for note in data["notes"]]]
    if data.get("errors"):
        lines += ["", "**Errors:**", ""]
        lines += [
            f"- `{name}`: {error.splitlines()[0] if error else ''}" for name, error in data["errors"].items()
        ]
    return "\n".join(lines) + "\n"
