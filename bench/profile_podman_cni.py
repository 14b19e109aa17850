"""Where a whole `podman run --rm busybox true` spends its time, on an ovnet network and on the
reference bridge + host-local: every program the run starts (podman, conmon, runc, the CNI
plugins, a `podman container cleanup`), when it starts and ends, from the kernel's own scheduler
events (`perf record -a -e sched:sched_process_{fork,exec,exit} -k monotonic`), so nothing is
slowed down the way ptrace slows a Go program.

The set-up is bench_cni's (ovnet.testbed.podman, a private all-in-one). ``--runs`` runs per
network, alternating. Printed, per network: one run's timeline (the run of median wall time),
and per step (a program's n-th start within a run, e.g. ``ovnet #3``) the median start and
duration, in ms from the moment `podman run` was started. A CNI plugin's verb is not in these
events; within a run podman calls VERSION (short) to every plugin of every network it loads,
then ADD, then DEL, which the timeline's order and durations tell apart.

    .venv/bin/python bench/profile_podman_cni.py [--runs 10]
"""

from __future__ import annotations

import argparse
import os
import re
import signal
import statistics
import subprocess
import tempfile
import time
from collections import defaultdict
from dataclasses import dataclass, field
from pathlib import Path

from bench_cni import bed  # bench/ is the script's own dir on sys.path

# perf script -F tid,time,event,trace: "  1234 23177.912914: sched:sched_process_exec: filename=..."
# bench_cni's networks: ovnet with a pool of ready ports (refilled 1 s after a take, within the
# other two networks' runs), without, and the reference.
KEYS = ("ovnet-pool", "ovnet", "bridge")
EVENT = re.compile(r"^\s*(\d+)\s+([\d.]+):\s+sched:(sched_process_\w+):\s+(.*)$")


@dataclass
class Proc:
    """One program a run started: ``name`` (its exec'd file's base name), start and end in
    seconds on CLOCK_MONOTONIC (end None when its exit was not seen)."""

    name: str
    start: float
    end: float | None = None


@dataclass
class Run:
    """One `podman run`: which network, its pid and wall-clock span (monotonic seconds)."""

    key: str
    pid: int
    start: float
    end: float
    procs: list[Proc] = field(default_factory=list)


def parse(perf_data: Path, runs: list[Run]) -> None:
    """Fill each run's ``procs`` from the events in ``perf_data``: every task forked from the
    run's podman (threads included, so that a fork from any Go thread counts), every exec among
    them, and the exit of each exec'd one."""
    text = subprocess.run(["perf", "script", "-i", str(perf_data), "-F", "tid,time,event,trace"],
                          capture_output=True, text=True, check=True).stdout
    owner: dict[int, Run] = {r.pid: r for r in runs}
    current: dict[int, Proc] = {}  # tid -> the program it runs (exec'd by it or an ancestor thread)
    for line in text.splitlines():
        match = EVENT.match(line)
        if not match:
            continue
        tid, stamp, kind, rest = int(match[1]), float(match[2]), match[3], match[4]
        fields = dict(f.split("=", 1) for f in rest.split() if "=" in f)
        if kind == "sched_process_fork":
            child = int(fields["child_pid"])
            if tid in owner:
                owner[child] = owner[tid]
        elif kind == "sched_process_exec" and tid in owner:
            proc = Proc(Path(fields["filename"]).name, stamp)
            owner[tid].procs.append(proc)
            current[tid] = proc
        elif kind == "sched_process_exit":
            owner.pop(tid, None)  # its tid may be reused by a process of no run
            if tid in current:
                current.pop(tid).end = stamp


def steps(run: Run) -> dict[str, Proc]:
    """The run's programs as "<name> #<n>" (the n-th start of that program) -> Proc."""
    seen: dict[str, int] = defaultdict(int)
    named = {}
    for proc in sorted(run.procs, key=lambda p: p.start):
        seen[proc.name] += 1
        named[f"{proc.name} #{seen[proc.name]}"] = proc
    return named


def report(key: str, runs: list[Run]) -> None:
    walls = [r.end - r.start for r in runs]
    typical = sorted(runs, key=lambda r: r.end - r.start)[len(runs) // 2]
    print(f"\n== {key}: {len(runs)} runs, wall median {statistics.median(walls) * 1000:.1f} ms")
    print(f"   a typical run (wall {(typical.end - typical.start) * 1000:.1f} ms), ms from `podman run` started:")
    for name, proc in steps(typical).items():
        end = f"{(proc.end - typical.start) * 1000:8.1f}" if proc.end else "       ?"
        took = f"{(proc.end - proc.start) * 1000:7.1f}" if proc.end else "      ?"
        print(f"   {name:<22} {(proc.start - typical.start) * 1000:8.1f} -> {end}  ({took})")
    table: dict[str, list[tuple[float, float]]] = defaultdict(list)
    for run in runs:
        for name, proc in steps(run).items():
            if proc.end:
                table[name].append((proc.start - run.start, proc.end - proc.start))
    print(f"   {'step (in how many runs)':<30} {'start p50':>9} {'took p50':>9} {'took p95':>9}")
    for name, values in sorted(table.items(), key=lambda kv: statistics.median(v[0] for v in kv[1])):
        took = sorted(v[1] for v in values)
        print(f"   {name + f' ({len(values)})':<30} {statistics.median(v[0] for v in values) * 1000:>9.1f} "
              f"{statistics.median(took) * 1000:>9.1f} {took[min(len(took) - 1, round(0.95 * len(took)))] * 1000:>9.1f}")


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--runs", type=int, default=10, help="podman runs per network")
    args = parser.parse_args()
    load_start = os.getloadavg()
    runs: list[Run] = []
    with bed("prof-podman") as b, tempfile.TemporaryDirectory(prefix="ovnet-prof-perf-") as tmp:
        perf_data = Path(tmp) / "perf.data"
        for key in KEYS:  # warm caches (and make the pool), not counted
            b.podman.podman("run", "--rm", "--network", b.names[key], "localhost/bb", "true")
        perf = subprocess.Popen(["perf", "record", "-q", "-a", "-k", "monotonic", "-o", str(perf_data),
                                 "-e", "sched:sched_process_fork", "-e", "sched:sched_process_exec",
                                 "-e", "sched:sched_process_exit"], stdout=subprocess.DEVNULL)
        try:
            time.sleep(1.0)  # perf's set-up
            for i in range(args.runs):
                for key in KEYS[i % 3:] + KEYS[:i % 3]:
                    argv = b.podman.argv("run", "--rm", "--network", b.names[key], "localhost/bb", "true")
                    started = time.monotonic()
                    proc = subprocess.Popen(argv, env=b.podman.env, stdout=subprocess.DEVNULL)
                    if proc.wait(timeout=120) != 0:
                        raise RuntimeError(f"podman run on {key} failed")
                    runs.append(Run(key, proc.pid, started, time.monotonic()))
            time.sleep(0.5)  # a clean-up process still running after podman returned is seen
        finally:
            perf.send_signal(signal.SIGINT)
            perf.wait(timeout=60)
        parse(perf_data, runs)
    for key in KEYS:
        report(key, [r for r in runs if r.key == key])
    print(f"\nload average (1, 5, 15 min) at the start {', '.join(f'{v:.1f}' for v in load_start)}, "
          f"at the end {', '.join(f'{v:.1f}' for v in os.getloadavg())}")


if __name__ == "__main__":
    main()
