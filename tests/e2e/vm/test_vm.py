"""A real QEMU VM as a workload on ovnet networks: OVN native DHCP, traffic with namespace
workloads, port status, and the VM commands' errors. Real OVS/OVN daemons, real QEMU (TCG)."""

from __future__ import annotations

import time
from pathlib import Path

import pytest
from pyroute2 import IPRoute

from ovnet.apiclient import ApiError
from ovnet.testbed import qemu
from ovnet.testbed import vm as vm_mod
from ovnet.testbed.initscript import LINE_LEASE
from ovnet.testbed.workload import send
from ovnet.testbed.vmimage import VmImageError
from tests.integration.host.conftest import ApiNetwork, ns_run, wait_status

pytestmark = [pytest.mark.root, pytest.mark.ovn, pytest.mark.qemu]

BOOT_TIMEOUT = 180.0  # s: a TCG boot takes ~2 s idle, far longer on a loaded 2-core host


def lease_of(record: vm_mod.VmRecord) -> dict[str, str]:
    line = qemu.wait_console(Path(record.console), LINE_LEASE, BOOT_TIMEOUT)
    assert line is not None, f"no DHCP lease; console:\n{Path(record.console).read_text()[-3000:]}"
    return qemu.parse_lease(line)


def first_ping(ns: str, address: str, timeout: float = BOOT_TIMEOUT) -> float:
    """Seconds until ``address`` first answers a ping from ``ns``."""
    started = time.monotonic()
    while time.monotonic() - started < timeout:
        if ns_run(ns, "ping", "-n", "-q", "-c1", "-W1", address, check=False).returncode == 0:
            return time.monotonic() - started
    raise AssertionError(f"{address} never answered a ping from {ns} within {timeout:g} s")


def plug_namespace(agent, make_netns, port: dict) -> str:
    ns = make_netns("ovw")
    agent.bind(port["id"], "veth", ns)
    return ns


def test_vm_gets_address_gateway_and_mtu_by_dhcp_and_talks_to_a_namespace(allinone, api, agent, make_netns, vms):
    net = ApiNetwork(api, "10.81.0")
    vm_port, ns_port = net.port(10), net.port(20)
    ns = plug_namespace(agent, make_netns, ns_port)

    record = vms("vm-dhcp", vm_port["id"])
    booted = time.monotonic()  # QEMU runs: the port is bound and ovn-installed already
    lease = lease_of(record)
    leased = time.monotonic() - booted
    first_ping(ns, "10.81.0.10")
    print(f"QEMU start -> DHCP lease {leased:.2f} s, -> first ping {time.monotonic() - booted:.2f} s")

    network = api.show_network(net.network["id"])
    assert lease["ip"] == "10.81.0.10" and lease["mask"] == "24"
    assert lease["router"] == "10.81.0.1"
    assert lease["mtu"] == str(network["mtu"])
    assert record.mac == vm_port["mac_address"]
    echo = send(ns, "10.81.0.10", 200_000)
    assert echo["peer"] == record.name and echo["bytes"] == 200_000
    assert wait_status(api, vm_port["id"], "ACTIVE") == "ACTIVE"
    assert api.show_port(vm_port["id"])["binding:host_id"] == allinone.chassis_name

    vm_mod.remove(allinone, record.name)
    assert wait_status(api, vm_port["id"], "DOWN") == "DOWN"
    assert api.show_port(vm_port["id"])["binding:host_id"] == ""
    assert not Path(record.pidfile).exists() and vm_mod.load_record(allinone, record.name) is None
    with IPRoute(netns=allinone.netns) as ipr:
        assert not ipr.link_lookup(ifname=record.tap)
    assert ns_run(ns, "ping", "-n", "-q", "-c1", "-W1", "10.81.0.10", check=False).returncode != 0


def test_unbind_while_the_vm_runs_stops_traffic_and_rebind_resumes_it(allinone, api, agent, make_netns, vms):
    net = ApiNetwork(api, "10.83.0")
    vm_port, ns_port = net.port(10), net.port(20)
    ns = plug_namespace(agent, make_netns, ns_port)
    record = vms("vm-rebind", vm_port["id"])
    assert lease_of(record)["ip"] == "10.83.0.10"
    first_ping(ns, "10.83.0.10")

    agent.unbind(vm_port["id"])
    assert wait_status(api, vm_port["id"], "DOWN") == "DOWN"
    agent.reconcile()  # the tap the VM holds is its NIC: a reconcile must leave it alone
    assert ns_run(ns, "ping", "-n", "-q", "-c3", "-W1", "10.83.0.10", check=False).returncode != 0

    agent.bind(vm_port["id"], "tap", record.tap)
    assert wait_status(api, vm_port["id"], "ACTIVE") == "ACTIVE"
    first_ping(ns, "10.83.0.10", timeout=30)
    echo = send(ns, "10.83.0.10", 50_000)
    assert echo == {**echo, "peer": record.name, "bytes": 50_000}


def test_vms_in_two_projects_with_the_same_ip_stay_isolated(allinone, api, agent, make_netns, vms):
    seen = {}
    for project in ("proj-a", "proj-b"):
        network = api.create_network(name=f"iso-{project}", project_id=project)
        subnet = api.create_subnet(network_id=network["id"], cidr="10.84.0.0/24", ip_version=4, project_id=project)
        fixed = lambda octet: [{"subnet_id": subnet["id"], "ip_address": f"10.84.0.{octet}"}]  # noqa: E731
        vm_port = api.create_port(network_id=network["id"], project_id=project, fixed_ips=fixed(10))
        ns_port = api.create_port(network_id=network["id"], project_id=project, fixed_ips=fixed(20))
        ns = plug_namespace(agent, make_netns, ns_port)
        record = vms(f"vm-{project}", vm_port["id"])
        seen[project] = (ns, record)
    for project, (ns, record) in seen.items():
        assert lease_of(record)["ip"] == "10.84.0.10"
        first_ping(ns, "10.84.0.10")
        # the same address answers in each project, and it is always that project's own VM
        for _ in range(3):
            assert send(ns, "10.84.0.10", 1000)["peer"] == record.name
