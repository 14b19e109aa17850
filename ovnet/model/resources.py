"""The three resources of the Neutron core API as one table the API layer iterates over."""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass

from sqlalchemy.orm import selectinload

from ovnet.model import networks, ports, subnets
from ovnet.model.schema import Network, Port, Subnet
from ovnet.model.serialize import network_dict, port_dict, subnet_dict
from ovnet.model.tenancy import Context


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
    admin_fields: tuple[str, ...] = ()

    def view(self, ctx: Context, row: object) -> dict:
        """``row`` as ``ctx`` may see it: ``admin_fields`` are left out for non-admins (Neutron's
        get_port:binding:* policy shows the binding to admins only)."""
        item = self.to_dict(row)
        if not ctx.is_admin:
            for name in self.admin_fields:
                item.pop(name, None)
        return item


RESOURCES = {
    r.plural: r
    for r in (
        Resource("network", "networks", Network, networks.create_network, networks.update_network,
                 networks.delete_network, network_dict, (selectinload(Network.subnets),), ("create", "update")),
        Resource("subnet", "subnets", Subnet, subnets.create_subnet, subnets.update_subnet,
                 subnets.delete_subnet, subnet_dict, (selectinload(Subnet.allocation_pools),), ()),
        Resource("port", "ports", Port, ports.create_port, ports.update_port, ports.delete_port,
                 port_dict, (selectinload(Port.fixed_ips),), ("create",),
                 ("binding:host_id", "binding:profile", "binding:vif_type", "binding:vif_details")),
    )
}
