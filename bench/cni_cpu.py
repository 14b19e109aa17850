"""CNI: CPU time ovnet's control plane spends per `podman run --rm`, per network, against the run's
own wall time; what a loaded machine's other work competes with.

bench_cni's set-up (a private all-in-one, its ovnet network installed with a pool of ``--pool``
ready ports and without, the reference bridge + host-local, a private Podman). For each of the
three networks in turn (the reference beside the pool-less ovnet network, as bench_cni runs it),
``--runs`` runs of ``podman run --rm --network <net> localhost/bb true``, one at a time: the pool
is full, the CPU time (user + system, all threads, /proc/<pid>/stat) of each all-in-one service
is read, the run, the pool full again (a take is refilled 1 s later), ``--settle`` seconds (the
agent's work after DEL, the syncer's, OVN's), and the CPU time is read again. The pool is read
every 0.5 s meanwhile, which costs the API server a little in every row. Printed per network:
the median wall time and each service's mean CPU ms per run (under 1 ms left out); then the
services' CPU over an idle interval as long as a mean run's (their own timers, no pool reads).

    .venv/bin/python bench/cni_cpu.py [--runs 15] [--pool 4] [--settle 1.5]
"""

from __future__ import annotations

import argparse
import os
import statistics
import time
from pathlib import Path

from bench_cni import bed, pool_full, timed_run  # bench/ is the script's own dir on sys.path
from ovnet.apiclient import ApiClient
from ovnet.runtime import allinone

TICK_S = 1 / os.sysconf("SC_CLK_TCK")
POLL_S = 0.5  # pool reads between runs: each costs the API server CPU, counted in the rows


def cpu_seconds(pid: int) -> float:
    """User + system CPU seconds of process ``pid``, its threads' that exited included (proc(5):
    /proc/<pid>/stat fields 14, 15; a sum over /proc/<pid>/task would lose those)."""
    fields = Path(f"/proc/{pid}/stat").read_text().rsplit(")", 1)[1].split()
    return (int(fields[11]) + int(fields[12])) * TICK_S


def snapshot(pids: dict[str, int]) -> dict[str, float]:
    return {name: cpu_seconds(pid) for name, pid in pids.items()}


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0].replace("\n", " "))
    parser.add_argument("--runs", type=int, default=15, help="podman runs per network")
    parser.add_argument("--pool", type=int, default=4, help="ready ports of the ovnet-pool network")
    parser.add_argument("--settle", type=float, default=1.5, help="seconds after each run before CPU is read")
    args = parser.parse_args()
    load_start = os.getloadavg()
    rows: dict[str, tuple[list[float], dict[str, list[float]]]] = {}
    with bed("cni-cpu", args.pool) as b, ApiClient.from_settings(b.settings) as api:
        pids = {s.name: pid for s in allinone.services(b.settings) if (pid := s.pid())}

        def full() -> None:
            pool_full(api, b.network["id"], args.pool, poll_s=POLL_S)

        for key in ("ovnet-pool", "ovnet", "bridge"):
            b.only("ovnet-pool" if key == "ovnet-pool" else "ovnet")
            timed_run(b.podman, b.names[key])  # warm caches, not counted
            walls, spent = rows[key] = ([], {name: [] for name in pids})
            for _ in range(args.runs):
                full()
                before = snapshot(pids)
                walls.append(timed_run(b.podman, b.names[key]))
                full()
                time.sleep(args.settle)
                after = snapshot(pids)
                for name in pids:
                    spent[name].append(after[name] - before[name])
        interval = statistics.mean(w for walls, _ in rows.values() for w in walls) + args.settle
        idle_before = snapshot(pids)
        time.sleep(interval)
        idle_after = snapshot(pids)
    print(f"CPU ms per run by service (mean of {args.runs}), wall medians in ms")
    for key, (walls, spent) in rows.items():
        print(f"== {key}: wall median {statistics.median(walls) * 1000:.0f}")
        for name, values in spent.items():
            if statistics.mean(values) >= 0.001:
                print(f"   {name:<24} {statistics.mean(values) * 1000:7.1f}")
        print(f"   {'all services':<24} {sum(statistics.mean(v) for v in spent.values()) * 1000:7.1f}")
    idle = {name: idle_after[name] - idle_before[name] for name in idle_before}
    print(f"== idle, {interval:.1f} s (a run's mean interval): all services "
          f"{sum(idle.values()) * 1000:.1f} ms CPU")
    print(f"load average (1, 5, 15 min) at the start {', '.join(f'{v:.1f}' for v in load_start)}, "
          f"at the end {', '.join(f'{v:.1f}' for v in os.getloadavg())}")


if __name__ == "__main__":
    main()
