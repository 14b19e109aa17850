"""Binding a port to a host in one step, with what that host needs to plug it.

A host agent attaching a port needs, besides setting ``binding:host_id``, the port's network (its
MTU) and the subnets of its fixed IPs (prefix lengths, gateways, host routes). ``bind_port`` does
the write and the reads in one transaction, so the attach path costs one API round-trip and no
other host can bind the port between the check and the write.
"""

from __future__ import annotations

from dataclasses import dataclass

from sqlalchemy import select
from sqlalchemy.orm import Session, selectinload

from ovnet.model import ports
from ovnet.model.common import get_visible
from ovnet.model.errors import BadRequest, Conflict, Forbidden
from ovnet.model.schema import Network, Port, Subnet
from ovnet.model.tenancy import Context


# Neutron's device_owner prefix for ports its own services own (routers, DHCP, floating IPs).
NETWORK_OWNED = "network:"


@dataclass(frozen=True)
class Bound:
    """A port just bound (``changed``: this call wrote to it), its network and the subnets of its
    fixed IPs, as rows of the session that bound it."""

    port: Port
    network: Network
    subnets: list[Subnet]
    changed: bool


def bind_port(session: Session, ctx: Context, port_id: str, host: str, attrs: dict | None = None,
              write: bool = True) -> Bound | None:
    """Set ``binding:host_id`` of ``port_id`` to ``host`` (a chassis name) unless it already is,
    together with the other port attributes ``attrs`` (a Neutron port update body, validated as
    one: e.g. device_id, device_owner, binding:profile, name, as Docker's CreateEndpoint sets).

    Admin only, like Neutron's ``update_port:binding:host_id`` policy (else Forbidden); NotFound
    when the port does not exist; Conflict ``PortBindingConflict`` when the port is bound to
    another host (it must be unbound there first), ``PortNotBindable`` when the port's device_owner
    (or the one ``attrs`` give it) is network:* (Neutron's prefix for ports its services own);
    BadRequest for an empty ``host`` or ``attrs`` naming binding:host_id, and as update_port for
    invalid ``attrs``.

    ``write=False`` (in a read-only session) answers only when nothing is to be written, i.e. the
    port is already bound to ``host`` and no ``attrs`` are given, and returns None otherwise: the
    caller then binds in a write transaction. A repeated bind so costs no write lock."""
    if not ctx.is_admin:
        raise Forbidden("rule:update_port:binding:host_id is disallowed by policy", field="binding:host_id")
    if not host:
        raise BadRequest("a host to bind to is required", field="host")
    if attrs and "binding:host_id" in attrs:
        raise BadRequest("binding:host_id is given as the host, not among the attributes", field="binding:host_id")
    port = get_visible(session, ctx, Port, port_id, (selectinload(Port.fixed_ips),))
    owner = (attrs or {}).get("device_owner", port.device_owner) or ""
    if isinstance(owner, str) and owner.startswith(NETWORK_OWNED):
        # ovnet plugs these itself (router ports, OVN's DHCP, NAT addresses): no chassis ever
        # reports such a port installed, so a workload bind would only wait out its timeout.
        raise Conflict(f"port {port_id} has device owner {owner}: a port owned by network:* (a router, DHCP or a "
                       "floating IP) cannot be bound to a workload", "PortNotBindable")
    if port.binding_host_id not in ("", host):
        raise Conflict(f"port {port_id} is bound to host {port.binding_host_id}; unbind it there first",
                       "PortBindingConflict")
    changed = port.binding_host_id != host or bool(attrs)
    if changed and not write:
        return None
    if changed:
        port = ports.update_port(session, ctx, port_id, {**(attrs or {}), "binding:host_id": host})
    network = session.get(Network, port.network_id)
    subnet_ids = sorted({a.subnet_id for a in port.fixed_ips})
    subnets = list(session.scalars(select(Subnet).where(Subnet.id.in_(subnet_ids))
                                   .options(selectinload(Subnet.allocation_pools)))) if subnet_ids else []
    return Bound(port, network, subnets, changed)
