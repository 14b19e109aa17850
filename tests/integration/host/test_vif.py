"""VIF plugging against a real chassis through the attach service (without the agent): veth, tap
and internal ports on br-int, marked and ovn-installed by the real ovn-controller, traffic between
two veth workloads. Ports come from the API; its syncer writes them to the real NB."""

from __future__ import annotations

import json
import subprocess

import pytest
from pyroute2 import IPRoute

from ovnet.host import addressing
from ovnet.host.errors import Conflict
from ovnet.host.vif import veth_host_name
from tests.helpers.hostnet import ApiNetwork, ns_run

pytestmark = [pytest.mark.root, pytest.mark.ovn]


def _addresses(ns: str, ifname: str) -> dict:
    out = ns_run(ns, "ip", "-j", "addr", "show", "dev", ifname).stdout
    return json.loads(out)[0]


def test_veth_plug_configures_the_workload_and_unplug_leaves_nothing(allinone, api, host, attach, make_netns):
    net = ApiNetwork(api, host_routes=[{"destination": "10.99.0.0/16", "nexthop": "10.77.0.254"}])
    port = net.port(10)
    ns = make_netns()
    vif = attach.plugin("veth")

    device = attach.attach(port["id"], "veth", ns).device

    assert api.show_port(port["id"])["binding:host_id"] == allinone.chassis_name
    assert vif.is_plugged(port["id"])
    owned = host.ovs.port_by_id(port["id"])
    assert (owned.name, owned.kind, owned.mac, owned.installed) == (device, "veth", port["mac_address"], True)
    link = _addresses(ns, "eth0")
    assert link["address"] == port["mac_address"]
    assert link["mtu"] == net.network["mtu"] == allinone.network_mtu
    assert [(a["local"], a["prefixlen"]) for a in link["addr_info"] if a["family"] == "inet"] == [("10.77.0.10", 24)]
    routes = ns_run(ns, "ip", "-4", "route").stdout
    assert "default via 10.77.0.1 dev eth0" in routes
    assert "10.99.0.0/16 via 10.77.0.254 dev eth0" in routes
    if host.datapath == "netdev":
        assert not addressing.tx_checksum_on(ns, "eth0")
        assert not addressing.tx_checksum_on(host.netns, device)

    attach.detach(port["id"], unbind=True)

    assert api.show_port(port["id"])["binding:host_id"] == ""
    assert not vif.is_plugged(port["id"])
    assert host.ovs.port_by_id(port["id"]) is None
    assert device not in host.ovs.port_names()
    with host.iproute() as ipr:
        assert addressing.link_index(ipr, device) is None
    with IPRoute(netns=ns) as ipr:
        assert addressing.link_index(ipr, "eth0") is None


def test_two_veth_workloads_ping_and_carry_tcp(allinone, api, attach, make_netns):
    net = ApiNetwork(api, "10.78.0")
    ports = [net.port(11), net.port(12)]
    spaces = [make_netns(), make_netns()]
    for port, ns in zip(ports, spaces):
        attach.attach(port["id"], "veth", ns)

    ns_run(spaces[0], "ping", "-c", "2", "-W", "2", "10.78.0.12")
    # 2 MB over TCP: with checksum offload left on, the userspace datapath would carry nothing.
    server = subprocess.Popen(
        ["nsenter", f"--net=/run/netns/{spaces[1]}", "python3", "-c",
         "import socket,sys;s=socket.socket();s.bind(('10.78.0.12',5001));s.listen();c,_=s.accept();n=0\n"
         "while (b:=c.recv(65536)): n+=len(b)\nprint(n)"],
        stdout=subprocess.PIPE, text=True)
    try:
        ns_run(spaces[0], "python3", "-c",
               "import socket,time\nfor i in range(50):\n  try: s=socket.create_connection(('10.78.0.12',5001),2);break\n"
               "  except OSError: time.sleep(0.1)\ns.sendall(b'x'*2000000);s.close()")
        out, _ = server.communicate(timeout=20)
    finally:
        server.kill()
    assert int(out) == 2000000


def test_veth_refuses_a_taken_ifname_and_leaves_nothing(allinone, api, host, attach, make_netns):
    net = ApiNetwork(api, "10.79.0")
    port = net.port(13)
    ns = make_netns()
    ns_run(ns, "ip", "link", "add", "eth0", "type", "veth", "peer", "name", "other0")
    with pytest.raises(Conflict):
        attach.attach(port["id"], "veth", ns)
    assert api.show_port(port["id"])["binding:host_id"] == ""
    assert host.ovs.port_by_id(port["id"]) is None
    with host.iproute() as ipr:
        assert addressing.link_index(ipr, veth_host_name(port["id"])) is None


def test_tap_plug_and_unplug(allinone, api, host, attach):
    net = ApiNetwork(api, "10.80.0")
    port = net.port(14)
    vif = attach.plugin("tap")
    name = "tapt" + port["id"][:8]
    assert attach.attach(port["id"], "tap", name, owner="nobody").device == name
    with host.iproute() as ipr:
        link = ipr.get_links(addressing.link_index(ipr, name))[0]
        assert link.get_attr("IFLA_MTU") == net.network["mtu"]
        assert link.get_attr("IFLA_LINKINFO").get_attr("IFLA_INFO_KIND") == "tun"
    attach.detach(port["id"], unbind=True)
    assert not vif.is_plugged(port["id"])
    with host.iproute() as ipr:
        assert addressing.link_index(ipr, name) is None


def test_internal_port_reaches_a_veth_workload(allinone, api, host, attach, make_netns):
    net = ApiNetwork(api, "10.81.0")
    inner, workload = net.port(15), net.port(16)
    ns = make_netns()
    name = "ovi" + inner["id"][:8]
    attach.attach(inner["id"], "internal", name)
    attach.attach(workload["id"], "veth", ns)
    ns_run(ns, "ping", "-c", "2", "-W", "2", "10.81.0.15")
    attach.detach(inner["id"], unbind=True)
    assert name not in host.ovs.port_names()
    with host.iproute() as ipr:
        assert addressing.link_index(ipr, name) is None
