"""The pure comparisons of ``ovnet check``: a host's inventory and NB/SB against the model."""

from __future__ import annotations

from ovnet.host.audit import host_findings
from ovnet.ovn.audit import nb_vs_sb


def _inventory(**parts) -> dict:
    base = {"chassis": "hv1", "interfaces": [], "plugged": [], "devices": [], "busy": []}
    return {**base, **parts}


def _iface(port_id: str, device: str, installed: bool = True) -> dict:
    return {"port_id": port_id, "kind": "veth", "device": device, "mac": "02:00:00:00:00:01", "installed": installed}


def test_a_host_that_matches_the_model_has_no_findings():
    inv = _inventory(interfaces=[_iface("p1", "vh1")], plugged=["p1", "libvirt-port"],
                     devices=[{"port_id": "p1", "kind": "veth", "device": "vh1", "complete": True}])
    assert host_findings(inv, {"p1": "hv1", "libvirt-port": "hv1", "p2": "hv2", "p3": ""}) == []


def test_each_host_inconsistency_is_one_line_naming_its_objects():
    inv = _inventory(interfaces=[_iface("gone", "vh1"), _iface("p2", "vh2"), _iface("p3", "vh3", installed=False)],
                     plugged=["gone", "p2", "p3"],
                     devices=[{"port_id": "p4", "kind": "tap", "device": "tap4", "complete": True}])
    found = host_findings(inv, {"p2": "hv2", "p3": "hv1", "p4": "hv1"})
    assert [f["problem"] for f in found] == [
        "hv1: OVS interface vh1 belongs to port gone, which does not exist",
        "hv1: OVS interface vh2 belongs to port p2, which is bound to hv2",
        "hv1: port p3's OVS interface vh3 has no ovn-installed",
        "hv1: port p4 is bound here but has no OVS interface",
        "hv1: device tap4 (tap) of port p4 is not on the integration bridge",
    ]
    assert all(f["layer"] == "host" and f["objects"] for f in found)


def test_ports_in_flight_are_left_alone():
    inv = _inventory(interfaces=[_iface("p1", "vh1", installed=False)], plugged=["p1"], busy=["p1", "p2"],
                     devices=[{"port_id": "p2", "kind": "veth", "device": "vh2", "complete": False}])
    assert host_findings(inv, {"p1": "hv1", "p2": "hv1"}) == []


def test_nb_vs_sb_reports_up_ports_claimed_elsewhere_or_not_at_all():
    bound = {"p1": "hv1", "p2": "hv1", "p3": "hv2", "p4": "hv1"}
    up = {"p1": True, "p2": True, "p3": True, "p4": False, "deleted": True}
    claimed = {"p1": "hv1", "p3": "hv1"}
    assert [f["problem"] for f in nb_vs_sb(bound, up, claimed)] == [
        "port p2 is up in NB but SB has no Port_Binding for it",
        "port p3 is up in NB and claimed by hv1 in SB, but is bound to hv2",
    ]


def test_a_vm_tap_of_an_unbound_port_may_wait_off_the_bridge_but_not_one_of_a_deleted_port():
    # Found by the storm: unbind takes a VM's tap off the bridge and keeps it for a rebind.
    inv = _inventory(devices=[{"port_id": "vm1", "kind": "tap", "device": "tapvm1", "complete": True},
                              {"port_id": "gone", "kind": "tap", "device": "tapgone", "complete": True},
                              {"port_id": "p2", "kind": "veth", "device": "vh2", "complete": True}])
    assert [f["problem"] for f in host_findings(inv, {"vm1": "", "p2": ""})] == [
        "hv1: device tapgone (tap) of port gone is not on the integration bridge",
        "hv1: device vh2 (veth) of port p2 is not on the integration bridge",
    ]
