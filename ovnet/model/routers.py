"""Routers: create, update, delete, interfaces and extra routes (Neutron API v2.0 "Routers", with the
router, ext-gw-mode, extraroute and extraroute-atomic extensions).

A router's interfaces are ports with device_owner ``network:router_interface`` and device_id = the
router's id; by subnet the port takes the subnet's gateway IP. Its external gateway is one port
``network:router_gateway`` on a ``router:external`` network, with addresses from that network's
allocation pools (the same IPAM as every port).
"""

from __future__ import annotations

import ipaddress

from sqlalchemy import select
from sqlalchemy.orm import Session

from ovnet.model import attributes, ports, quotas
from ovnet.model.attributes import Attr
from ovnet.model.common import Defaults, assign, get_owned, get_visible, record_change, record_update
from ovnet.model.errors import BadRequest, Conflict, Forbidden, NotFound
from ovnet.model.schema import FloatingIP, IPAllocation, Network, Port, Router, Subnet, new_id
from ovnet.model.tenancy import OPERATOR, Context, owner_project

INTERFACE = "network:router_interface"
GATEWAY = "network:router_gateway"
ROUTE = attributes.record({"destination": attributes.cidr, "nexthop": attributes.ip_address})
GATEWAY_INFO = attributes.record({}, {
    "network_id": attributes.uuid_string,
    "enable_snat": attributes.boolean,
    "external_fixed_ips": attributes.list_of(
        attributes.record({}, {"subnet_id": attributes.uuid_string, "ip_address": attributes.ip_address})),
})


def _gateway_info(field: str, value: object) -> dict | None:
    """None or {} clears the gateway (``openstack router unset --external-gateway`` sends {})."""
    if value is None:
        return None
    info = GATEWAY_INFO(field, value)
    if info and "network_id" not in info:
        raise attributes.invalid_input(field, f"Missing key(s) ['network_id'] in '{value}'")
    return info or None


ATTRIBUTES = {
    **attributes.COMMON,
    "admin_state_up": Attr(attributes.boolean, default=True),
    "external_gateway_info": Attr(_gateway_info, default=None),
    "routes": Attr(attributes.list_of(ROUTE, unique=True), post=False),  # Neutron: allow_post False
}
COLUMNS = {"name": "name", "description": "description", "admin_state_up": "admin_state_up"}


# -- lookups ----------------------------------------------------------------------------------------
def interface_ports(session: Session, router_id: str) -> list[Port]:
    """The router's interface ports, oldest first."""
    return list(session.scalars(select(Port).where(Port.device_id == router_id, Port.device_owner == INTERFACE)
                                .order_by(Port.created_at, Port.id)))


def _interface_subnets(session: Session, router_id: str) -> list[tuple[Port, Subnet]]:
    rows = session.execute(
        select(Port, Subnet).join(IPAllocation, IPAllocation.port_id == Port.id)
        .join(Subnet, Subnet.id == IPAllocation.subnet_id)
        .where(Port.device_id == router_id, Port.device_owner == INTERFACE)
    ).all()
    return [(p, s) for p, s in rows]


def _bad(msg: str) -> BadRequest:
    return BadRequest(f"Bad router request: {msg}", "BadRequest")


# -- external gateway -------------------------------------------------------------------------------
def external_network(session: Session, ctx: Context, network_id: str, what: str) -> Network:
    """The visible network ``network_id`` if it is ``router:external``: NotFound (NetworkNotFound)
    when invisible, BadRequest when not external (``what`` names the request: "router", "floatingip")."""
    net = get_visible(session, ctx, Network, network_id)
    if not net.router_external:
        raise BadRequest(f"Bad {what} request: Network {network_id} is not a valid external network.", "BadRequest")
    return net


def _fips_of(session: Session, router_id: str) -> list[FloatingIP]:
    return list(session.scalars(select(FloatingIP).where(FloatingIP.router_id == router_id)))


def _clear_gateway(session: Session, router: Router) -> None:
    if not router.gw_network_id:
        return
    if _fips_of(session, router.id):
        raise Conflict(f"Gateway cannot be updated for router {router.id}, since a gateway to external network "
                       f"{router.gw_network_id} is required by one or more floating IPs.",
                       "RouterExternalGatewayInUseByFloatingIp", "external_gateway_info")
    port = session.get(Port, router.gw_port_id) if router.gw_port_id else None
    router.gw_network_id = router.gw_port_id = None
    router.enable_snat = True
    session.flush()
    if port is not None:
        ports.remove_port(session, port)


def _set_gateway(session: Session, ctx: Context, router: Router, info: dict | None, defaults: Defaults) -> None:
    """Make the router's gateway what ``info`` says (None: no gateway). external_fixed_ips and
    enable_snat=false are admin only (Neutron's policy for ext-gw-mode)."""
    if info is None:
        return _clear_gateway(session, router)
    if not ctx.is_admin and ("external_fixed_ips" in info or info.get("enable_snat") is False):
        raise Forbidden("rule:update_router:external_gateway_info is disallowed by policy",
                        field="external_gateway_info")
    net = external_network(session, ctx, info["network_id"], "router")
    if router.gw_network_id and router.gw_network_id != net.id:
        _clear_gateway(session, router)
    fixed = info.get("external_fixed_ips")
    if not router.gw_network_id:
        port = ports.create_service_port(session, net.id, "", GATEWAY, router.id, fixed or None, defaults)
        session.flush()
        router.gw_network_id, router.gw_port_id = net.id, port.id
    elif fixed:
        ports.update_port(session, OPERATOR, router.gw_port_id, {"fixed_ips": fixed})
    router.enable_snat = info.get("enable_snat", True)
    _check_overlap(session, router, [])


# -- checks -----------------------------------------------------------------------------------------
def _check_overlap(session: Session, router: Router, new: list[Subnet]) -> None:
    """BadRequest when two subnets of the router (interfaces, the new ones, the gateway's) overlap:
    a router cannot tell which side an address is on."""
    attached = [s for _, s in _interface_subnets(session, router.id)]
    if router.gw_port_id:
        attached += [session.get(Subnet, a.subnet_id) for a in session.get(Port, router.gw_port_id).fixed_ips]
    seen = {s.id: s for s in attached}
    for subnet in new:
        for other in seen.values():
            if other.id != subnet.id and ipaddress.ip_network(subnet.cidr).overlaps(ipaddress.ip_network(other.cidr)):
                raise _bad(f"Cidr {subnet.cidr} of subnet {subnet.id} overlaps with cidr {other.cidr} of "
                           f"subnet {other.id}.")
        seen[subnet.id] = subnet


def _check_routes(session: Session, router: Router, routes: list[dict]) -> None:
    """InvalidRoutes (400) unless every nexthop is on a subnet of an interface or the gateway and is
    not one of the router's own addresses (Neutron extraroute)."""
    subnets = [s for _, s in _interface_subnets(session, router.id)]
    own = {a.ip_address for p, _ in _interface_subnets(session, router.id) for a in p.fixed_ips}
    if router.gw_port_id:
        gw = session.get(Port, router.gw_port_id)
        subnets += [session.get(Subnet, a.subnet_id) for a in gw.fixed_ips]
        own |= {a.ip_address for a in gw.fixed_ips}
    for route in routes:
        hop = ipaddress.ip_address(route["nexthop"])
        if route["nexthop"] in own or not any(hop in ipaddress.ip_network(s.cidr) for s in subnets):
            reason = ("the nexthop is used by router" if route["nexthop"] in own
                      else "the nexthop is not connected with router")
            raise BadRequest(f"Invalid format for routes: {routes}, {reason}", "InvalidRoutes", "routes")


# -- create / update / delete -----------------------------------------------------------------------
def create_router(session: Session, ctx: Context, body: object, defaults: Defaults) -> Router:
    """Create a router, with its external gateway when ``external_gateway_info`` names a network.

    Raises BadRequest (invalid input, a network that is not external), NotFound (NetworkNotFound),
    Forbidden (another project; external_fixed_ips or enable_snat=false as a member), Conflict
    (IpAddressAlreadyAllocated, IpAddressGenerationFailure for the gateway address).
    """
    values = attributes.validate(ATTRIBUTES, "router", body, create=True)
    project_id = owner_project(ctx, values, "router")
    quotas.check(session, project_id, "router", defaults.quotas)
    router = Router(id=new_id(), project_id=project_id, tags=list(values["tags"]), routes=[], enable_snat=True)
    assign(router, values, COLUMNS)
    session.add(router)
    session.flush()
    _set_gateway(session, ctx, router, values["external_gateway_info"], defaults)
    record_change(session, router)
    return router


def update_router(session: Session, ctx: Context, router_id: str, body: object, defaults: Defaults) -> Router:
    """Update name, description, admin_state_up, external_gateway_info ({} or null removes the
    gateway) and routes (replaced as a whole). Errors as create_router, plus NotFound
    (RouterNotFound), InvalidRoutes, Conflict (RouterExternalGatewayInUseByFloatingIp)."""
    values = attributes.validate(ATTRIBUTES, "router", body, create=False)
    router = get_owned(session, ctx, Router, router_id, "update_router")
    before = (router.gw_network_id, router.gw_port_id, router.enable_snat, list(router.routes))
    if "external_gateway_info" in values:
        _set_gateway(session, ctx, router, values["external_gateway_info"], defaults)
    if "routes" in values:
        _check_routes(session, router, values["routes"])
        router.routes = values["routes"]
    changed = assign(router, values, COLUMNS)
    if changed or "external_gateway_info" in values or before != (
            router.gw_network_id, router.gw_port_id, router.enable_snat, list(router.routes)):
        record_update(session, router)
    return router


def delete_router(session: Session, ctx: Context, router_id: str) -> None:
    """Delete a router and its gateway port. Conflict (RouterInUse) while it has interfaces."""
    router = get_owned(session, ctx, Router, router_id, "delete_router")
    if interface_ports(session, router.id):
        raise Conflict(f"Router {router.id} still has ports", "RouterInUse")
    _clear_gateway(session, router)
    record_change(session, router)
    session.delete(router)


# -- member actions ---------------------------------------------------------------------------------
def _interface_info(router: Router, port: Port, subnet_ids: list[str]) -> dict:
    return {"id": router.id, "tenant_id": router.project_id, "project_id": router.project_id,
            "port_id": port.id, "network_id": port.network_id, "subnet_id": subnet_ids[0] if subnet_ids else None,
            "subnet_ids": subnet_ids}


def _action_body(body: object, action: str) -> dict:
    if not isinstance(body, dict):
        raise BadRequest(f"Bad router request: {action} needs a JSON object", "BadRequest")
    unknown = set(body) - {"subnet_id", "port_id"}
    if unknown:
        raise BadRequest(f"Bad router request: unrecognized attribute(s) {sorted(unknown)}", "BadRequest")
    if "subnet_id" in body and "port_id" in body and action == "add_router_interface":
        raise _bad("Cannot specify both subnet-id and port-id")
    if "subnet_id" not in body and "port_id" not in body:
        raise _bad("Either subnet_id or port_id must be specified")
    return {k: attributes.uuid_string(k, v) for k, v in body.items()}


def add_router_interface(session: Session, ctx: Context, router_id: str, body: object,
                         defaults: Defaults) -> dict:
    """Attach a subnet (the router takes its gateway IP) or an unused port to the router.

    Returns Neutron's interface info {"id", "port_id", "subnet_id", "subnet_ids", "network_id",
    "project_id", "tenant_id"}. Raises NotFound (RouterNotFound; SubnetNotFound/PortNotFound, also
    for another project's subnet or port), BadRequest (a subnet without gateway IP, a subnet already
    attached, overlapping subnets, a port without fixed IPs), Conflict (PortInUse, the gateway
    IP already held by another port: IpAddressAlreadyAllocated).
    """
    req = _action_body(body, "add_router_interface")
    router = get_owned(session, ctx, Router, router_id, "add_router_interface")
    attached = {s.id for _, s in _interface_subnets(session, router.id)}
    if "subnet_id" in req:
        subnet = get_visible(session, ctx, Subnet, req["subnet_id"])
        if not subnet.gateway_ip:
            raise _bad(f"Subnet {subnet.id} does not have a gateway IP.")
        if subnet.id in attached:
            raise _bad(f"Router {router.id} already has a port on subnet {subnet.id}.")
        _check_overlap(session, router, [subnet])
        port = ports.create_service_port(session, subnet.network_id, router.project_id, INTERFACE, router.id,
                                         [{"subnet_id": subnet.id, "ip_address": subnet.gateway_ip}], defaults)
        subnets = [subnet]
    else:
        port = get_visible(session, ctx, Port, req["port_id"])
        if port.device_owner or port.device_id:
            raise Conflict(f"Unable to complete operation on port {port.id} for network {port.network_id}. "
                           f"Port already has an attached device {port.device_id}.", "PortInUse", "port_id")
        if not port.fixed_ips:
            raise _bad("Router port must have at least one fixed IP.")
        subnets = [session.get(Subnet, a.subnet_id) for a in port.fixed_ips]
        for subnet in subnets:
            if subnet.id in attached:
                raise _bad(f"Router {router.id} already has a port on subnet {subnet.id}.")
        _check_overlap(session, router, subnets)
        port.device_owner, port.device_id = INTERFACE, router.id
        record_update(session, port)
    session.flush()
    record_update(session, router)
    return _interface_info(router, port, [s.id for s in subnets])


def remove_router_interface(session: Session, ctx: Context, router_id: str, body: object) -> dict:
    """Detach an interface named by ``subnet_id`` or ``port_id``; its port is deleted.

    Raises NotFound (RouterNotFound, SubnetNotFound, RouterInterfaceNotFoundForSubnet,
    RouterInterfaceNotFound), Conflict (RouterInterfaceInUseByFloatingIP while a floating IP maps
    to an address behind it; RouterInterfaceInUse while an extra route's nexthop is on it).
    """
    req = _action_body(body, "remove_router_interface")
    router = get_owned(session, ctx, Router, router_id, "remove_router_interface")
    pairs = _interface_subnets(session, router.id)
    if "port_id" in req:
        found = [(p, s) for p, s in pairs if p.id == req["port_id"]]
        if not found or ("subnet_id" in req and req["subnet_id"] not in {s.id for _, s in found}):
            raise NotFound(f"Router {router.id} does not have an interface with id {req['port_id']}",
                           "RouterInterfaceNotFound")
    else:
        subnet = get_visible(session, ctx, Subnet, req["subnet_id"])
        found = [(p, s) for p, s in pairs if s.id == subnet.id]
        if not found:
            raise NotFound(f"Router {router.id} has no interface on subnet {subnet.id}",
                           "RouterInterfaceNotFoundForSubnet")
    port = found[0][0]
    subnets = [s for p, s in pairs if p.id == port.id]
    remaining = [ipaddress.ip_network(s.cidr) for p, s in pairs if p.id != port.id]
    for subnet in subnets:
        net = ipaddress.ip_network(subnet.cidr)
        for fip in _fips_of(session, router.id):
            if fip.fixed_ip_address and ipaddress.ip_address(fip.fixed_ip_address) in net:
                raise Conflict(f"Router interface for subnet {subnet.id} on router {router.id} cannot be deleted, "
                               "as it is required by one or more floating IPs.", "RouterInterfaceInUseByFloatingIP")
        for route in router.routes:
            hop = ipaddress.ip_address(route["nexthop"])
            if hop in net and not any(hop in other for other in remaining):
                raise Conflict(f"Router interface for subnet {subnet.id} on router {router.id} cannot be deleted, "
                               "as it is required by one or more routes.", "RouterInterfaceInUse")
    info = _interface_info(router, port, [s.id for s in subnets])
    ports.remove_port(session, port)
    record_update(session, router)
    return info


def _routes_body(body: object) -> list[dict]:
    if not isinstance(body, dict) or set(body) != {"router"} or not isinstance(body["router"], dict) \
            or set(body["router"]) != {"routes"}:
        raise BadRequest('Resource body required: {"router": {"routes": [...]}}', "HTTPBadRequest", "routes")
    return attributes.list_of(ROUTE)("routes", body["router"]["routes"])


def add_extraroutes(session: Session, ctx: Context, router_id: str, body: object) -> Router:
    """Add routes to the router's extra routes, keeping the others (extraroute-atomic); body
    {"router": {"routes": [...]}}. InvalidRoutes as update_router."""
    routes = _routes_body(body)
    router = get_owned(session, ctx, Router, router_id, "add_extraroutes")
    _check_routes(session, router, routes)
    merged = list(router.routes) + [r for r in routes if r not in router.routes]
    if merged != router.routes:
        router.routes = merged
        record_update(session, router)
    return router


def remove_extraroutes(session: Session, ctx: Context, router_id: str, body: object) -> Router:
    """Remove the given routes from the router's extra routes (extraroute-atomic); absent ones are
    ignored, as in Neutron."""
    routes = _routes_body(body)
    router = get_owned(session, ctx, Router, router_id, "remove_extraroutes")
    kept = [r for r in router.routes if r not in routes]
    if kept != router.routes:
        router.routes = kept
        record_update(session, router)
    return router
