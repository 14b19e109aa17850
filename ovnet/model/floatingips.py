"""Floating IPs: create, associate, disassociate, delete (Neutron API v2.0 "Floating IPs").

A floating IP's address is the fixed IP of a port (device_owner ``network:floatingip``, device_id =
the floating IP's id) on the external network, so it comes from that network's allocation pools
through the same IPAM as every port and is never handed out twice. Associating it with a port's
fixed IPv4 address needs a router with an interface on that address's subnet and its gateway on
the floating IP's network.
"""

from __future__ import annotations

import ipaddress

from sqlalchemy import select
from sqlalchemy.orm import Session

from ovnet.model import attributes, ports, quotas
from ovnet.model.attributes import Attr
from ovnet.model.common import Defaults, assign, get_owned, get_visible, record_change, record_update
from ovnet.model.errors import BadRequest, Conflict, Forbidden, NotFound
from ovnet.model.routers import INTERFACE, external_network
from ovnet.model.schema import FloatingIP, IPAllocation, Port, Router, new_id
from ovnet.model.tenancy import Context, owner_project

OWNER = "network:floatingip"
ATTRIBUTES = {
    **attributes.COMMON,
    "floating_network_id": Attr(attributes.uuid_string, put=False, required=True),
    "floating_ip_address": Attr(attributes.ip_address, put=False),
    "subnet_id": Attr(attributes.uuid_string, put=False),
    "port_id": Attr(lambda f, v: None if v is None else attributes.uuid_string(f, v), default=None),
    "fixed_ip_address": Attr(attributes.nullable_ip_address, default=None),
    "router_id": attributes.READ_ONLY,
    "port_details": attributes.READ_ONLY,
}
COLUMNS = {"name": "name", "description": "description"}


def _bad(msg: str) -> BadRequest:
    return BadRequest(f"Bad floatingip request: {msg}", "BadRequest")


def _fixed_ipv4(port: Port, wanted: str | None) -> IPAllocation:
    v4 = [a for a in port.fixed_ips if ipaddress.ip_address(a.ip_address).version == 4]
    if wanted is not None:
        for alloc in v4:
            if alloc.ip_address == wanted:
                return alloc
        raise _bad(f"Port {port.id} does not have fixed ip {wanted}.")
    if not v4:
        raise _bad(f"Port {port.id} does not have any IPv4 address to associate with a floating IP.")
    if len(v4) > 1:
        raise _bad(f"Port {port.id} has multiple fixed IPv4 addresses. Must provide a specific IPv4 address "
                   "when assigning a floating IP.")
    return v4[0]


def _router_for(session: Session, fip: FloatingIP, port: Port, alloc: IPAllocation) -> Router:
    """The router with an interface on ``alloc``'s subnet and its gateway on the floating network."""
    router = session.scalar(
        select(Router).join(Port, (Port.device_id == Router.id) & (Port.device_owner == INTERFACE))
        .join(IPAllocation, IPAllocation.port_id == Port.id)
        .where(IPAllocation.subnet_id == alloc.subnet_id, Router.gw_network_id == fip.floating_network_id)
        .order_by(Router.created_at, Router.id).limit(1)
    )
    if router is None:
        raise NotFound(f"External network {fip.floating_network_id} is not reachable from subnet "
                       f"{alloc.subnet_id}. Therefore, cannot associate Port {port.id} with a Floating IP.",
                       "ExternalGatewayForFloatingIPNotFound")
    return router


def _associate(session: Session, ctx: Context, fip: FloatingIP, port_id: str | None, fixed_ip: str | None) -> None:
    if port_id is None:
        if fixed_ip is not None:
            raise _bad("fixed_ip_address cannot be specified without a port_id")
        fip.port_id = fip.fixed_ip_address = fip.router_id = None
        fip.status = "DOWN"
        return
    port = get_visible(session, ctx, Port, port_id)
    if ports.is_service_owner(port.device_owner):
        raise _bad(f"Port {port.id} has owner {port.device_owner} and cannot be associated with a floating IP.")
    alloc = _fixed_ipv4(port, fixed_ip)
    taken = session.scalar(select(FloatingIP).where(
        FloatingIP.floating_network_id == fip.floating_network_id, FloatingIP.port_id == port.id,
        FloatingIP.fixed_ip_address == alloc.ip_address, FloatingIP.id != fip.id))
    if taken is not None:
        raise Conflict(f"Cannot associate floating IP {fip.floating_ip_address} ({fip.id}) with port {port.id} "
                       f"using fixed IP {alloc.ip_address}, as that fixed IP already has a floating IP on external "
                       f"network {fip.floating_network_id}.", "FloatingIPPortAlreadyAssociated")
    router = _router_for(session, fip, port, alloc)
    fip.port_id, fip.fixed_ip_address, fip.router_id = port.id, alloc.ip_address, router.id
    fip.status = "ACTIVE"


def create_floatingip(session: Session, ctx: Context, body: object, defaults: Defaults) -> FloatingIP:
    """Create a floating IP on ``floating_network_id`` (an address from its pools, or exactly
    ``floating_ip_address``), associated at once when ``port_id`` is given.

    Raises BadRequest (invalid input, a network that is not external, a port without a suitable
    IPv4 address), NotFound (NetworkNotFound, PortNotFound, ExternalGatewayForFloatingIPNotFound),
    Conflict (IpAddressAlreadyAllocated, IpAddressGenerationFailure when the pools are exhausted,
    FloatingIPPortAlreadyAssociated), Forbidden (another project, or ``floating_ip_address``, as a
    member).
    """
    values = attributes.validate(ATTRIBUTES, "floatingip", body, create=True)
    if "floating_ip_address" in values and not ctx.is_admin:
        # Neutron's default policy (create_floatingip:floating_ip_address): a member takes what the
        # pools give, or a subnet's next address, never a chosen public address.
        raise Forbidden("rule:create_floatingip:floating_ip_address is disallowed by policy",
                        field="floating_ip_address")
    project_id = owner_project(ctx, values, "floatingip")
    quotas.check(session, project_id, "floatingip", defaults.quotas)
    net = external_network(session, ctx, values["floating_network_id"], "floatingip")
    fixed = None
    if "floating_ip_address" in values:
        fixed = [{"ip_address": values["floating_ip_address"]}]
        if "subnet_id" in values:
            fixed[0]["subnet_id"] = values["subnet_id"]
    elif "subnet_id" in values:
        fixed = [{"subnet_id": values["subnet_id"]}]
    fip = FloatingIP(id=new_id(), project_id=project_id, tags=list(values["tags"]), floating_network_id=net.id,
                     status="DOWN")
    port = ports.create_service_port(session, net.id, "", OWNER, fip.id, fixed, defaults)
    v4 = [a.ip_address for a in port.fixed_ips if ipaddress.ip_address(a.ip_address).version == 4]
    if not v4:
        raise _bad(f"Network {net.id} has no IPv4 subnet to take a floating IP from.")
    session.flush()
    fip.floating_port_id, fip.floating_ip_address = port.id, v4[0]
    assign(fip, values, COLUMNS)
    session.add(fip)
    session.flush()
    _associate(session, ctx, fip, values["port_id"], values["fixed_ip_address"])
    record_change(session, fip)
    return fip


def update_floatingip(session: Session, ctx: Context, fip_id: str, body: object) -> FloatingIP:
    """Associate (``port_id`` [+ ``fixed_ip_address``]), re-associate or disassociate
    (``port_id`` null) a floating IP; also name and description. Errors as create_floatingip,
    plus NotFound (FloatingIPNotFound)."""
    values = attributes.validate(ATTRIBUTES, "floatingip", body, create=False)
    fip = get_owned(session, ctx, FloatingIP, fip_id, "update_floatingip")
    before = (fip.port_id, fip.fixed_ip_address, fip.router_id)
    if "port_id" in values:
        _associate(session, ctx, fip, values["port_id"], values.get("fixed_ip_address"))
    elif "fixed_ip_address" in values:
        raise _bad("fixed_ip_address cannot be specified without a port_id")
    changed = assign(fip, values, COLUMNS)
    if changed or before != (fip.port_id, fip.fixed_ip_address, fip.router_id):
        record_update(session, fip)
    return fip


def delete_floatingip(session: Session, ctx: Context, fip_id: str) -> None:
    """Delete a floating IP; its address is free again at once."""
    fip = get_owned(session, ctx, FloatingIP, fip_id, "delete_floatingip")
    port = session.get(Port, fip.floating_port_id)
    record_change(session, fip)
    session.delete(fip)
    session.flush()
    if port is not None:
        ports.remove_port(session, port)
