"""A host's OVS and devices against the model, for ``ovnet check`` (pure: data in, findings out).

Rules (DESIGN.md "Attaching a port on a host", principle 3): every OVS interface ovnet made on a
host belongs to a port bound to that host; every port bound to a host has an interface there
(ovnet's or another's, e.g. libvirt's tap) and ovnet's carries ``ovn-installed`` (ovn-controller's
mark that the port's flows are in, ovn-architecture(7)); every ovnet host-end device (veth host
end, tap, found by its ``ovnet:<port id>:<kind>`` alias) is on the integration bridge, except a tap
of a port no longer bound here (a VM's NIC kept for a rebind). Ports being
attached or detached while the inventory was taken are skipped: they are allowed to be half-made.

Findings are dicts {"layer": "host", "objects": [ids and names], "problem": one line naming them}.
"""

from __future__ import annotations

LAYER = "host"


def _finding(objects: list[str], problem: str) -> dict:
    return {"layer": LAYER, "objects": objects, "problem": problem}


def host_findings(inventory: dict, bound_to: dict[str, str]) -> list[dict]:
    """Findings for one host's ``inventory`` (ovnet.host.binding.Binder.inventory, from the host's
    agent) against ``bound_to`` ({port id: binding host id or ""} of every port in the model)."""
    chassis, busy = inventory["chassis"], set(inventory["busy"])
    out = []
    on_bridge = set()
    for iface in inventory["interfaces"]:
        port_id, device = iface["port_id"], iface["device"]
        on_bridge.add(device)
        if port_id in busy:
            continue
        if port_id not in bound_to:
            out.append(_finding([port_id, device], f"{chassis}: OVS interface {device} belongs to port {port_id}, "
                                                   "which does not exist"))
        elif bound_to[port_id] != chassis:
            out.append(_finding([port_id, device], f"{chassis}: OVS interface {device} belongs to port {port_id}, "
                                                   f"which is bound to {bound_to[port_id] or 'no host'}"))
        elif not iface["installed"]:
            out.append(_finding([port_id, device], f"{chassis}: port {port_id}'s OVS interface {device} "
                                                   "has no ovn-installed"))
    plugged = set(inventory["plugged"])
    for port_id in sorted(p for p, host in bound_to.items() if host == chassis and p not in plugged | busy):
        out.append(_finding([port_id], f"{chassis}: port {port_id} is bound here but has no OVS interface"))
    for dev in inventory["devices"]:
        if dev["device"] in on_bridge or dev["port_id"] in busy:
            continue
        # A tap of an existing port unbound from here is a VM's NIC waiting for a rebind: unbind
        # takes a tap off the bridge only, since QEMU never reopens a deleted one (DESIGN.md).
        if dev["kind"] == "tap" and dev["port_id"] in bound_to and bound_to[dev["port_id"]] != chassis:
            continue
        out.append(_finding([dev["port_id"], dev["device"]],
                            f"{chassis}: device {dev['device']} ({dev['kind']}) of port {dev['port_id']} "
                            "is not on the integration bridge"))
    return out
