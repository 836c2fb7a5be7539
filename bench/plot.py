"""The drain plot: jobs/s per system, median with min-max whiskers (matplotlib, PNG)."""

from __future__ import annotations

from pathlib import Path
from typing import Any

from report import NAMES


def plot_drain(data: dict[str, Any], path: Path) -> None:
    """Horizontal bars of (c) drain jobs/s from worker spawn, Nuvom in one colour and peers in another."""
    import matplotlib

    matplotlib.use("Agg")
    import matplotlib.pyplot as plt

    results = data["results"]
    found = [(s, results.get(s, {}).get("drain", {}).get("jobs_per_s")) for s in data["config"]["systems"]]
    rows = [(s, m) for s, m in found if m][::-1]
    if not rows:
        return  # no drain measured yet
    medians = [m["median"] for _, m in rows]
    errors = [[m["median"] - m["min"] for _, m in rows], [m["max"] - m["median"] for _, m in rows]]
    colours = ["#2a7ab0" if s.startswith("nuvom") else "#b0b0b0" for s, _ in rows]
    fig, ax = plt.subplots(figsize=(8, 0.45 * len(rows) + 1.2))
    ax.barh([NAMES[s] for s, _ in rows], medians, xerr=errors, color=colours, capsize=3)
    config = data["config"]
    rounds = max(results[s]["drain"]["rounds"] for s, _ in rows)
    shown = f"median of {rounds} rounds" if rounds > 1 else "1 round"
    ax.set_xlabel(f"jobs/s (drain {config['jobs']:,} no-op jobs, 2 slots; {shown})")
    meta = data["meta"]
    load = meta["load_before"].split()[0]
    ax.set_title(f"Drain rate, {meta['started'][:10]}, {meta['cpus']} CPUs, load average {load} before")
    for y, (median, (_, m)) in enumerate(zip(medians, rows)):
        ax.text(m["max"], y, f"  {median:,.0f}", va="center", fontsize=8)  # right of the whisker
    fig.tight_layout()
    path.parent.mkdir(parents=True, exist_ok=True)
    fig.savefig(path, dpi=110)
    plt.close(fig)
