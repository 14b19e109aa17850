"""The resources of the Neutron API as one table the API layer iterates over."""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass

from sqlalchemy.orm import selectinload

from ovnet.model import networks, ports, secgroups, sgrules, subnets
from ovnet.model.schema import Network, Port, SecurityGroup, SecurityGroupRule, Subnet
from ovnet.model.serialize import (
    network_dict,
    port_dict,
    security_group_dict,
    security_group_rule_dict,
    subnet_dict,
)


@dataclass(frozen=True)
class Resource:
    """How to create/update/delete/show one resource type; ``needs_defaults`` names the operations
    ("create", "update") that take the deployment's Defaults as their last argument;
    ``prepare_list(session, ctx)``, when given, runs in a write transaction before a listing."""

    singular: str
    plural: str
    model: type
    create: Callable
    update: Callable
    delete: Callable
    to_dict: Callable[[object], dict]
    load: tuple
    needs_defaults: tuple[str, ...]
    prepare_list: Callable | None = None
    path: str = ""  # the URL collection when it differs from ``plural`` ("security-groups")

    @property
    def collection(self) -> str:
        """The URL segment under /v2.0/ (Neutron's collection name)."""
        return self.path or self.plural


RESOURCES = {
    r.collection: r
    for r in (
        Resource("network", "networks", Network, networks.create_network, networks.update_network,
                 networks.delete_network, network_dict, (selectinload(Network.subnets),), ("create", "update")),
        Resource("subnet", "subnets", Subnet, subnets.create_subnet, subnets.update_subnet,
                 subnets.delete_subnet, subnet_dict, (selectinload(Subnet.allocation_pools),), ()),
        Resource("port", "ports", Port, ports.create_port, ports.update_port, ports.delete_port,
                 port_dict, (selectinload(Port.fixed_ips), selectinload(Port.security_group_bindings)), ("create",)),
        Resource("security_group", "security_groups", SecurityGroup, secgroups.create_security_group,
                 secgroups.update_security_group, secgroups.delete_security_group, security_group_dict,
                 (selectinload(SecurityGroup.rules),), (), secgroups.prepare_list, "security-groups"),
        Resource("security_group_rule", "security_group_rules", SecurityGroupRule, sgrules.create_rule,
                 sgrules.update_rule, sgrules.delete_rule, security_group_rule_dict, (), (), None,
                 "security-group-rules"),
    )
}
