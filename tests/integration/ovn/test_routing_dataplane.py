"""Routers, SNAT and floating IPs on real OVN: an all-in-one (and a second chassis), the public
network's outside host in its own namespace, workloads bound through the agent, real traffic."""

from __future__ import annotations

import subprocess
import sys
import time
from dataclasses import dataclass, field

import pytest
from pyroute2 import netns

from ovnet.apiclient import ApiClient
from ovnet.host.agentclient import AgentClient
from ovnet.runtime import hosts
from ovnet.testbed import workload
from tests.helpers.allinone import running_allinone

pytestmark = [pytest.mark.root, pytest.mark.ovn]

REPORT_PORT = 8000
# A TCP server for the outside host that answers each connection with the peer's address: what a
# host on the internet sees as the source of a workload's traffic (SNAT / floating IP).
REPORTER = """
import socket, sys
s = socket.socket(); s.setsockopt(socket.SOL_SOCKET, socket.SO_REUSEADDR, 1)
s.bind(("0.0.0.0", int(sys.argv[1]))); s.listen(16); open(sys.argv[2], "w").close()
while True:
    c, peer = s.accept(); c.sendall(peer[0].encode()); c.close()
"""
ASK = """
import socket, sys
c = socket.create_connection((sys.argv[1], int(sys.argv[2])), timeout=5); print(c.recv(64).decode())
"""


@dataclass
class World:
    settings: object
    api: ApiClient
    agent: AgentClient
    public: dict
    routers: dict[str, dict] = field(default_factory=dict)
    nets: dict[str, dict] = field(default_factory=dict)  # "A-net1" -> {"network", "subnet"}
    ns: dict[str, str] = field(default_factory=dict)  # workload name -> netns
    ports: dict[str, dict] = field(default_factory=dict)
    procs: list = field(default_factory=list)
    outside: dict[str, dict] = field(default_factory=dict)  # project -> its "outside" security group

    def action(self, project: str, action: str, **body) -> dict:
        return self.api.request("PUT", f"/v2.0/routers/{self.routers[project]['id']}/{action}", json=body)

    def net(self, name: str, project: str, cidr: str) -> dict:
        network = self.api.create_network(name=name, project_id=project)
        subnet = self.api.create_subnet(network_id=network["id"], cidr=cidr, ip_version=4, project_id=project)
        self.nets[name] = {"network": network, "subnet": subnet}
        return self.nets[name]

    def workload(self, name: str, net: str, ip: str, agent: AgentClient | None = None, **attrs) -> dict:
        n = self.nets[net]
        port = self.api.create_port(network_id=n["network"]["id"], project_id=n["network"]["project_id"],
                                    fixed_ips=[{"subnet_id": n["subnet"]["id"], "ip_address": ip}], **attrs)
        ns = f"rt-{name}-{port['id'][:6]}"
        netns.create(ns)
        self.ns[name], self.ports[name] = ns, port
        subprocess.run(workload.in_netns(ns, "ip", "link", "set", "lo", "up"), check=True)
        (agent or self.agent).bind(port["id"], "veth", ns)
        server = workload.echo_server(ns, name, self.settings.run_dir)
        server.start()
        self.procs.append(server)
        return port

    def open_to_outside(self, port: dict) -> None:
        """Security groups (issue 11): the outside reaches a workload only where a rule lets it in,
        so a floating IP's port joins its project's group allowing ICMP and TCP from anywhere."""
        project = port["project_id"]
        if project not in self.outside:
            group = self.api.create("security_group", "security-groups", {"name": "outside", "project_id": project})
            for proto in ("icmp", "tcp"):
                self.api.create("security_group_rule", "security-group-rules", {
                    "security_group_id": group["id"], "direction": "ingress", "protocol": proto})
            self.outside[project] = group
        groups = self.api.show_port(port["id"])["security_groups"]
        self.api.update("port", "ports", port["id"], {"security_groups": [*groups, self.outside[project]["id"]]})

    def fip(self, name: str) -> dict:
        port = self.ports[name]
        self.open_to_outside(port)
        return self.api.create("floatingip", "floatingips", {
            "floating_network_id": self.public["network"]["id"], "port_id": port["id"],
            "project_id": port["project_id"]})


def probe(ns: str, ifname: str, *addresses: str, timeout: float = 1.0) -> dict[str, dict]:
    return {c["ip"]: c for c in workload.collect(workload.start_probe(ns, ifname, list(addresses), timeout))}


def source_seen_outside(w: World, name: str) -> str:
    """The address the outside host sees a connection from workload ``name`` come from."""
    done = subprocess.run(workload.in_netns(w.ns[name], sys.executable, "-c", ASK, "10.50.50.1", str(REPORT_PORT)),
                          capture_output=True, text=True, timeout=15)
    assert done.returncode == 0, done.stderr
    return done.stdout.strip()


def nbctl(settings, *args: str) -> str:
    return subprocess.run(["ovn-nbctl", f"--db={settings.nb_connection}", *args], capture_output=True, text=True,
                          check=True).stdout


@pytest.fixture(scope="module")
def world(tmp_path_factory):
    with running_allinone(tmp_path_factory.mktemp("routing")) as settings:
        reporter = None
        with ApiClient.from_settings(settings) as api, AgentClient(settings.agent_socket) as agent:
            try:
                ext = api.create_network(name="public", **{"router:external": True, "provider:network_type": "flat",
                                                           "provider:physical_network": "public"})
                sub = api.create_subnet(network_id=ext["id"], cidr="10.50.50.0/24", ip_version=4, enable_dhcp=False,
                                        allocation_pools=[{"start": "10.50.50.10", "end": "10.50.50.100"}])
                w = World(settings, api, agent, {"network": ext, "subnet": sub})
                ready = settings.run_dir / "reporter.ready"
                reporter = subprocess.Popen(workload.in_netns(settings.public_netns, sys.executable, "-c", REPORTER,
                                                              str(REPORT_PORT), str(ready)))
                for project in ("A", "B"):
                    w.routers[project] = api.create("router", "routers", {
                        "name": f"router-{project}", "project_id": f"proj-{project}",
                        "external_gateway_info": {"network_id": ext["id"]}})
                    w.net(f"{project}-net1", f"proj-{project}", "192.168.1.0/24")
                    w.action(project, "add_router_interface", subnet_id=w.nets[f"{project}-net1"]["subnet"]["id"])
                w.net("A-net2", "proj-A", "192.168.2.0/24")
                w.action("A", "add_router_interface", subnet_id=w.nets["A-net2"]["subnet"]["id"])
                w.workload("A-vm1", "A-net1", "192.168.1.3")
                w.workload("A-vm3", "A-net2", "192.168.2.3")
                w.workload("B-vm1", "B-net1", "192.168.1.3")
                deadline = time.monotonic() + 10
                while not ready.exists() and time.monotonic() < deadline:
                    time.sleep(0.05)
                yield w
            finally:
                for proc in w.procs if "w" in locals() else []:
                    proc.stop()
                if reporter is not None:
                    reporter.kill()
                    reporter.wait()
                for ns in (w.ns.values() if "w" in locals() else []):
                    if ns in netns.listnetns():
                        netns.remove(ns)


def _gw_ip(w: World, project: str) -> str:
    router = w.api.show("router", "routers", w.routers[project]["id"])
    return router["external_gateway_info"]["external_fixed_ips"][0]["ip_address"]


def test_nb_holds_the_routers(world):
    routers = nbctl(world.settings, "--bare", "--columns=name", "list", "Logical_Router").split()
    assert sorted(routers) == sorted(f"ovnet-{r['id']}" for r in world.routers.values())
    nat = nbctl(world.settings, "lr-nat-list", f"ovnet-{world.routers['A']['id']}")
    assert "192.168.1.0/24" in nat and "192.168.2.0/24" in nat and _gw_ip(world, "A") in nat
    chassis = nbctl(world.settings, "--bare", "--columns=chassis_name", "list", "Gateway_Chassis").split()
    assert chassis == [world.settings.chassis_name] * 2


def test_east_west_across_subnets_through_the_router(world):
    seen = probe(world.ns["A-vm1"], "eth0", "192.168.2.3")["192.168.2.3"]
    assert seen["ping"] and seen["echo"] == "A-vm3"
    back = probe(world.ns["A-vm3"], "eth0", "192.168.1.3")["192.168.1.3"]
    assert back["ping"] and back["echo"] == "A-vm1"  # A's, never B's 192.168.1.3


def test_snat_the_outside_host_sees_the_router_gateway(world):
    assert source_seen_outside(world, "A-vm3") == _gw_ip(world, "A")
    assert source_seen_outside(world, "B-vm1") == _gw_ip(world, "B")


def test_floating_ips_reach_the_right_workload_and_carry_2mb(world):
    fip_a, fip_b = world.fip("A-vm1"), world.fip("B-vm1")
    try:
        a, b = fip_a["floating_ip_address"], fip_b["floating_ip_address"]
        seen = probe(world.settings.public_netns, "pub", a, b, timeout=2.0)
        assert seen[a]["ping"] and seen[a]["echo"] == "A-vm1"
        assert seen[b]["ping"] and seen[b]["echo"] == "B-vm1"
        assert source_seen_outside(world, "A-vm1") == a  # its floating IP, not the router's SNAT address
        big = workload.send(world.settings.public_netns, a, 2 * 1024 * 1024)  # outside MTU 1500, inside 1442
        assert big["peer"] == "A-vm1" and big["bytes"] == 2 * 1024 * 1024
        # Disassociation: inbound stops as soon as the API answers (the syncer confirmed NB).
        world.api.update("floatingip", "floatingips", fip_a["id"], {"port_id": None})
        started = time.monotonic()
        while probe(world.settings.public_netns, "pub", a, timeout=0.3)[a]["ping"]:
            assert time.monotonic() - started < 2.0, "the disassociated floating IP still answers"
        assert probe(world.settings.public_netns, "pub", b)[b]["echo"] == "B-vm1"
    finally:
        for fip in (fip_a, fip_b):
            world.api.delete("floatingips", fip["id"])


def test_extra_route_to_a_network_behind_a_workload(world):
    # A "router VM" at 192.168.1.50 holds 10.99.0.1 behind it; the router's extra route sends
    # 10.99.0.0/24 there (its port may carry that prefix: allowed address pair).
    world.workload("A-gw", "A-net1", "192.168.1.50", allowed_address_pairs=[{"ip_address": "10.99.0.0/24"}])
    subprocess.run(workload.in_netns(world.ns["A-gw"], "ip", "addr", "add", "10.99.0.1/32", "dev", "lo"), check=True)
    assert not probe(world.ns["A-vm3"], "eth0", "10.99.0.1")["10.99.0.1"]["ping"]
    world.action("A", "add_extraroutes", router={"routes": [{"destination": "10.99.0.0/24",
                                                             "nexthop": "192.168.1.50"}]})
    seen = probe(world.ns["A-vm3"], "eth0", "10.99.0.1")["10.99.0.1"]
    assert seen["ping"] and seen["echo"] == "A-gw"
    assert "10.99.0.0/24" in nbctl(world.settings, "lr-route-list", f"ovnet-{world.routers['A']['id']}")


def test_second_chassis_east_west_and_floating_ip(world):
    name = f"hv{world.settings.chassis_name[-4:]}"
    hosts.add(world.settings, name)
    try:
        host = hosts.host_settings(world.settings, name)
        with AgentClient(host.agent_socket) as agent2:
            world.workload("A-vm4", "A-net2", "192.168.2.4", agent=agent2)
            seen = probe(world.ns["A-vm1"], "eth0", "192.168.2.4", timeout=2.0)["192.168.2.4"]
            assert seen["ping"] and seen["echo"] == "A-vm4"
            fip = world.fip("A-vm4")
            try:
                addr = fip["floating_ip_address"]
                seen = probe(world.settings.public_netns, "pub", addr, timeout=2.0)[addr]
                assert seen["ping"] and seen["echo"] == "A-vm4"
            finally:
                world.api.delete("floatingips", fip["id"])
            chassis = nbctl(world.settings, "--bare", "--columns=chassis_name", "list", "Gateway_Chassis").split()
            assert sorted(set(chassis)) == sorted([world.settings.chassis_name, name])
            agent2.unbind(world.ports["A-vm4"]["id"])
    finally:
        hosts.remove(world.settings, name)
