"""Port-ready latency: API port create -> bound by a host agent -> ovn-installed, p50/p95.

Each sample of the ovnet path: POST /v2.0/ports, then the agent's bind (binding:host_id, veth into
a namespace, OVS port, wait for ovn-controller's ovn-installed). The baseline, measured in the same
run and interleaved with it: the raw steps without ovnet (one ``ovn-nbctl lsp-add`` on a logical
switch made directly in NB, a veth made with netlink, ``ovs-vsctl add-port`` with the iface-id,
``ovs-vsctl wait-until ... ovn-installed=true``). Prints a table with the ratio ovnet / baseline.

    .venv/bin/python bench/bench_port_ready.py [--ports 200]            # private all-in-one
    .venv/bin/python bench/bench_port_ready.py --state-dir /var/lib/ovnet [--host NAME]

``--host NAME`` binds through the agent (and OVS) of a hypervisor made by ``ovnet host add`` under
that state dir, so the same script measures a second hypervisor.
"""

from __future__ import annotations

import argparse
import secrets
import subprocess
import sys
import tempfile
import time
from pathlib import Path

from pyroute2 import IPRoute, netns

sys.path.insert(0, str(Path(__file__).resolve().parents[1]))
from ovnet.apiclient import ApiClient  # noqa: E402
from ovnet.config import Settings, load_settings  # noqa: E402
from ovnet.host.agentclient import AgentClient  # noqa: E402
from ovnet.runtime.hosts import host_settings  # noqa: E402
from tests.helpers.allinone import running_allinone  # noqa: E402  (the tests' private all-in-one)


def percentile(samples: list[float], q: float) -> float:
    """The q-quantile (0..1) of samples by nearest rank."""
    ordered = sorted(samples)
    return ordered[min(len(ordered) - 1, max(0, round(q * len(ordered)) - 1))]


class Baseline:
    """The raw OVN steps on the chassis of ``host`` with a logical switch of its own."""

    def __init__(self, central: Settings, host: Settings, ns: str):
        self.central, self.host, self.ns = central, host, ns
        self.switch = f"bench-{secrets.token_hex(3)}"
        self.nbctl("ls-add", self.switch)
        self.made: list[str] = []

    def nbctl(self, *args: str) -> None:
        subprocess.run(["ovn-nbctl", f"--db={self.central.nb_connection}", "--timeout=10", *args], check=True,
                       capture_output=True)

    def vsctl(self, *args: str) -> None:
        subprocess.run(["ovs-vsctl", f"--db=unix:{self.host.ovs_db_sock}", "--timeout=30", *args], check=True,
                       capture_output=True)

    def sample(self, i: int) -> float:
        name = f"bl{i}-{secrets.token_hex(2)}"
        mac = f"fa:16:3f:00:{i >> 8 & 255:02x}:{i & 255:02x}"
        started = time.perf_counter()
        self.nbctl("lsp-add", self.switch, name, "--", "lsp-set-addresses", name, f"{mac} 10.200.{i >> 8}.{i & 255}",
                   "--", "set", "Logical_Switch_Port", name, f"options:requested-chassis={self.host.chassis_name}")
        with (IPRoute(netns=self.host.netns) if self.host.netns else IPRoute()) as ipr:
            ipr.link("add", ifname=name, kind="veth", peer={"ifname": f"{name}p", "net_ns_fd": self.ns})
            ipr.link("set", index=ipr.link_lookup(ifname=name)[0], state="up")
        self.vsctl("add-port", self.host.bridge, name, "--", "set", "Interface", name,
                   f"external_ids:iface-id={name}", f"external_ids:attached-mac={mac}")
        self.vsctl("wait-until", "Interface", name, "external_ids:ovn-installed=true")
        self.made.append(name)
        return time.perf_counter() - started

    def clean(self) -> None:
        with (IPRoute(netns=self.host.netns) if self.host.netns else IPRoute()) as ipr:
            for name in self.made:
                self.vsctl("--if-exists", "del-port", name)
                found = ipr.link_lookup(ifname=name)
                if found:
                    ipr.link("del", index=found[0])
        self.nbctl("--if-exists", "ls-del", self.switch)


def ovnet_sample(api: ApiClient, agent: AgentClient, network: dict, subnet: dict, ns: str, i: int,
                 ports: list[str]) -> float:
    started = time.perf_counter()
    port = api.create_port(network_id=network["id"], fixed_ips=[{"subnet_id": subnet["id"]}])
    ports.append(port["id"])
    agent.bind(port["id"], "veth", ns, ifname=f"p{i}")
    return time.perf_counter() - started


def run(central: Settings, host: Settings, count: int) -> dict[str, list[float]]:
    """``count`` interleaved samples of each path; returns seconds per path."""
    ns = f"bench-{secrets.token_hex(3)}"
    netns.create(ns)
    api = ApiClient.from_settings(central)
    agent = AgentClient(host.agent_socket)
    network = api.create_network(name="bench-port-ready")
    subnet = api.create_subnet(network_id=network["id"], cidr="10.199.0.0/22", ip_version=4)
    baseline = Baseline(central, host, ns)
    ports: list[str] = []
    samples: dict[str, list[float]] = {"baseline": [], "ovnet": []}
    try:
        for i in range(count):
            samples["baseline"].append(baseline.sample(i))
            samples["ovnet"].append(ovnet_sample(api, agent, network, subnet, ns, i, ports))
    finally:
        for port_id in ports:
            agent.unbind(port_id)
            api.delete_port(port_id)
        api.delete_network(network["id"])
        baseline.clean()
        netns.remove(ns)
        agent.close()
        api.close()
    return samples


def table(samples: dict[str, list[float]]) -> str:
    base50, base95 = percentile(samples["baseline"], 0.5), percentile(samples["baseline"], 0.95)
    lines = [f"{'path':<48} {'n':>4} {'p50 ms':>8} {'p95 ms':>8} {'p50 ratio':>9} {'p95 ratio':>9}"]
    names = {"baseline": "baseline: lsp-add + veth + add-port -> installed",
             "ovnet": "ovnet: API create -> agent bind -> installed"}
    for key, values in samples.items():
        p50, p95 = percentile(values, 0.5), percentile(values, 0.95)
        lines.append(f"{names[key]:<48} {len(values):>4} {p50 * 1000:>8.1f} {p95 * 1000:>8.1f} "
                     f"{p50 / base50:>9.2f} {p95 / base95:>9.2f}")
    return "\n".join(lines)


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--ports", type=int, default=200, help="samples per path")
    parser.add_argument("--state-dir", type=Path, default=None, help="a running ovnet (default: start a private one)")
    parser.add_argument("--host", default=None, help="bind on this `ovnet host add` hypervisor instead")
    args = parser.parse_args()
    if args.state_dir:
        central = load_settings(args.state_dir)
        host = host_settings(central, args.host) if args.host else central
        if host is None:
            parser.error(f"no host {args.host} under {args.state_dir}")
        print(table(run(central, host, args.ports)))
        return
    with tempfile.TemporaryDirectory(prefix="ovnet-bench-") as tmp, running_allinone(Path(tmp)) as central:
        print(table(run(central, central, args.ports)))


if __name__ == "__main__":
    main()
