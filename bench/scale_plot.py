"""Draw how each figure of bench/scale.py grows with the number of hosts N, as one PNG with a panel
per figure and issue 13's goal line (port-ready p95 = 1 s) on the ready-time panel.

    .venv/bin/python bench/scale_plot.py bench/out/scale/results.json   # -> scale.png beside it

matplotlib runs headless (the Agg backend); it is in the test extras of pyproject.toml.
"""

from __future__ import annotations

import json
import sys
from pathlib import Path

import matplotlib

matplotlib.use("Agg")  # no display on a CI machine or a server
import matplotlib.pyplot as plt  # noqa: E402 - after the backend is chosen

GOAL_P95_S = 1.0
# (title, unit, [(result key, label)]) per panel
PANELS = (
    ("port ready (API create -> ovn-installed)", "s", [("p50", "p50"), ("p95", "p95"), ("p99", "p99")]),
    ("throughput", "per s", [("create_rate", "API creates"), ("ready_per_s", "ports ready")]),
    ("ovn-northd loop", "ms", [("northd_p95_ms", "p95"), ("northd_max_ms", "max")]),
    ("ovnet loops, one round each", "ms", [("agent_reconcile_ms", "an agent's reconcile"),
                                            ("nb_apply_ms", "syncer NB apply (mean)")]),
    ("memory", "MiB", [("nb_mb", "NB leader"), ("sb_mb", "SB leader"), ("chassis_mb", "per chassis")]),
    ("wall time", "s", [("wall_s", "whole run"), ("load_s", "load phase"), ("up_s", "start-up")]),
)


def plot(rows: list[dict], path: Path) -> Path:
    """Write the PNG of ``rows`` (bench/scale.py results, one per N) to ``path``; returns ``path``."""
    rows = [{**r, "nb_apply_ms": r.get("server_mean_s", {}).get("NB apply (syncer)", 0) * 1000}
            for r in sorted(rows, key=lambda r: r["hosts"])]
    hosts = [r["hosts"] for r in rows]
    fig, axes = plt.subplots(2, 3, figsize=(14, 8))
    for ax, (title, unit, series) in zip(axes.flat, PANELS):
        for key, label in series:
            ax.plot(hosts, [r[key] for r in rows], marker="o", label=label)
        if series[0][0] == "p50":
            ax.axhline(GOAL_P95_S, color="red", linestyle="--", label="goal: p95 = 1 s")
        ax.set_title(title, fontsize=10)
        ax.set_xlabel("hosts N")
        ax.set_ylabel(unit)
        ax.set_xticks(hosts)
        ax.set_ylim(bottom=0)
        ax.grid(alpha=0.3)
        ax.legend(fontsize=8)
    per_host = sorted({r["per_host"] for r in rows})
    load = ", ".join(f"{r['loadavg'][0]:.1f}" for r in rows)
    fig.suptitle(f"ovnet scale: N hosts x P = {'/'.join(map(str, per_host))} ports, "
                 f"{rows[0]['clients']} clients, 3-member central (load average per run: {load})", fontsize=11)
    fig.tight_layout()
    fig.savefig(path, dpi=90)
    plt.close(fig)
    return path


def main() -> None:
    results = Path(sys.argv[1] if len(sys.argv) > 1 else "bench/out/scale/results.json")
    print(plot(json.loads(results.read_text()), results.with_name("scale.png")))


if __name__ == "__main__":
    main()
