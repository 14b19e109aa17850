"""Many hypervisors on this machine against a 3-member clustered central (issue 13).

For each N in ``--hosts``: `ovnet up --role central --cluster-size 3` and N `--role compute` hosts
(each a network namespace with its own ovsdb-server, ovs-vswitchd, ovn-controller and agent, Geneve
over a private underlay; tests/helpers/roles.py), then ``--clients`` threads create N x P ports
through the API and bind each on its host with that host's agent (a veth into one workload
namespace per host). Reported per N:

- port-ready p50/p95/p99: API create sent -> the agent's bind returned (ovn-installed on its chassis);
- API create rate: ports created per second, all clients together (clients / mean create time);
  the create's own p50 (API create -> answer, which waits for NB to confirm) beside port-ready;
- northd loop: the active ovn-northd's ``stopwatch/show ovnnb_db_run`` (95th percentile and maximum);
- NB and SB memory: RSS of each cluster's leader; memory per chassis: RSS of a compute's four
  processes, averaged over the hosts;
- wall: the whole run, start-up of every daemon included.

- stages: where the ready time goes, each stage's p50/p95 seconds after the create was sent
  (API answer, then bench/stages.py's NB/SB stages, then the bind's answer);
- throughput: ports ready per second over the load phase (what the system sustains; with 8 clients
  in a closed loop, a port's ready time includes the wait behind the other 7).

The create asks for no NB confirmation (``X-Ovnet-Sync: nowait``) unless ``--create-waits``: the
ready time ends at ``ovn-installed``, which NB must have reached anyway. Results go to ``--out``
(results.json, table.md; bench/scale_plot.py draws scale.png from them).

    .venv/bin/python bench/scale.py --hosts 5 10 20 --ports-per-host 100 --create-bound  # DESIGN.md's table

Goal (issue 13) on this 2-core machine: N = 20, P = 100 (2,000 bound ports) with p95 <= 1 s.
"""

from __future__ import annotations

import argparse
import json
import os
import re
import secrets
import statistics
import sys
import tempfile
import threading
import time
from pathlib import Path

import httpx
from pyroute2 import netns

sys.path.insert(0, str(Path(__file__).resolve().parent.parent))
from stages import StageWatch  # noqa: E402 - bench/ is the script's own dir on sys.path
from ovnet.apiclient import ApiClient  # noqa: E402
from ovnet.host.agentclient import AgentClient  # noqa: E402
from ovnet.runtime import allinone, cluster  # noqa: E402
from ovnet.runtime.process import RuntimeFailure, run  # noqa: E402
from tests.helpers.roles import running_roles  # noqa: E402

GOAL_P95_S = 1.0
# Stages in about the order a port passes them: the API's answer; NB and SB have the port
# (stages.py); the agent's bind_host call answered and the veth plugged (the bind's own "stages");
# ovn-controller claimed and installed it; the bind answered; then NB and SB have the requested
# chassis, which the bind does not wait for (ovn-controller claims a port whose interface it sees
# before then).
TIMELINE = ("created", "nb", "sb", "bound", "plugged", "claim", "up", "ready", "nb_req", "sb_req")


def rss_mb(pid: int | None) -> float:
    """Resident memory of ``pid`` in MiB (0 when it is gone)."""
    try:
        text = Path(f"/proc/{pid}/status").read_text()
    except (FileNotFoundError, TypeError):
        return 0.0
    return int(re.search(r"VmRSS:\s+(\d+)", text).group(1)) / 1024


def percentile(values: list[float], q: float) -> float:
    """The ``q``-th percentile (nearest rank) of ``values``; 0 for none."""
    if not values:
        return 0.0
    ordered = sorted(values)
    return ordered[min(len(ordered) - 1, int(round(q / 100 * (len(ordered) - 1))))]


def leader_rss(central, db: str) -> float:
    for member in cluster.members(central):
        try:
            if cluster.is_leader(member, db):
                svc = cluster.member_services(central, member)[0 if db == "nb" else 1]
                return rss_mb(svc.pid())
        except RuntimeFailure:
            continue
    return 0.0


def northd_loop_ms(central) -> tuple[float, float]:
    """(95th percentile, maximum) of the active northd's ovnnb_db_run loop, in ms."""
    for member in cluster.members(central):
        ctl = str(member.ctl("ovn-northd"))
        if "active" in run(["ovn-appctl", "-t", ctl, "status"], timeout=5):
            out = run(["ovn-appctl", "-t", ctl, "stopwatch/show", "ovnnb_db_run"], timeout=5)
            p95 = re.search(r"95th percentile:\s+([\d.]+)", out)
            peak = re.search(r"Maximum:\s+([\d.]+)", out)
            return float(p95.group(1)) if p95 else 0.0, float(peak.group(1)) if peak else 0.0
    return 0.0, 0.0


def server_means(central) -> dict[str, float]:
    """Mean seconds ovnet-server spent per request of each route the run uses, and per NB apply
    of the syncer, from its ``/metrics`` (what the server itself costs, without the queue before it)."""
    text = httpx.get(f"{central.api_endpoints[0]}/metrics", timeout=10).text
    sums: dict[str, list[float]] = {}
    for line in text.splitlines():
        request = re.match(r'ovnet_api_request_duration_seconds_(sum|count)\{method="(\w+)",route="([^"]+)"', line)
        apply = re.match(r"ovnet_nb_apply_duration_seconds_(sum|count) ", line)
        if request:
            kind, name = request.group(1), f"{request.group(2)} {request.group(3)}"
        elif apply:
            kind, name = apply.group(1), "NB apply (syncer)"
        else:
            continue
        sums.setdefault(name, [0.0, 0.0])[0 if kind == "sum" else 1] += float(line.split()[-1])
    return {name: round(s / n, 4) for name, (s, n) in sums.items() if n}


def agent_reconcile_ms(compute, rounds: int = 3) -> float:
    """Median milliseconds of one full reconcile (API list of the host's ports, OVS, links, the
    workload ends' converge) of ``compute``'s agent, asked for ``rounds`` times: the cost of the
    agent's periodic loop with P ports on its host."""
    took = []
    with AgentClient(compute.agent_socket, timeout_s=120) as agent:
        for _ in range(rounds):
            started = time.monotonic()
            agent.reconcile()
            took.append((time.monotonic() - started) * 1000)
    return statistics.median(took)


def stage_table(ports: dict[str, dict[str, float]]) -> dict[str, dict[str, float]]:
    """{stage: {"p50", "p95", "n"}}: seconds from each port's create sent to each stage of
    TIMELINE it reached."""
    out = {}
    for stage in TIMELINE:
        deltas = [t[stage] - t["sent"] for t in ports.values() if stage in t and "ready" in t]
        out[stage] = {"p50": percentile(deltas, 50), "p95": percentile(deltas, 95), "n": len(deltas)}
    return out


def one_run(hosts: int, per_host: int, clients: int, create_waits: bool, rate: float | None = None,
            create_bound: bool = False) -> dict:
    """Build N = ``hosts`` computes, create and bind ``hosts`` x ``per_host`` ports with ``clients``
    threads, and return the figures (see the module's docstring). With ``rate`` (ports per second)
    the load is an open loop: port i is due at i / rate seconds and its ready time counts from then,
    even when every client was busy (so a queue shows instead of hiding); without, each client
    sends its next port as soon as its last one is ready (closed loop). ``create_bound``: the create
    already names the host (``binding:host_id``, as ovnet's CNI and Docker front-ends do), so the
    agent's bind finds it bound and writes nothing; else the bind binds it (as Nova does)."""
    started = time.monotonic()
    with tempfile.TemporaryDirectory(prefix="ovnet-scale-") as tmp, \
            running_roles(Path(tmp), computes=hosts, cluster_size=3) as (central, computes):
        up_s = time.monotonic() - started
        spaces = [f"ovsc-{secrets.token_hex(3)}" for _ in computes]
        watch = StageWatch(central.nb_connection, central.sb_connection)
        try:
            for name in spaces:
                netns.create(name)
            with ApiClient.from_settings(central) as api:
                network = api.create_network(name="scale")
                subnet = api.create_subnet(network_id=network["id"], cidr="10.200.0.0/16", ip_version=4)
            watch.start()
            jobs = [(h, k) for k in range(per_host) for h in range(hosts)][::-1]  # popped from the end
            lock = threading.Lock()
            ports: dict[str, dict[str, float]] = {}
            issued: list[tuple[int, int]] = []
            errors: list[str] = []

            def work() -> None:
                with ApiClient.from_settings(central) as client:
                    while True:
                        with lock:
                            if not jobs:
                                break
                            due = load_started + len(issued) / rate if rate else None
                            issued.append(jobs.pop())
                            h, k = issued[-1]
                        if due is not None:
                            time.sleep(max(0.0, due - time.monotonic()))
                        times = {"sent": due if due is not None else time.monotonic()}
                        step = "create"
                        try:
                            host = {"binding:host_id": computes[h].chassis_name} if create_bound else {}
                            port = client.create_port(wait=create_waits, network_id=network["id"],
                                                      fixed_ips=[{"subnet_id": subnet["id"]}], **host)
                            times["created"] = time.monotonic()
                            with lock:
                                ports[port["id"]] = times
                            step = "bind"
                            # A connection per bind, as a CNI plugin or a compute service makes: a
                            # kept one idle past the agent's keep-alive may be closed under the request.
                            with AgentClient(computes[h].agent_socket, timeout_s=120) as agent:
                                done = agent.bind(port["id"], "veth", spaces[h], ifname=f"p{k}")
                            times["ready"] = time.monotonic()
                            times["plugged"] = times["ready"] - done["stages"]["installed"]
                            times["bound"] = times["plugged"] - done["stages"]["plug"]
                            times["agent_s"], times["bind_s"] = done["ready_s"], done["stages"]["bind"]
                        except Exception as exc:  # noqa: BLE001 - a bench reports failures, it does not stop
                            with lock:
                                errors.append(f"{step}: {type(exc).__name__}: {exc}")

            load_started = time.monotonic()  # read by the clients (open loop: the schedule's origin)
            threads = [threading.Thread(target=work) for _ in range(clients)]
            for thread in threads:
                thread.start()
            for thread in threads:
                thread.join()
            load_s = time.monotonic() - load_started
            time.sleep(0.5)  # the watch's last SB updates
            for port_id, seen in list(watch.times.items()):
                if port_id in ports:
                    ports[port_id].update(seen)
            ready = [t["ready"] - t["sent"] for t in ports.values() if "ready" in t]
            creates = [t["created"] - t["sent"] for t in ports.values() if "ready" in t]
            loop_p95, loop_max = northd_loop_ms(central)
            server = server_means(central)
            reconcile_ms = agent_reconcile_ms(computes[0])
            chassis_mb = statistics.mean(sum(rss_mb(s.pid()) for s in allinone.services(c)) for c in computes)
            return {"hosts": hosts, "per_host": per_host, "clients": clients, "rate": rate,
                    "create_waits": create_waits, "create_bound": create_bound,
                    "ports": len(ready), "errors": len(errors), "first_error": errors[:1],
                    "p50": percentile(ready, 50), "p95": percentile(ready, 95), "p99": percentile(ready, 99),
                    "create_p50": percentile(creates, 50),
                    "create_rate": len(creates) / sum(creates) * clients if creates else 0.0,
                    "ready_per_s": len(ready) / load_s, "stages": stage_table(ports), "server_mean_s": server,
                    "agent_reconcile_ms": reconcile_ms,
                    "northd_p95_ms": loop_p95, "northd_max_ms": loop_max,
                    "nb_mb": leader_rss(central, "nb"), "sb_mb": leader_rss(central, "sb"),
                    "chassis_mb": chassis_mb, "up_s": up_s, "load_s": load_s,
                    "wall_s": time.monotonic() - started, "loadavg": os.getloadavg()}
        finally:
            watch.stop()
            present = set(netns.listnetns())
            for name in spaces:
                if name in present:
                    netns.remove(name)


def mode(row: dict) -> str:
    """How the load was offered: "8 closed" (clients in a closed loop) or "32 @ 6/s" (open loop)."""
    offered = f"{row['clients']} @ {row['rate']:g}/s" if row.get("rate") else f"{row['clients']} closed"
    return offered + (", created bound" if row.get("create_bound") else "")


def table(rows: list[dict]) -> str:
    """The figures of ``rows`` (one_run results) as two Markdown tables: the issue's, and the stages."""
    lines = ["| N | offered | ports | errors | ready p50 / p95 / p99 (s) | create p50 (s) | API creates/s | ready/s | "
             "northd loop p95 / max (ms) | NB / SB leader RSS (MiB) | MiB per chassis | agent reconcile (ms) | "
             "syncer NB apply (ms) | start-up (s) | wall (s) | load 1/5 min |",
             "|---|---|---|---|---|---|---|---|---|---|---|---|---|---|---|---|"]
    for r in rows:
        lines.append(
            f"| {r['hosts']} | {mode(r)} | {r['ports']} | {r['errors']} | "
            f"{r['p50']:.2f} / {r['p95']:.2f} / {r['p99']:.2f} | "
            f"{r['create_p50']:.2f} | {r['create_rate']:.1f} | {r['ready_per_s']:.1f} | "
            f"{r['northd_p95_ms']:.0f} / {r['northd_max_ms']:.0f} | {r['nb_mb']:.0f} / {r['sb_mb']:.0f} | "
            f"{r['chassis_mb']:.0f} | {r['agent_reconcile_ms']:.0f} | "
            f"{r['server_mean_s'].get('NB apply (syncer)', 0) * 1000:.0f} | {r['up_s']:.0f} | {r['wall_s']:.0f} | "
            f"{r['loadavg'][0]:.1f} / {r['loadavg'][1]:.1f} |")
    lines += ["", "Seconds from create sent to each stage, p50 / p95:", "",
              "| N | " + " | ".join(TIMELINE) + " |", "|---|" + "---|" * len(TIMELINE)]
    for r in rows:
        lines.append(f"| {r['hosts']} | " + " | ".join(
            f"{r['stages'][s]['p50']:.2f} / {r['stages'][s]['p95']:.2f}" for s in TIMELINE) + " |")
    lines.append(f"\ngoal: N = 20, P = 100, ready p95 <= {GOAL_P95_S:g} s")
    return "\n".join(lines)


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--hosts", type=int, nargs="+", default=[5, 10])
    parser.add_argument("--ports-per-host", type=int, default=20)
    parser.add_argument("--clients", type=int, default=8)
    parser.add_argument("--rate", type=float, default=None,
                        help="open loop: ports due per second (give --clients enough threads to keep up)")
    parser.add_argument("--create-bound", action="store_true",
                        help="create each port bound to its host (binding:host_id), as the CNI and Docker paths do")
    parser.add_argument("--create-waits", action="store_true",
                        help="the create waits for NB to confirm (the API's default for other clients)")
    parser.add_argument("--from-json", type=Path, default=None,
                        help="print the table and draw the plot of an earlier run's results.json, running nothing")
    parser.add_argument("--out", type=Path, default=Path("bench/out/scale"),
                        help="directory for results.json, table.md and scale.png")
    args = parser.parse_args()
    args.out.mkdir(parents=True, exist_ok=True)
    rows = json.loads(args.from_json.read_text()) if args.from_json else []
    for hosts in [] if args.from_json else args.hosts:
        row = one_run(hosts, args.ports_per_host, args.clients, args.create_waits, args.rate, args.create_bound)
        rows.append(row)
        print(f"N={hosts}: {json.dumps(row)}", file=sys.stderr, flush=True)
        (args.out / "results.json").write_text(json.dumps(rows, indent=1))
    text = table(rows)
    (args.out / "table.md").write_text(text + "\n")
    print(text)
    try:
        from scale_plot import plot
    except ImportError as exc:  # matplotlib is in the test extras; the figures stand without the plot
        print(f"no plot: {exc}", file=sys.stderr)
        return
    print(f"plot: {plot(rows, args.out / 'scale.png')}")


if __name__ == "__main__":
    main()
