"""A real QEMU VM as a workload on ovnet networks: OVN native DHCP, traffic with namespace
workloads, port status, and the VM commands' errors. Real OVS/OVN daemons, real QEMU (TCG)."""

from __future__ import annotations

import secrets
import time
from pathlib import Path

import pytest
from pyroute2 import IPRoute

from ovnet.apiclient import ApiError
from ovnet.host.libvirt import tap_name
from ovnet.runtime import hosts
from ovnet.runtime.process import pid_alive
from ovnet.testbed import guest
from ovnet.testbed import vm as vm_mod
from ovnet.testbed.workload import send
from ovnet.testbed.qemu import VmError
from ovnet.testbed.vmimage import VmImageError
from tests.helpers.hostnet import ApiNetwork, ns_run, wait_status
from tests.helpers.vm import first_ping, lease_of, plug_namespace

pytestmark = [pytest.mark.root, pytest.mark.ovn, pytest.mark.qemu]

def test_vm_gets_address_gateway_and_mtu_by_dhcp_and_talks_to_a_namespace(allinone, api, agent, make_netns, vms):
    net = ApiNetwork(api, "10.81.0", dns_nameservers=["10.81.0.53"],
                     host_routes=[{"destination": "10.99.0.0/16", "nexthop": "10.81.0.254"}])
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
    # RFC 3442: with classless routes a client ignores the router option, so the default is among them
    assert lease["routes"] == "10.99.0.0/16,10.81.0.254,0.0.0.0/0,10.81.0.1"
    assert lease["dns"] == "10.81.0.53"
    # applied inside the guest, and traffic the VM starts itself reaches the namespace
    status, inside = guest.run(Path(record.shell), "ip -o link show eth0; ip route; ping -c1 -W5 10.81.0.20")
    assert status == 0, inside
    assert f"mtu {network['mtu']}" in inside
    assert "default via 10.81.0.1 dev eth0" in inside and "10.99.0.0/16 via 10.81.0.254 dev eth0" in inside
    assert record.mac == vm_port["mac_address"]
    echo = send(ns, "10.81.0.10", 200_000)
    assert echo["peer"] == record.name and echo["bytes"] == 200_000
    assert wait_status(api, vm_port["id"], "ACTIVE") == "ACTIVE"
    assert api.show_port(vm_port["id"])["binding:host_id"] == allinone.chassis_name

    vm_mod.remove(allinone, record.name)
    assert wait_status(api, vm_port["id"], "DOWN") == "DOWN"
    assert api.show_port(vm_port["id"])["binding:host_id"] == ""
    assert not Path(record.pidfile).exists() and vm_mod.load_record(allinone, record.name) is None
    assert not Path(record.shell).exists()
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
    status, inside = guest.run(Path(record.shell), "ping -c2 -W1 10.83.0.20")
    assert status != 0, inside  # nor does the VM's own traffic get out

    agent.bind(vm_port["id"], "tap", record.tap)
    assert wait_status(api, vm_port["id"], "ACTIVE") == "ACTIVE"
    first_ping(ns, "10.83.0.10", timeout=30)
    echo = send(ns, "10.83.0.10", 50_000)
    assert echo == {**echo, "peer": record.name, "bytes": 50_000}
    status, inside = guest.run(Path(record.shell), "ping -c1 -W5 10.83.0.20")
    assert status == 0, inside


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


@pytest.fixture
def second_host(allinone):
    """A second hypervisor (``ovnet host add``) of the all-in-one; removed at teardown."""
    name = f"hv{secrets.token_hex(3)}"
    hosts.add(allinone, name)
    yield name
    hosts.remove(allinone, name)


def test_vm_on_another_hypervisor_talks_to_a_namespace_across_geneve(allinone, api, agent, make_netns,
                                                                     second_host, vms):
    net = ApiNetwork(api, "10.85.0")
    vm_port, ns_port = net.port(10), net.port(20)
    ns = plug_namespace(agent, make_netns, ns_port)
    record = vms("vm-remote", vm_port["id"], host=second_host)
    assert record.host == second_host and record.netns != allinone.netns
    assert api.show_port(vm_port["id"])["binding:host_id"] == second_host
    lease = lease_of(record)
    assert (lease["ip"], lease["router"], lease["mtu"]) == ("10.85.0.10", "10.85.0.1", str(api.show_network(
        net.network["id"])["mtu"]))
    first_ping(ns, "10.85.0.10")
    echo = send(ns, "10.85.0.10", 500_000)
    assert echo["peer"] == record.name and echo["bytes"] == 500_000
    vm_mod.remove(allinone, record.name)
    assert wait_status(api, vm_port["id"], "DOWN") == "DOWN"


def _nothing_left(settings, name: str, port_id: str, api, binding: str = "") -> None:
    assert vm_mod.load_record(settings, name) is None
    assert not (vm_mod.vm_dir(settings) / f"{name}.pid").exists()
    assert not (settings.log_dir / f"vm-{name}.console.log").exists()
    assert api.show_port(port_id)["binding:host_id"] == binding
    with IPRoute(netns=settings.netns) as ipr:
        assert not ipr.link_lookup(ifname=tap_name(port_id))


def test_bad_input_gets_a_clear_error_and_leaves_nothing(allinone, api, agent, make_netns, vms, tmp_path):
    net = ApiNetwork(api, "10.86.0")
    port = net.port(10)

    with pytest.raises(VmImageError, match="no VM image at"):
        vm_mod.run(allinone, "vm-noimage", port["id"], image=tmp_path / "missing")
    _nothing_left(allinone, "vm-noimage", port["id"], api)

    with pytest.raises(VmError, match="invalid VM name"):
        vm_mod.run(allinone, "bad/name", port["id"])
    with pytest.raises(VmError, match="no host nowhere"):
        vm_mod.run(allinone, "vm-nohost", port["id"], host="nowhere")
    _nothing_left(allinone, "vm-nohost", port["id"], api)
    with pytest.raises(ApiError) as missing:
        vm_mod.run(allinone, "vm-noport", "no-such-port")
    assert missing.value.status == 404

    # a tap name somebody else's device already has
    taken = f"tq{secrets.token_hex(4)}"
    with IPRoute(netns=allinone.netns) as ipr:
        ipr.link("add", ifname=taken, kind="tuntap", mode="tap")
    with pytest.raises(ApiError, match=f"interface {taken} already exists") as conflict:
        vm_mod.run(allinone, "vm-taptaken", port["id"], tap=taken)
    assert conflict.value.status == 409
    _nothing_left(allinone, "vm-taptaken", port["id"], api)
    with IPRoute(netns=allinone.netns) as ipr:
        assert ipr.link_lookup(ifname=taken)  # the other device is untouched
        ipr.link("del", ifname=taken)

    # a port bound to another host, and a port already plugged here
    elsewhere = net.port(11)
    api.update_port(elsewhere["id"], **{"binding:host_id": "other-chassis"})
    with pytest.raises(ApiError, match="bound to host other-chassis") as bound:
        vm_mod.run(allinone, "vm-elsewhere", elsewhere["id"])
    assert bound.value.status == 409
    _nothing_left(allinone, "vm-elsewhere", elsewhere["id"], api, binding="other-chassis")
    here = net.port(12)
    plug_namespace(agent, make_netns, here)
    with pytest.raises(VmError, match="already plugged .* as veth"):
        vm_mod.run(allinone, "vm-plugged", here["id"])
    assert [b["kind"] for b in agent.bindings() if b["port_id"] == here["id"]] == ["veth"]

    # a name already in use
    record = vms("vm-taken", port["id"])
    with pytest.raises(VmError, match=f"VM {record.name} exists"):
        vm_mod.run(allinone, record.name, net.port(13)["id"])
    assert record.pid() is not None and vm_mod.load_record(allinone, record.name) == record


def test_vm_rm_after_its_host_was_removed(allinone, api, second_host, vms):
    net = ApiNetwork(api, "10.89.0")
    record = vms("vm-orphan", net.port(10)["id"], host=second_host)
    pid = record.pid()
    assert pid is not None
    hosts.remove(allinone, second_host)
    vm_mod.remove(allinone, record.name)
    assert not pid_alive(pid) and vm_mod.load_record(allinone, record.name) is None
