"""A VM with two NICs on two networks (the demo's A-vm2): one DHCP lease per NIC, the default route
from eth0's subnet only, and the guest's probe (/etc/probe.sh) measuring from each NIC on its own.
Real OVS/OVN daemons, real QEMU (TCG)."""

from __future__ import annotations

from pathlib import Path

import pytest
from pyroute2 import IPRoute

from ovnet.testbed import guest, qemu, workload
from ovnet.testbed import vm as vm_mod
from ovnet.testbed.initscript import LINE_LEASE
from tests.helpers.vm import BOOT_TIMEOUT, first_ping, plug_namespace
from tests.helpers.hostnet import ApiNetwork, wait_status

pytestmark = [pytest.mark.root, pytest.mark.ovn, pytest.mark.qemu]


def test_two_nic_vm_leases_on_each_nic_and_probes_from_each_nic_alone(allinone, api, agent, make_netns, vms,
                                                                       tmp_path):
    nets = [ApiNetwork(api, "10.91.0"), ApiNetwork(api, "10.92.0")]
    vm_ports = [net.port(10) for net in nets]
    namespaces = [plug_namespace(agent, make_netns, net.port(20)) for net in nets]
    servers = [workload.echo_server(ns, f"ns{i}", tmp_path) for i, ns in enumerate(namespaces)]
    for server in servers:
        server.start()
    try:
        record = vms("vm-nics", [p["id"] for p in vm_ports])
        assert [n.port_id for n in record.nics] == [p["id"] for p in vm_ports]
        assert [n.mac for n in record.nics] == [p["mac_address"] for p in vm_ports]
        for i, net in enumerate(("10.91.0", "10.92.0")):
            line = qemu.wait_console(Path(record.console), LINE_LEASE, BOOT_TIMEOUT, suffix=f" dev=eth{i}")
            assert line is not None, Path(record.console).read_text()[-3000:]
            assert qemu.parse_lease(line)["ip"] == f"{net}.10"
        for ns, net in zip(namespaces, ("10.91.0", "10.92.0")):
            first_ping(ns, f"{net}.10")
            assert workload.send(ns, f"{net}.10", 10_000)["peer"] == record.name

        status, links = guest.run(Path(record.shell), "ip -o link show eth0; ip -o link show eth1; ip route")
        assert status == 0, links
        for i, port in enumerate(vm_ports):
            assert f"eth{i}:" in links and port["mac_address"] in links.split(f"eth{i}:")[1].splitlines()[0]
        # each subnet offers a gateway; only eth0's becomes the default route
        assert [line for line in links.splitlines() if line.startswith("default")] == [
            "default via 10.91.0.1 dev eth0 "]

        def probe(ifname: str) -> dict[str, tuple[bool, str | None]]:
            answers = guest.probe(Path(record.shell), ifname, ["10.91.0.20", "10.92.0.20"])
            return {a["ip"]: (a["ping"], a["echo"]) for a in answers}

        # from eth0: its own network answers with the right name; net2 only by way of eth0's
        # gateway, which does not exist (no router), so nothing answers although eth1 is on it
        assert probe("eth0") == {"10.91.0.20": (True, "ns0"), "10.92.0.20": (False, None)}
        # eth1 has no default route: net1 is unreachable from it
        assert probe("eth1") == {"10.91.0.20": (False, None), "10.92.0.20": (True, "ns1")}
        status, routes = guest.run(Path(record.shell), "ip route")
        assert "/32" not in routes, routes  # the probe's pinned routes are gone

        vm_mod.remove(allinone, record.name)
        for port in vm_ports:
            assert wait_status(api, port["id"], "DOWN") == "DOWN"
        with IPRoute(netns=allinone.netns) as ipr:
            assert [n.tap for n in record.nics if ipr.link_lookup(ifname=n.tap)] == []
    finally:
        for server in servers:
            server.stop()
