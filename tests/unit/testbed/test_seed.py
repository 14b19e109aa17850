"""The seed picture's expectations, as plain data."""

from __future__ import annotations

import ipaddress

from ovnet.testbed import seed


def test_every_nic_lies_in_its_network():
    for nic in seed.nics():
        assert ipaddress.ip_address(nic.address) in ipaddress.ip_network(seed.NETWORKS[nic.project][nic.network])


def test_pairs_are_ordered_and_skip_a_workloads_own_addresses():
    pairs = seed.pairs()
    assert len(pairs) == len(set(pairs)) == 8 * 8 - 8 - 2 * 2  # 8 NICs; A-vm2 and B-vm2 have two
    assert all(src.workload != dst.workload for src, dst in pairs)
    assert all((dst, src) in pairs for src, dst in pairs)


def test_only_same_project_same_network_is_expected():
    reachable = {(s.label, d.label) for s, d in seed.pairs() if seed.expected(s, d)}
    assert reachable == {
        ("A-vm1 192.168.1.3", "A-vm2 192.168.1.5"), ("A-vm2 192.168.1.5", "A-vm1 192.168.1.3"),
        ("A-vm2 192.168.5.2", "A-vm3 192.168.5.9"), ("A-vm3 192.168.5.9", "A-vm2 192.168.5.2"),
        ("B-vm1 192.168.1.3", "B-vm2 192.168.1.5"), ("B-vm2 192.168.1.5", "B-vm1 192.168.1.3"),
        ("B-vm2 192.168.9.3", "B-vm3 192.168.9.7"), ("B-vm3 192.168.9.7", "B-vm2 192.168.9.3"),
    }


def test_identical_addresses_across_projects_are_never_expected():
    twins = [(s, d) for s, d in seed.pairs() if s.address == d.address or
             (s.project != d.project and s.network == d.network)]
    assert twins and not any(seed.expected(s, d) for s, d in twins)


def test_some_reachable_pairs_cross_hypervisors_and_some_do_not():
    crossing = {seed.crosses(s, d) for s, d in seed.pairs() if seed.expected(s, d)}
    assert crossing == {True, False}


def test_vms_meet_namespaces_on_one_hypervisor_and_across_geneve():
    kinds = {w.name: w.kind for w in seed.WORKLOADS}
    assert sorted(n for n, k in kinds.items() if k == "vm") == ["A-vm2", "B-vm3"]
    assert len(next(w for w in seed.WORKLOADS if w.name == "A-vm2").nics) == 2
    vm_peers = [(s, d) for s, d in seed.pairs() if seed.expected(s, d) and kinds[s.workload] == "vm"]
    assert {kinds[d.workload] for _, d in vm_peers} == {"netns", "podman"}
    vm_to_netns = [(s, d) for s, d in vm_peers if kinds[d.workload] == "netns"]
    assert {seed.crosses(s, d) for s, d in vm_to_netns} == {True, False}


def test_the_container_shares_an_address_with_another_projects_workload_and_crosses_geneve():
    containers = [w for w in seed.WORKLOADS if w.kind == "docker"]
    assert [w.name for w in containers] == ["B-vm1"] and len(containers[0].nics) == 1
    nic = containers[0].nics[0]
    assert [n.workload for n in seed.nics() if n.address == nic.address and n.project != nic.project] == ["A-vm1"]
    peers = [(s, d) for s, d in seed.pairs() if seed.expected(s, d) and nic in (s, d)]
    assert peers and all(seed.crosses(s, d) for s, d in peers)


def test_one_workload_is_a_podman_container_next_to_a_vm():
    podman = [w for w in seed.WORKLOADS if w.kind == "podman"]
    assert [w.name for w in podman] == ["A-vm3"] and len(podman[0].nics) == 1
    peers = {d.workload for s, d in seed.pairs() if seed.expected(s, d) and s.workload == "A-vm3"}
    assert peers == {"A-vm2"}  # a QEMU VM, so the matrix has CNI <-> VM cells
