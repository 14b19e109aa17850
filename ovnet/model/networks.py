"""Networks: create, update, delete (Neutron API v2.0 "Networks")."""

from __future__ import annotations

from sqlalchemy import select
from sqlalchemy.orm import Session

from ovnet.model import attributes, quotas, rbac, routers
from ovnet.model.common import Defaults, assign, get_owned, record_change, record_update
from ovnet.model.errors import BadRequest, Conflict, Forbidden
from ovnet.model.schema import Network, Port, Router, Subnet
from ovnet.model.tenancy import Context, owner_project

# Ports that go away with their network instead of keeping it in use (Neutron's NetworkInUse rule);
# a router interface keeps it in use until ``router remove subnet``, as in Neutron. Besides DHCP's:
# the ready ports a host agent's CNI pool holds for containers to come (ovnet.host.cni.pool), no
# workload's yet.
AUTO_DELETED_OWNERS = ("network:dhcp", "compute:cni-pool")
# A front-end that adopts a network it did not create (a Docker network made with
# ``-o ovnet.network=NAME``) tags it ``in-use-by:<user>``: the network cannot be deleted while the
# tag is there, as Neutron refuses while ports are on it; a Docker network without containers
# has no ports, and deleting its ovnet network under it left an error that blamed Docker.
IN_USE_TAG = "in-use-by:"
COLUMNS = {n: n for n in ("name", "description", "admin_state_up", "mtu", "port_security_enabled")}
COLUMNS.update({"router:external": "router_external", "provider:network_type": "provider_network_type",
                "provider:physical_network": "provider_physical_network",
                "provider:segmentation_id": "provider_segmentation_id"})
# Neutron's policy: create_network:router:external, create_network:provider:* are admin only.
ADMIN_ONLY = ("router:external", "provider:network_type", "provider:physical_network", "provider:segmentation_id")
VLAN_RANGE = (1, 4094)  # IEEE 802.1Q usable VLAN ids
IPV6_MIN_MTU = 1280  # RFC 8200 section 5: every IPv6 link carries 1280-byte packets


def _check_admin_only(ctx: Context, body: dict, values: dict, action: str) -> None:
    # Mentioning an attribute with its default value is fine on create (as for ports); any other
    # value, and any mention on update, is the operator's call.
    if ctx.is_admin:
        return
    for name in ADMIN_ONLY:
        if name in body and (action == "update_network" or values[name] not in (None, False)):
            raise Forbidden(f"rule:{action}:{name} is disallowed by policy", field=name)


def _check_provider(values: dict) -> None:
    """Normalise the provider:* attributes in ``values`` (Neutron "provider" extension): geneve
    (the default) has neither physical network nor segmentation id (OVN picks the tunnel key);
    flat needs a physical network and no id; vlan needs both, the id in 1..4094."""
    kind = values.get("provider:network_type") or (
        "flat" if values.get("provider:physical_network") else "geneve")
    values["provider:network_type"] = kind
    physnet, seg = values.get("provider:physical_network"), values.get("provider:segmentation_id")
    if kind == "geneve" and physnet:
        raise BadRequest("Invalid input for operation: provider:physical_network specified for geneve network.",
                         "InvalidInput", "provider:physical_network")
    if kind in ("flat", "vlan") and not physnet:
        raise BadRequest(f"Invalid input for operation: provider:physical_network required for {kind} provider "
                         "network.", "InvalidInput", "provider:physical_network")
    if kind in ("flat", "geneve") and seg is not None:
        raise BadRequest(f"Invalid input for operation: provider:segmentation_id specified for {kind} network.",
                         "InvalidInput", "provider:segmentation_id")
    if kind == "vlan" and (seg is None or not VLAN_RANGE[0] <= seg <= VLAN_RANGE[1]):
        raise BadRequest(f"Invalid input for operation: provider:segmentation_id {seg} out of range "
                         f"({VLAN_RANGE[0]} through {VLAN_RANGE[1]}).", "InvalidInput", "provider:segmentation_id")


def max_mtu(network_type: str, defaults: Defaults) -> int:
    """The largest MTU (bytes) a network of ``network_type`` carries: the overlay's for geneve, the
    underlay's for flat and vlan (their frames go out of a provider bridge as they are)."""
    return defaults.network_mtu if network_type == "geneve" else defaults.physical_mtu


def _check_mtu(session: Session, net_id: str | None, mtu: int, defaults: Defaults,
               network_type: str = "geneve") -> None:
    # Above the overlay's MTU, Geneve packets exceed the underlay and are dropped without an
    # error anywhere, so refuse it here (Neutron's ML2 refuses an MTU above the maximum too).
    limit = max_mtu(network_type, defaults)
    if mtu > limit:
        why = "underlay MTU less the Geneve overhead" if network_type == "geneve" else "the physical network's MTU"
        raise BadRequest(f"Invalid input for operation: Requested MTU {mtu} is too big, the maximum is "
                         f"{limit} ({why}).", "InvalidInput", "mtu")
    if mtu < IPV6_MIN_MTU and net_id and session.scalar(
            select(Subnet.id).where(Subnet.network_id == net_id, Subnet.ip_version == 6).limit(1)):
        raise BadRequest(f"Invalid input for operation: network {net_id} has an IPv6 subnet, which needs an "
                         f"MTU of at least {IPV6_MIN_MTU}, not {mtu}.", "InvalidInput", "mtu")


def create_network(session: Session, ctx: Context, body: object, defaults: Defaults) -> Network:
    """Create a network from a request body's inner dict; mtu defaults to ``defaults.network_mtu``.

    Raises BadRequest for invalid attributes (InvalidInput for an mtu above ``defaults.network_mtu``,
    the most the overlay carries, or for flat/vlan above ``defaults.physical_mtu``; inconsistent
    provider:* attributes), Forbidden when a member asks for shared=True, another project,
    router:external or provider:* (admin only, as Neutron's policy).
    """
    values = attributes.validate(attributes.NETWORK, "network", body, create=True)
    _check_admin_only(ctx, body, values, "create_network")
    _check_provider(values)
    kind = values["provider:network_type"]
    if "mtu" in values:
        _check_mtu(session, None, values["mtu"], defaults, kind)
    project_id = owner_project(ctx, values, "network")
    quotas.check(session, project_id, "network", defaults.quotas)
    if values["shared"] and not ctx.is_admin:
        raise Forbidden("rule:create_network:shared is disallowed by policy")
    net = Network(project_id=project_id, tags=list(values["tags"]), mtu=values.get("mtu", max_mtu(kind, defaults)),
                  shared=values["shared"])
    assign(net, values, COLUMNS)
    session.add(net)
    session.flush()
    if net.shared:
        rbac.grant(session, net, rbac.EVERYONE)
    if net.router_external:
        rbac.grant(session, net, rbac.EVERYONE, rbac.EXTERNAL)
    record_change(session, net)
    return net


def update_network(session: Session, ctx: Context, network_id: str, body: object, defaults: Defaults) -> Network:
    """Update the given attributes; bumps revision_number when anything changed.

    BadRequest (InvalidInput) for an mtu above ``defaults.network_mtu`` or, on a network with an
    IPv6 subnet, below 1280; Forbidden when a member changes ``shared``.
    """
    values = attributes.validate(attributes.NETWORK, "network", body, create=False)
    net = get_owned(session, ctx, Network, network_id, "update_network")
    _check_admin_only(ctx, body, values, "update_network")
    if "mtu" in values:
        _check_mtu(session, net.id, values["mtu"], defaults, net.provider_network_type)
    if "shared" in values and not ctx.is_admin:
        raise Forbidden("rule:update_network:shared is disallowed by policy")
    if values.get("router:external") is False and net.router_external and _external_users(session, net.id):
        raise Conflict(f"External network {net.id} cannot be updated, since it has existing gateway ports.",
                       "ExternalNetworkInUse", "router:external")
    if "shared" in values:
        rbac.set_shared(session, net, values.pop("shared"))
    if "router:external" in values:
        rbac.set_external(session, net, values.pop("router:external"))
    old_mtu = net.mtu
    if assign(net, values, COLUMNS):
        record_update(session, net)
    if net.mtu != old_mtu:
        _rederive_routers(session, net.id)
    return net


def _rederive_routers(session: Session, network_id: str) -> None:
    # A router's gateway_mtu is the smallest MTU of its interfaces' networks, which the router
    # does not refer to (its interfaces refer to it): without its own outbox row it would follow
    # an MTU change only at the next full reconcile. Its API view is unchanged: no revision bump.
    interfaces = select(Port.device_id).where(Port.network_id == network_id, Port.device_owner == routers.INTERFACE)
    for router in session.scalars(select(Router).where(Router.id.in_(interfaces))):
        record_change(session, router)


def _external_users(session: Session, network_id: str) -> bool:
    return session.scalar(select(Port.id).where(
        Port.network_id == network_id, Port.device_owner.in_(("network:router_gateway", "network:floatingip"))
    ).limit(1)) is not None


def delete_network(session: Session, ctx: Context, network_id: str) -> None:
    """Delete a network with its subnets and its DHCP/router-interface ports.

    Conflict (NetworkInUse) while any other port is on it (router interfaces and gateways and
    floating IPs included: they go with ``router remove subnet``, ``router unset``, ``floating ip delete``),
    and while a tag ``in-use-by:<user>`` names a front-end that uses it (the message names them).
    """
    net = get_owned(session, ctx, Network, network_id, "delete_network")
    users = [t[len(IN_USE_TAG):] for t in net.tags if t.startswith(IN_USE_TAG)]
    if users:
        raise Conflict(f"Unable to complete operation on network {net.id}. It is in use by "
                       f"{', '.join(users)} (tags {IN_USE_TAG}...); remove that user first.", "NetworkInUse")
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
