"""Provider networks and distributed floating IPs on real OVN, two chassis (the all-in-one and an
added host), both mapping the physical network ``public`` to their br-ex, which meet on the
Linux bridge in the test's own public namespace.

- VLAN: two networks on ``public`` with segmentation ids 101 and 102 and the *same* subnet; the
  one on 101 reaches its ports on the other chassis and an outside host on VLAN 101, the one on
  102 reaches neither (only the tag tells them apart).
- Distributed floating IPs (``enable_distributed_floating_ip``): NB's NAT row names the port and
  the floating IP port's MAC, the outside host reaches the workload, and the MAC it learnt for the
  floating IP is that one (the port's own chassis answered, not the gateway router port).
"""

from __future__ import annotations

import subprocess

import pytest
from pyroute2 import IPRoute, netns

from ovnet.apiclient import ApiClient
from ovnet.host.agentclient import AgentClient
from ovnet.runtime import hosts
from ovnet.runtime.chassis import local_chassis
from ovnet.testbed import workload
from tests.helpers.allinone import running_allinone

pytestmark = [pytest.mark.root, pytest.mark.ovn]
OUTSIDE_VLAN_IP = "172.16.0.1"


def nbctl(settings, *args: str) -> str:
    return subprocess.run(["ovn-nbctl", f"--db={settings.nb_connection}", *args], capture_output=True, text=True,
                          check=True).stdout


def probe(ns: str, *addresses: str, timeout: float = 2.0, ifname: str = "eth0") -> dict[str, dict]:
    return {c["ip"]: c for c in workload.collect(workload.start_probe(ns, ifname, list(addresses), timeout))}


class Bed:
    """The two chassis, their agents and the workloads made; ``workload`` binds a port in a fresh
    namespace on one chassis and starts an echo server naming it."""

    def __init__(self, settings, api: ApiClient, agents: dict[str, AgentClient]):
        self.settings, self.api, self.agents = settings, api, agents
        self.ns: dict[str, str] = {}
        self.procs: list = []

    def workload(self, name: str, network: dict, subnet: dict, ip: str, chassis: str, **attrs) -> dict:
        port = self.api.create_port(network_id=network["id"], project_id=network["project_id"],
                                    fixed_ips=[{"subnet_id": subnet["id"], "ip_address": ip}], **attrs)
        ns = f"pv-{name}-{port['id'][:6]}"
        netns.create(ns)
        self.ns[name] = ns
        subprocess.run(workload.in_netns(ns, "ip", "link", "set", "lo", "up"), check=True)
        self.agents[chassis].bind(port["id"], "veth", ns)
        server = workload.echo_server(ns, name, self.settings.run_dir)
        server.start()
        self.procs.append(server)
        return port


@pytest.fixture(scope="module")
def bed(tmp_path_factory):
    with running_allinone(tmp_path_factory.mktemp("provider"), enable_distributed_floating_ip=True) as settings:
        name = f"hv{settings.chassis_name[-4:]}"
        made = None
        try:
            hosts.add(settings, name)
            host = hosts.host_settings(settings, name)
            with ApiClient.from_settings(settings) as api, AgentClient(settings.agent_socket) as a1, \
                    AgentClient(host.agent_socket) as a2:
                made = Bed(settings, api, {"hv1": a1, "hv2": a2})
                yield made
        finally:
            for proc in made.procs if made else []:
                proc.stop()
            for ns in made.ns.values() if made else []:
                if ns in netns.listnetns():
                    netns.remove(ns)
            hosts.remove(settings, name)


def _vlan_net(api: ApiClient, seg: int) -> tuple[dict, dict]:
    net = api.create_network(name=f"vlan{seg}", project_id="proj-v", **{
        "provider:network_type": "vlan", "provider:physical_network": "public", "provider:segmentation_id": seg})
    sub = api.create_subnet(network_id=net["id"], cidr="172.16.0.0/24", ip_version=4, enable_dhcp=False,
                            project_id="proj-v")
    return net, sub


def test_vlan_networks_on_one_physical_network_stay_apart(bed):
    (n101, s101), (n102, s102) = _vlan_net(bed.api, 101), _vlan_net(bed.api, 102)
    assert n101["mtu"] == 1500  # the physical network's MTU: no Geneve header
    tags = nbctl(bed.settings, "--bare", "--columns=tag", "find", "Logical_Switch_Port", "type=localnet").split()
    assert sorted(tags) == ["101", "102"], tags  # one localnet port per VLAN network, tagged
    # The outside: a host on VLAN 101 of the physical network. This kernel has neither VLAN
    # sub-interfaces (no 8021q) nor VLAN-filtering bridges, so the VLAN is demultiplexed by an
    # access port (tag=101) on the all-in-one's br-ex, the provider bridge every tagged frame of
    # ``public`` crosses; its veth's other end is the outside host, in a namespace of this test.
    outside = f"pv-out-{bed.settings.chassis_name[-6:]}"
    chassis = local_chassis(bed.settings)
    netns.create(outside)
    try:
        with IPRoute(netns=bed.settings.netns) as ipr:
            ipr.link("add", ifname="vout", kind="veth", peer={"ifname": "eth0", "net_ns_fd": outside})
            ipr.link("set", index=ipr.link_lookup(ifname="vout")[0], state="up")
        with IPRoute(netns=outside) as ipr:
            dev = ipr.link_lookup(ifname="eth0")[0]
            ipr.addr("add", index=dev, address=OUTSIDE_VLAN_IP, prefixlen=24)
            ipr.link("set", index=dev, state="up")
        chassis.vsctl("add-port", "br-ex", "vout", "tag=101")
        bed.workload("v101a", n101, s101, "172.16.0.11", "hv1")
        bed.workload("v101b", n101, s101, "172.16.0.13", "hv2")
        bed.workload("v102", n102, s102, "172.16.0.12", "hv2")
        seen = probe(bed.ns["v101a"], "172.16.0.13", OUTSIDE_VLAN_IP)
        assert seen["172.16.0.13"]["ping"] and seen["172.16.0.13"]["echo"] == "v101b"  # across chassis, tagged
        assert seen[OUTSIDE_VLAN_IP]["ping"]
        assert probe(bed.ns["v101b"], OUTSIDE_VLAN_IP)[OUTSIDE_VLAN_IP]["ping"]  # from hv2, over the wire
        apart = probe(bed.ns["v102"], "172.16.0.11", "172.16.0.13", OUTSIDE_VLAN_IP, timeout=1.0)
        assert not any(c["ping"] or c["echo"] for c in apart.values()), apart
        back = probe(bed.ns["v101b"], "172.16.0.12", timeout=1.0)["172.16.0.12"]
        assert not back["ping"] and not back["echo"]
    finally:
        chassis.vsctl("--if-exists", "del-port", "br-ex", "vout")
        with IPRoute(netns=bed.settings.netns) as ipr:
            for dev in ipr.link_lookup(ifname="vout"):
                ipr.link("del", index=dev)
        netns.remove(outside)


def test_a_distributed_floating_ip_is_answered_by_its_ports_chassis(bed):
    api = bed.api
    public = api.create_network(name="public", **{"router:external": True, "provider:network_type": "flat",
                                                  "provider:physical_network": "public"})
    api.create_subnet(network_id=public["id"], cidr="10.50.50.0/24", ip_version=4, enable_dhcp=False,
                      allocation_pools=[{"start": "10.50.50.10", "end": "10.50.50.100"}])
    router = api.create("router", "routers", {"name": "r", "project_id": "proj-d",
                                              "external_gateway_info": {"network_id": public["id"]}})
    net = api.create_network(name="inside", project_id="proj-d")
    sub = api.create_subnet(network_id=net["id"], cidr="192.168.7.0/24", ip_version=4, project_id="proj-d")
    api.request("PUT", f"/v2.0/routers/{router['id']}/add_router_interface", json={"subnet_id": sub["id"]})
    group = api.create("security_group", "security-groups", {"name": "outside", "project_id": "proj-d"})
    for proto in ("icmp", "tcp"):
        api.create("security_group_rule", "security-group-rules", {
            "security_group_id": group["id"], "direction": "ingress", "protocol": proto})
    port = bed.workload("dvr", net, sub, "192.168.7.5", "hv2", security_groups=[group["id"]])
    fip = api.create("floatingip", "floatingips", {"floating_network_id": public["id"], "port_id": port["id"],
                                                    "project_id": "proj-d"})
    address = fip["floating_ip_address"]
    fip_port = api.list_ports(device_owner="network:floatingip", device_id=fip["id"])[0]
    nat = nbctl(bed.settings, "--bare", "--columns=external_mac,logical_port", "find", "NAT",
                f"external_ip={address}").split()
    assert nat == [fip_port["mac_address"], port["id"]]
    seen = probe(bed.settings.public_netns, address, timeout=3.0, ifname="pub")[address]
    assert seen["ping"] and seen["echo"] == "dvr"
    with IPRoute(netns=bed.settings.public_netns) as ipr:
        learnt = {n.get_attr("NDA_DST"): n.get_attr("NDA_LLADDR") for n in ipr.get_neighbours(family=2)}
    assert learnt.get(address) == fip_port["mac_address"]  # not the gateway router port's MAC
