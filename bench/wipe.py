"""NB and SB wipes on a demo-sized topology (issue 15, "OVN is derived"): the seed's two projects
with overlapping addresses, 4 networks and 8 NICs over two hypervisors (every workload a network
namespace here, standing in for the demo's containers and VMs), on a private all-in-one. For each
of NB and SB: stop its ovsdb-server, delete the file, ``ovnet up``; report the seconds until every
port is ACTIVE again, until every same-network pair pings again, and until ``ovnet check`` is clean.

    .venv/bin/python bench/wipe.py
"""

from __future__ import annotations

import secrets
import sys
import tempfile
import time
from pathlib import Path

from pyroute2 import netns

sys.path.insert(0, str(Path(__file__).resolve().parents[1]))
from ovnet.apiclient import ApiClient  # noqa: E402
from ovnet.cli.check import collect  # noqa: E402
from ovnet.host.agentclient import AgentClient  # noqa: E402
from ovnet.runtime import allinone as aio, hosts  # noqa: E402
from ovnet.testbed import seed  # noqa: E402
from tests.helpers.allinone import private_settings  # noqa: E402
from tests.helpers.hostnet import ns_run  # noqa: E402
from tests.helpers.wipe import wipe  # noqa: E402


def build(settings, api: ApiClient, made: list[str]) -> list[tuple[str, str, str, str]]:
    """The seed's networks and one namespace per NIC; returns (port id, netns, network id, address)."""
    host = f"hv{settings.chassis_name[-4:]}"
    hosts.add(settings, host)
    sockets = [settings.agent_socket, hosts.host_settings(settings, host).agent_socket]
    networks = {}
    for project_name, nets in seed.NETWORKS.items():
        project = api.create_project(f"{project_name}-{secrets.token_hex(2)}")
        for name, cidr in nets.items():
            net = api.create_network(name=name, project_id=project["id"])
            sub = api.create_subnet(network_id=net["id"], cidr=cidr, ip_version=4, project_id=project["id"])
            networks[(project_name, name)] = (net, sub, project["id"])
    nics = []
    for wl in seed.WORKLOADS:
        for nic in wl.nics:
            net, sub, project_id = networks[(nic.project, nic.network)]
            port = api.create_port(network_id=net["id"], project_id=project_id,
                                   fixed_ips=[{"subnet_id": sub["id"], "ip_address": nic.address}])
            ns = f"ovw-wp-{secrets.token_hex(4)}"
            netns.create(ns)
            made.append(ns)
            with AgentClient(sockets[wl.hypervisor]) as agent:
                agent.bind(port["id"], "veth", ns)
            nics.append((port["id"], ns, net["id"], nic.address))
    return nics


def _pairs_ping(nics) -> bool:
    for port, ns, network, _ in nics:
        for other, _ns, other_net, address in nics:
            if other != port and other_net == network:
                if ns_run(ns, "ping", "-c", "1", "-W", "1", address, check=False).returncode != 0:
                    return False
    return True


def measure(settings, api: ApiClient, nics, which: str) -> dict[str, float]:
    started = time.monotonic()
    wipe(settings, which)
    out = {"up": time.monotonic() - started}
    for name, ready in (("active", lambda: all(api.show_port(p)["status"] == "ACTIVE" for p, *_ in nics)),
                        ("traffic", lambda: _pairs_ping(nics)), ("check clean", lambda: collect(settings) == [])):
        while not ready():
            if time.monotonic() - started > 300:
                raise SystemExit(f"{which} wipe: not {name} after 300 s")
            time.sleep(0.1)
        out[name] = time.monotonic() - started
    return out


def main() -> int:
    made: list[str] = []
    with tempfile.TemporaryDirectory(prefix="ovnet-wipe-") as root:
        settings = private_settings(Path(root))
        try:
            aio.up(settings)
            with ApiClient.from_settings(settings) as api:
                nics = build(settings, api, made)
                while not (_pairs_ping(nics) and collect(settings) == []):
                    time.sleep(0.5)
                print(f"topology: {len(seed.NETWORKS) * 2} networks, {len(nics)} ports on 2 hypervisors")
                for which in ("nb", "sb"):
                    times = measure(settings, api, nics, which)
                    print(f"{which.upper()} wipe: " + ", ".join(f"{k} {v:.1f} s" for k, v in times.items()))
        finally:
            aio.down(settings, purge=True)
            for ns in made:
                netns.remove(ns)
    return 0


if __name__ == "__main__":
    sys.exit(main())
