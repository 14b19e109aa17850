"""The resources of the Neutron API (core, router, floating IPs) as one table the API layer iterates over."""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass, field

from sqlalchemy.orm import selectinload

from ovnet.model import floatingips, networks, ports, routers, subnets
from ovnet.model.schema import FloatingIP, Network, Port, Router, Subnet
from ovnet.model.serialize import floatingip_dict, network_dict, port_dict, router_dict, subnet_dict


@dataclass(frozen=True)
class Action:
    """A member action ``PUT /v2.0/<plural>/<id>/<name>``: ``run(session, ctx, id, body[, defaults])``
    returns a dict (sent as is) or a row of the resource (sent as {singular: dict})."""

    run: Callable
    needs_defaults: bool = False


@dataclass(frozen=True)
class Resource:
    """How to create/update/delete/show one resource type; ``needs_defaults`` names the operations
    ("create", "update") that take the deployment's Defaults as their last argument."""

    singular: str
    plural: str
    model: type
    create: Callable
    update: Callable
    delete: Callable
    to_dict: Callable[[object], dict]
    load: tuple
    needs_defaults: tuple[str, ...]
    actions: dict[str, Action] = field(default_factory=dict)


RESOURCES = {
    r.plural: r
    for r in (
        Resource("network", "networks", Network, networks.create_network, networks.update_network,
                 networks.delete_network, network_dict, (selectinload(Network.subnets),), ("create", "update")),
        Resource("subnet", "subnets", Subnet, subnets.create_subnet, subnets.update_subnet,
                 subnets.delete_subnet, subnet_dict, (selectinload(Subnet.allocation_pools),), ()),
        Resource("port", "ports", Port, ports.create_port, ports.update_port, ports.delete_port,
                 port_dict, (selectinload(Port.fixed_ips),), ("create",)),
        Resource("router", "routers", Router, routers.create_router, routers.update_router, routers.delete_router,
                 router_dict, (), ("create", "update"), {
                     "add_router_interface": Action(routers.add_router_interface, needs_defaults=True),
                     "remove_router_interface": Action(routers.remove_router_interface),
                     "add_extraroutes": Action(routers.add_extraroutes),
                     "remove_extraroutes": Action(routers.remove_extraroutes),
                 }),
        Resource("floatingip", "floatingips", FloatingIP, floatingips.create_floatingip,
                 floatingips.update_floatingip, floatingips.delete_floatingip, floatingip_dict, (), ("create",)),
    )
}
