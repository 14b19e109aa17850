"""NB against SB, for ``ovnet check``: every logical switch port NB reports up must have a
Port_Binding in SB claimed by the chassis its port is bound to in the model (``binding:host_id``).

``Logical_Switch_Port.up`` is set by ovn-northd from SB's Port_Binding.up, which the claiming
ovn-controller writes (ovn-architecture(7), "Life Cycle of a VIF"); an up port without that
binding, or claimed by another chassis than the model names, means SB and NB disagree or a chassis
claimed a port it should not have (``options:requested-chassis`` is there to prevent it).
"""

from __future__ import annotations

from ovnet.model.audit import finding

LAYER = "nb-sb"


def nb_vs_sb(bound_to: dict[str, str], up: dict[str, bool], claimed_by: dict[str, str]) -> list[dict]:
    """Findings for the up ports of ``up`` ({port id: LSP.up}, ovnet's LSPs), given the model's
    ``bound_to`` ({port id: binding host id or ""}) and SB's ``claimed_by`` ({logical port: chassis
    name or ""}, ovnet.ovn.sb.port_bindings). Ports the model no longer has are the model-vs-NB
    check's to report. Pure; sorted by port id."""
    out = []
    for port_id in sorted(p for p, is_up in up.items() if is_up and p in bound_to):
        host = bound_to[port_id]
        if port_id not in claimed_by:
            out.append(finding(LAYER, [port_id], f"port {port_id} is up in NB but SB has no Port_Binding for it"))
        elif claimed_by[port_id] != host:
            chassis = claimed_by[port_id] or "no chassis"
            out.append(finding(LAYER, [port_id, host], f"port {port_id} is up in NB and claimed by {chassis} in SB, "
                                                       f"but is bound to {host or 'no host'}"))
    return out
