"""The seed picture's expectations, as plain data: networks, routers, floating IPs, groups."""

from __future__ import annotations

import ipaddress
from collections import Counter

from ovnet.testbed import seed

WORLD = seed.World(seed.outside_nic("10.50.50.1"), {"A-vm1": "10.50.50.11", "B-vm1": "10.50.50.12",
                                                    "A-vm3": "10.50.50.13"},
                   {"tenant-a": "10.50.50.20", "tenant-b": "10.50.50.21"})
INSIDE = [(s, d) for s, d in seed.pairs(WORLD) if WORLD.outside not in (s, d)]


def _reachable(src, dst) -> bool:
    return seed.expect(src, dst, WORLD).reachable


def test_every_nic_lies_in_its_network():
    for nic in seed.nics():
        assert ipaddress.ip_address(nic.address) in ipaddress.ip_network(seed.NETWORKS[nic.project][nic.network])


def test_pairs_are_ordered_skip_a_workloads_own_addresses_and_add_the_outside_host():
    pairs = seed.pairs(WORLD)
    assert len(INSIDE) == len(set(INSIDE)) == 8 * 8 - 8 - 2 * 2  # 8 NICs; A-vm2 and B-vm2 have two
    assert all(src.workload != dst.workload for src, dst in INSIDE)
    assert all((dst, src) in INSIDE for src, dst in INSIDE)
    assert [s for s, d in pairs if d == WORLD.outside] == seed.nics()  # every NIC -> the outside host
    assert [(d.workload, d.address) for s, d in pairs if s == WORLD.outside] == [
        ("A-vm1", "10.50.50.11"), ("B-vm1", "10.50.50.12"), ("A-vm3", "10.50.50.13")]


def test_same_project_same_network_is_reachable_as_before():
    same = {(s.label, d.label) for s, d in INSIDE if seed.expect(s, d, WORLD).reason == "same network"}
    assert same == {
        ("A-vm1 192.168.1.3", "A-vm2 192.168.1.5"), ("A-vm2 192.168.1.5", "A-vm1 192.168.1.3"),
        ("A-vm2 192.168.5.2", "A-vm3 192.168.5.9"), ("A-vm3 192.168.5.9", "A-vm2 192.168.5.2"),
        ("B-vm1 192.168.1.3", "B-vm2 192.168.1.5"), ("B-vm2 192.168.1.5", "B-vm1 192.168.1.3"),
        ("B-vm2 192.168.9.3", "B-vm3 192.168.9.7"), ("B-vm3 192.168.9.7", "B-vm2 192.168.9.3"),
    }
    assert all(_reachable(*p) for p in INSIDE if seed.expect(*p, WORLD).reason == "same network")


def test_the_router_joins_a_projects_subnets_both_ways_between_single_nic_workloads():
    routed = {(s.workload, d.workload) for s, d in INSIDE if seed.expect(s, d, WORLD).reason == "routed"}
    assert {("A-vm1", "A-vm3"), ("A-vm3", "A-vm1"), ("B-vm1", "B-vm3"), ("B-vm3", "B-vm1")} <= routed
    assert all(_reachable(s, d) for s, d in INSIDE if seed.expect(s, d, WORLD).reason == "routed")


def test_a_two_nic_workload_answers_by_its_nic_on_the_callers_subnet():
    a1 = seed.nics()[0]
    a2_eth1 = next(n for n in seed.nics() if n.workload == "A-vm2" and n.ifname == "eth1")
    assert seed.reply_nic("A-vm2", a1.address).ifname == "eth0"
    assert seed.expect(a1, a2_eth1, WORLD) == seed.Expectation(False, "asymmetric")
    assert seed.expect(a2_eth1, a1, WORLD) == seed.Expectation(False, "no route")  # default route on eth0


def test_projects_never_meet_at_private_addresses():
    across = [(s, d) for s, d in INSIDE if s.project != d.project]
    assert across and not any(_reachable(s, d) for s, d in across)
    assert {seed.expect(s, d, WORLD).reason for s, d in across} == {"isolated", "no route"}


def test_every_nic_with_a_route_reaches_the_outside_host_by_its_floating_ip_or_snat():
    out = {s.label + " " + s.ifname: seed.expect(s, WORLD.outside, WORLD) for s in seed.nics()}
    assert out["A-vm1 192.168.1.3 eth0"] == seed.Expectation(True, "floating IP", "10.50.50.11")
    assert out["A-vm3 192.168.5.9 eth0"] == seed.Expectation(True, "floating IP", "10.50.50.13")
    assert out["B-vm2 192.168.1.5 eth0"] == seed.Expectation(True, "SNAT", "10.50.50.21")
    assert out["A-vm2 192.168.5.2 eth1"] == seed.Expectation(False, "no route")


def test_the_outside_host_reaches_the_floating_ips_its_groups_open_and_not_a3s():
    seen = {d.workload: seed.expect(WORLD.outside, d, WORLD) for d in WORLD.fip_nics()}
    assert seen["A-vm1"].reachable and seen["B-vm1"].reachable
    assert seen["A-vm3"] == seed.Expectation(False, f"blocked by group {seed.DEFAULT_GROUP}")


def test_every_reason_is_explained_and_used():
    reasons = Counter(seed.expect(s, d, WORLD).reason for s, d in seed.pairs(WORLD))
    assert set(reasons) == set(seed.REASONS)


def test_some_reachable_pairs_cross_hypervisors_and_some_do_not():
    crossing = {seed.crosses(s, d) for s, d in INSIDE if _reachable(s, d)}
    assert crossing == {True, False}


def test_vms_meet_namespaces_on_one_hypervisor_and_across_geneve():
    kinds = {w.name: w.kind for w in seed.WORKLOADS}
    assert sorted(n for n, k in kinds.items() if k == "vm") == ["A-vm2", "B-vm3"]
    assert len(next(w for w in seed.WORKLOADS if w.name == "A-vm2").nics) == 2
    vm_peers = [(s, d) for s, d in INSIDE if _reachable(s, d) and kinds[s.workload] == "vm"]
    assert {kinds[d.workload] for _, d in vm_peers} >= {"netns", "podman"}
    vm_to_netns = [(s, d) for s, d in vm_peers if kinds[d.workload] == "netns"]
    assert {seed.crosses(s, d) for s, d in vm_to_netns} == {True, False}


def test_the_container_shares_an_address_with_another_projects_workload_and_crosses_geneve():
    containers = [w for w in seed.WORKLOADS if w.kind == "docker"]
    assert [w.name for w in containers] == ["B-vm1"] and len(containers[0].nics) == 1
    nic = containers[0].nics[0]
    assert [n.workload for n in seed.nics() if n.address == nic.address and n.project != nic.project] == ["A-vm1"]
    peers = [(s, d) for s, d in INSIDE if _reachable(s, d) and nic in (s, d)]
    assert peers and all(seed.crosses(s, d) for s, d in peers)


def test_one_workload_is_a_podman_container_next_to_a_vm():
    podman = [w for w in seed.WORKLOADS if w.kind == "podman"]
    assert [w.name for w in podman] == ["A-vm3"] and len(podman[0].nics) == 1
    peers = {d.workload for s, d in INSIDE if _reachable(s, d) and s.workload == "A-vm3"}
    assert peers == {"A-vm2", "A-vm1"}  # a QEMU VM, so the matrix has CNI <-> VM cells; A-vm1 routed
