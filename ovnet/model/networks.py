"""Networks: create, update, delete (Neutron API v2.0 "Networks")."""

from __future__ import annotations

from sqlalchemy import select
from sqlalchemy.orm import Session

from ovnet.model import attributes
from ovnet.model.common import Defaults, assign, get_owned, record_change, record_update
from ovnet.model.errors import Conflict, Forbidden
from ovnet.model.schema import Network, Port, Subnet
from ovnet.model.tenancy import Context, owner_project

# Ports that go away with their network instead of keeping it in use (Neutron's NetworkInUse rule).
AUTO_DELETED_OWNERS = ("network:dhcp", "network:router_interface")
COLUMNS = {n: n for n in ("name", "description", "admin_state_up", "mtu", "shared", "port_security_enabled")}


def create_network(session: Session, ctx: Context, body: object, defaults: Defaults) -> Network:
    """Create a network from a request body's inner dict; mtu defaults to ``defaults.network_mtu``.

    Raises BadRequest for invalid attributes, Forbidden when a member asks for shared=True or
    another project.
    """
    values = attributes.validate(attributes.NETWORK, "network", body, create=True)
    project_id = owner_project(ctx, values, "network")
    if values["shared"] and not ctx.is_admin:
        raise Forbidden("rule:create_network:shared is disallowed by policy")
    net = Network(project_id=project_id, tags=list(values["tags"]), mtu=values.get("mtu", defaults.network_mtu))
    assign(net, values, COLUMNS)
    session.add(net)
    session.flush()
    record_change(session, net)
    return net


def update_network(session: Session, ctx: Context, network_id: str, body: object) -> Network:
    """Update the given attributes; bumps revision_number when anything changed."""
    values = attributes.validate(attributes.NETWORK, "network", body, create=False)
    net = get_owned(session, ctx, Network, network_id, "update_network")
    if "shared" in values and not ctx.is_admin:
        raise Forbidden("rule:update_network:shared is disallowed by policy")
    if assign(net, values, COLUMNS):
        record_update(session, net)
    return net


def delete_network(session: Session, ctx: Context, network_id: str) -> None:
    """Delete a network with its subnets and its DHCP/router-interface ports.

    Conflict (NetworkInUse) while any other port is on it.
    """
    net = get_owned(session, ctx, Network, network_id, "delete_network")
    ports = session.scalars(select(Port).where(Port.network_id == net.id)).all()
    if any(p.device_owner not in AUTO_DELETED_OWNERS for p in ports):
        raise Conflict(f"Unable to complete operation on network {net.id}. "
                       "There are one or more ports still in use on the network.", "NetworkInUse")
    for row in [*ports, *session.scalars(select(Subnet).where(Subnet.network_id == net.id))]:
        record_change(session, row)
        session.delete(row)
    session.flush()
    record_change(session, net)
    session.delete(net)
