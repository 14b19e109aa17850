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

    .venv/bin/python bench/scale.py --hosts 5 10 --ports-per-host 20

Goal (issue 13) on this 2-core machine: N = 20, P = 100 (2,000 bound ports) with p95 <= 1 s.
"""

from __future__ import annotations

import argparse
import re
import secrets
import statistics
import sys
import tempfile
import threading
import time
from pathlib import Path

from pyroute2 import netns

sys.path.insert(0, str(Path(__file__).resolve().parent.parent))
from ovnet.apiclient import ApiClient  # noqa: E402
from ovnet.host.agentclient import AgentClient  # noqa: E402
from ovnet.runtime import allinone, cluster  # noqa: E402
from ovnet.runtime.process import RuntimeFailure, run  # noqa: E402
from tests.helpers.roles import running_roles  # noqa: E402

GOAL_P95_S = 1.0


def rss_mb(pid: int | None) -> float:
    """Resident memory of ``pid`` in MiB (0 when it is gone)."""
    try:
        text = Path(f"/proc/{pid}/status").read_text()
    except (FileNotFoundError, TypeError):
        return 0.0
    return int(re.search(r"VmRSS:\s+(\d+)", text).group(1)) / 1024


def percentile(values: list[float], q: float) -> float:
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


def one_run(hosts: int, per_host: int, clients: int) -> dict:
    started = time.monotonic()
    with tempfile.TemporaryDirectory(prefix="ovnet-scale-") as tmp, \
            running_roles(Path(tmp), computes=hosts, cluster_size=3) as (central, computes):
        up_s = time.monotonic() - started
        spaces = [f"ovsc-{secrets.token_hex(3)}" for _ in computes]
        try:
            for name in spaces:
                netns.create(name)
            with ApiClient.from_settings(central) as api:
                network = api.create_network(name="scale")
                subnet = api.create_subnet(network_id=network["id"], cidr="10.200.0.0/16", ip_version=4)
            jobs = [(h, k) for k in range(per_host) for h in range(hosts)]
            lock = threading.Lock()
            ready: list[float] = []
            creates: list[float] = []
            errors: list[str] = []

            def work() -> None:
                with ApiClient.from_settings(central) as client:
                    agents = {}
                    while True:
                        with lock:
                            if not jobs:
                                break
                            h, k = jobs.pop()
                        sent = time.monotonic()
                        try:
                            port = client.create_port(network_id=network["id"], fixed_ips=[{"subnet_id": subnet["id"]}])
                            made = time.monotonic()
                            agent = agents.setdefault(h, AgentClient(computes[h].agent_socket, timeout_s=120))
                            agent.bind(port["id"], "veth", spaces[h], ifname=f"p{k}")
                        except Exception as exc:  # noqa: BLE001 - a bench reports failures, it does not stop
                            with lock:
                                errors.append(f"{type(exc).__name__}: {exc}")
                            continue
                        with lock:
                            creates.append(made - sent)
                            ready.append(time.monotonic() - sent)
                    for agent in agents.values():
                        agent.close()

            load_started = time.monotonic()
            threads = [threading.Thread(target=work) for _ in range(clients)]
            for thread in threads:
                thread.start()
            for thread in threads:
                thread.join()
            load_s = time.monotonic() - load_started
            loop_p95, loop_max = northd_loop_ms(central)
            chassis_mb = statistics.mean(sum(rss_mb(s.pid()) for s in allinone.services(c)) for c in computes)
            return {"hosts": hosts, "ports": len(ready), "errors": len(errors), "first_error": errors[:1],
                    "p50": percentile(ready, 50), "p95": percentile(ready, 95), "p99": percentile(ready, 99),
                    "create_p50": percentile(creates, 50) if creates else 0.0,
                    "create_rate": len(creates) / sum(creates) * clients if creates else 0.0,
                    "northd_p95_ms": loop_p95, "northd_max_ms": loop_max,
                    "nb_mb": leader_rss(central, "nb"), "sb_mb": leader_rss(central, "sb"),
                    "chassis_mb": chassis_mb, "up_s": up_s, "load_s": load_s,
                    "wall_s": time.monotonic() - started}
        finally:
            present = set(netns.listnetns())
            for name in spaces:
                if name in present:
                    netns.remove(name)


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--hosts", type=int, nargs="+", default=[5, 10])
    parser.add_argument("--ports-per-host", type=int, default=20)
    parser.add_argument("--clients", type=int, default=8)
    args = parser.parse_args()
    rows = []
    for hosts in args.hosts:
        row = one_run(hosts, args.ports_per_host, args.clients)
        rows.append(row)
        print(f"N={hosts}: {row}", file=sys.stderr, flush=True)
    print("| N | ports | errors | ready p50 / p95 / p99 (s) | of which create p50 (s) | API creates/s | "
          "northd loop p95 / max (ms) | NB / SB leader RSS (MiB) | MiB per chassis | start-up (s) | wall (s) |")
    print("|---|---|---|---|---|---|---|---|---|---|---|")
    for r in rows:
        print(f"| {r['hosts']} | {r['ports']} | {r['errors']} | {r['p50']:.2f} / {r['p95']:.2f} / {r['p99']:.2f} | "
              f"{r['create_p50']:.2f} | {r['create_rate']:.1f} | {r['northd_p95_ms']:.0f} / {r['northd_max_ms']:.0f} | "
              f"{r['nb_mb']:.0f} / {r['sb_mb']:.0f} | {r['chassis_mb']:.0f} | {r['up_s']:.0f} | {r['wall_s']:.0f} |")
    print(f"goal: N = 20, P = 100, ready p95 <= {GOAL_P95_S:g} s")


if __name__ == "__main__":
    main()
