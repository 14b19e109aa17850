"""Networks: create, update, delete (Neutron API v2.0 "Networks")."""

from __future__ import annotations

from sqlalchemy import select
from sqlalchemy.orm import Session

from ovnet.model import attributes, quotas, rbac
from ovnet.model.common import Defaults, assign, get_owned, record_change, record_update
from ovnet.model.errors import BadRequest, Conflict, Forbidden
from ovnet.model.schema import Network, Port, Subnet
from ovnet.model.tenancy import Context, owner_project

# Ports that go away with their network instead of keeping it in use (Neutron's NetworkInUse rule).
AUTO_DELETED_OWNERS = ("network:dhcp", "network:router_interface")
COLUMNS = {n: n for n in ("name", "description", "admin_state_up", "mtu", "port_security_enabled")}
IPV6_MIN_MTU = 1280  # RFC 8200 section 5: every IPv6 link carries 1280-byte packets


def _check_mtu(session: Session, net_id: str | None, mtu: int, defaults: Defaults) -> None:
    # Above the overlay's MTU, Geneve packets exceed the underlay and are dropped without an
    # error anywhere, so refuse it here (Neutron's ML2 refuses an MTU above the maximum too).
    if mtu > defaults.network_mtu:
        raise BadRequest(f"Invalid input for operation: Requested MTU {mtu} is too big, the maximum is "
                         f"{defaults.network_mtu} (underlay MTU less the Geneve overhead).", "InvalidInput", "mtu")
    if mtu < IPV6_MIN_MTU and net_id and session.scalar(
            select(Subnet.id).where(Subnet.network_id == net_id, Subnet.ip_version == 6).limit(1)):
        raise BadRequest(f"Invalid input for operation: network {net_id} has an IPv6 subnet, which needs an "
                         f"MTU of at least {IPV6_MIN_MTU}, not {mtu}.", "InvalidInput", "mtu")


def create_network(session: Session, ctx: Context, body: object, defaults: Defaults) -> Network:
    """Create a network from a request body's inner dict; mtu defaults to ``defaults.network_mtu``.

    Raises BadRequest for invalid attributes (InvalidInput for an mtu above ``defaults.network_mtu``,
    the most the overlay carries), Forbidden when a member asks for shared=True or another project.
    """
    values = attributes.validate(attributes.NETWORK, "network", body, create=True)
    if "mtu" in values:
        _check_mtu(session, None, values["mtu"], defaults)
    project_id = owner_project(ctx, values, "network")
    quotas.check(session, project_id, "network", defaults.quotas)
    if values["shared"] and not ctx.is_admin:
        raise Forbidden("rule:create_network:shared is disallowed by policy")
    net = Network(project_id=project_id, tags=list(values["tags"]), mtu=values.get("mtu", defaults.network_mtu),
                  shared=values["shared"])
    assign(net, values, COLUMNS)
    session.add(net)
    session.flush()
    if net.shared:
        rbac.grant(session, net, rbac.EVERYONE)
    record_change(session, net)
    return net


def update_network(session: Session, ctx: Context, network_id: str, body: object, defaults: Defaults) -> Network:
    """Update the given attributes; bumps revision_number when anything changed.

    BadRequest (InvalidInput) for an mtu above ``defaults.network_mtu`` or, on a network with an
    IPv6 subnet, below 1280; Forbidden when a member changes ``shared``.
    """
    values = attributes.validate(attributes.NETWORK, "network", body, create=False)
    net = get_owned(session, ctx, Network, network_id, "update_network")
    if "mtu" in values:
        _check_mtu(session, net.id, values["mtu"], defaults)
    if "shared" in values and not ctx.is_admin:
        raise Forbidden("rule:update_network:shared is disallowed by policy")
    if "shared" in values:
        rbac.set_shared(session, net, values.pop("shared"))
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
    rbac.forget(session, net.id)
    record_change(session, net)
    session.delete(net)
