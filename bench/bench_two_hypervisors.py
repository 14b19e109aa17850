"""Two hypervisors on one machine (the all-in-one + ``ovnet host add``): port-ready latency on each,
and what the Geneve tunnel costs a workload.

Port-ready: bench_port_ready.py's measurement (API create -> agent bind -> ovn-installed, against
the raw OVN steps as baseline) run on hypervisor 1 and then on hypervisor 2.

Tunnel: three ports of one network bound by the agents as veth namespaces, a and b on hypervisor 1,
c on hypervisor 2. Baseline = a -> b (same chassis, no tunnel), measured in the same run and
interleaved with a -> c (Geneve over the underlay): ping RTT p50 and TCP throughput of one stream.

    .venv/bin/python bench/bench_two_hypervisors.py [--ports 200] [--rounds 3] [--megabytes 256]
"""

from __future__ import annotations

import argparse
import re
import secrets
import statistics
import subprocess
import sys
import tempfile
from pathlib import Path

from pyroute2 import netns

from ovnet.apiclient import ApiClient
from ovnet.config import Settings
from ovnet.host.agentclient import AgentClient
from ovnet.runtime import hosts
from ovnet.testbed import workload

sys.path.insert(0, str(Path(__file__).parent))
import bench_port_ready  # noqa: E402  (a sibling script, not a package; it puts the repository on sys.path)
from tests.helpers.allinone import running_allinone  # noqa: E402  (the tests' private all-in-one)


def rtt_ms(ns: str, address: str, count: int = 50) -> float:
    """Median-ish RTT: ping's average over ``count`` echoes 10 ms apart, in ms."""
    out = subprocess.run(workload.in_netns(ns, "ping", "-n", "-q", "-c", str(count), "-i", "0.01", address),
                         capture_output=True, text=True, check=True).stdout
    return float(re.search(r"= [\d.]+/([\d.]+)/", out).group(1))


def tunnel(central: Settings, second: Settings, rounds: int, megabytes: int) -> str:
    """The tunnel table: same chassis (baseline) vs across Geneve."""
    tag = secrets.token_hex(3)
    names = {k: f"bt{k}-{tag}" for k in "abc"}
    placement = {"a": central, "b": central, "c": second}
    api = ApiClient.from_settings(central)
    network = api.create_network(name=f"bench-tunnel-{tag}")
    subnet = api.create_subnet(network_id=network["id"], cidr="10.198.0.0/24", ip_version=4)
    ports, servers = {}, []
    try:
        for key, ns in names.items():
            netns.create(ns)
            ports[key] = api.create_port(network_id=network["id"], fixed_ips=[{"subnet_id": subnet["id"]}])
            with AgentClient(placement[key].agent_socket) as agent:
                agent.bind(ports[key]["id"], "veth", ns)
        for key in "bc":
            servers.append(workload.echo_server(names[key], key, central.state_dir))
            servers[-1].start()
        address = {k: p["fixed_ips"][0]["ip_address"] for k, p in ports.items()}
        size = megabytes * 1024 * 1024
        results: dict[str, dict[str, list[float]]] = {k: {"rtt": [], "gbps": []} for k in "bc"}
        for _ in range(rounds):
            for key in "bc":
                results[key]["rtt"].append(rtt_ms(names["a"], address[key]))
                sent = workload.send(names["a"], address[key], size)
                assert sent["peer"] == key and sent["bytes"] == size, sent
                results[key]["gbps"].append(size * 8 / sent["seconds"] / 1e9)
    finally:
        for server in servers:
            server.stop()
        for key, port in ports.items():
            with AgentClient(placement[key].agent_socket) as agent:
                agent.unbind(port["id"])
            api.delete_port(port["id"])
        api.delete_network(network["id"])
        api.close()
        for ns in names.values():
            if ns in netns.listnetns():
                netns.remove(ns)
    base_rtt, base_gbps = (statistics.median(results["b"][m]) for m in ("rtt", "gbps"))
    lines = [f"{'path (a -> peer)':<40} {'rounds':>6} {'rtt ms':>7} {'ratio':>6} {'TCP Gbit/s':>10} {'ratio':>6}"]
    for key, label in (("b", "baseline: same chassis, no tunnel"), ("c", "across Geneve to hypervisor 2")):
        rtt, gbps = statistics.median(results[key]["rtt"]), statistics.median(results[key]["gbps"])
        lines.append(f"{label:<40} {rounds:>6} {rtt:>7.3f} {rtt / base_rtt:>6.2f} "
                     f"{gbps:>10.2f} {gbps / base_gbps:>6.2f}")
    return "\n".join(lines)


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--ports", type=int, default=200, help="port-ready samples per path and hypervisor")
    parser.add_argument("--rounds", type=int, default=3, help="tunnel rounds (each: RTT + one TCP transfer)")
    parser.add_argument("--megabytes", type=int, default=256, help="size of each TCP transfer")
    args = parser.parse_args()
    with tempfile.TemporaryDirectory(prefix="ovnet-bench-") as tmp, running_allinone(Path(tmp)) as central:
        second = hosts.host_settings(central, hosts.add(central, f"hv2-{secrets.token_hex(3)}").name)
        print(tunnel(central, second, args.rounds, args.megabytes))
        for label, host in (("hypervisor 1 (all-in-one)", central), ("hypervisor 2 (ovnet host add)", second)):
            print(f"\nport ready on {label}")
            print(bench_port_ready.table(bench_port_ready.run(central, host, args.ports)))


if __name__ == "__main__":
    main()
