"""The resource registry: every resource kind of the API declared in one place.

One ``Kind`` per resource says everything the generic parts need, so that the API routes, the
listing code, the syncer's snapshot and the related-id logic iterate over ``KINDS`` and know
no resource by name:

- ``name``/``plural``/``model``: registry key (also the outbox's ``resource_type`` and the OVN
  registry's key, ``model.noun.kind``), URL collection, SQLAlchemy class;
- ``create``/``update``/``delete``: the model module's operations, which validate the request
  body against its attribute table (``attributes.validate``) and raise model errors;
- ``to_dict``: the Neutron serializer, used by show, list and the syncer's snapshot alike;
- ``columns``: what list may filter and sort on; ``children``: child rows loaded with each row;
- ``depends_on``: the kinds an object refers to (``Dependency``), which replaces hand-written
  related-id logic: the syncer reloads what a change depends on and re-derives what follows it;
- ``actions``: member actions, ``PUT /v2.0/{plural}/{id}/{action}``;
- ``extensions``: Neutron extension aliases the kind brings (GET /v2.0/extensions).

The OVN half of an entry (which NB rows a kind produces) lives in ``ovnet.ovn.registry`` under
the same name, since the model may import nothing of ovnet but itself.

Adding a resource: a model module (create/update/delete and its attribute table, the table in
schema.py, a migration), a serializer, a ``Kind`` here; if it has NB rows a translate function
and an entry in ``ovnet.ovn.registry``; tests. Nothing in the API routes, the syncer or the NB
writer changes.
"""

from __future__ import annotations

from collections.abc import Callable, Iterable, Mapping
from dataclasses import dataclass, field
from typing import Any

from ovnet.model import (
    addressscopes,
    attributes,
    floatingips,
    ipam,
    networks,
    ports,
    rbac,
    routers,
    secgroups,
    sgrules,
    subnetpools,
    subnets,
)
from ovnet.model.loader import Children
from ovnet.model.query import Column, fixed_ips_filter, standard_columns
from ovnet.model.schema import (
    PORT_STATUS,
    AddressScope,
    FloatingIP,
    IPAllocation,
    Network,
    Port,
    PortSecurityGroup,
    RbacPolicy,
    Router,
    SecurityGroup,
    SecurityGroupRule,
    Subnet,
    SubnetPool,
)
from ovnet.model.serialize import (
    floatingip_dict,
    network_dict,
    port_dict,
    router_dict,
    security_group_dict,
    security_group_rule_dict,
    subnet_dict,
)
from ovnet.model.tenancy import Context

Item = Mapping[str, Any]  # one object as its serializer shows it


@dataclass(frozen=True)
class Dependency:
    """An object of this kind refers to objects of ``kind`` whose ids ``ids(item)`` returns.

    ``follows``: a change of the referred object changes this one's derived state (a subnet's
    DHCP options carry its network's MTU), so it is re-derived too. Without it the reference
    only has to exist (a port needs its switch) and a change of the referred object leaves this
    one alone.
    """

    kind: str
    ids: Callable[[Item], Iterable[str]]
    follows: bool = False


@dataclass(frozen=True)
class MemberAction:
    """``PUT /v2.0/{plural}/{id}/{name}``: ``run(session, ctx, id, body) -> dict`` (the response
    body, returned as it is, as Neutron's add_router_interface does). ``body`` is the parsed
    request object. ``needs_defaults``: ``run`` takes the deployment's Defaults as its last
    argument (an action that creates a port picks its MAC)."""

    run: Callable[..., dict]
    needs_defaults: bool = False


@dataclass(frozen=True)
class Kind:
    """One resource kind (field meanings in the module docstring). ``needs_defaults`` names the
    operations ("create", "update") that take the deployment's Defaults as their last argument."""

    plural: str
    model: type
    create: Callable
    update: Callable
    delete: Callable
    to_dict: Callable[[Any], dict]
    columns: dict[str, Column]
    children: Children | tuple[Children, ...] | None = None
    depends_on: tuple[Dependency, ...] = ()
    actions: Mapping[str, MemberAction] = field(default_factory=dict)
    needs_defaults: tuple[str, ...] = ()
    extensions: Mapping[str, tuple[str, str]] = field(default_factory=dict)
    # The kind's translation reads objects it does not refer to (a router reads the ports whose
    # device_id it is), so the syncer reads the whole model for a change of it.
    reads_whole_model: bool = False
    prepare_list: Callable | None = None
    path: str = ""
    admin_fields: tuple[str, ...] = ()
    # A create that shares work between its items (``create_many(session, ctx, bodies,
    # *defaults) -> [row]``), which the API then uses for single creates too; without it a
    # bulk create calls ``create`` per item.
    create_many: Callable | None = None
    # (ctx, row, item) -> None: adjusts the shown item to the caller (a network's ``shared``).
    for_caller: Callable[[Context, Any, dict], None] | None = None
    # The attribute table create/update validate against; the API documents request bodies by it.
    attributes: Mapping[str, attributes.Attr] = field(default_factory=dict)

    @property
    def name(self) -> str:
        """The singular name: "network"."""
        return self.model.noun.kind

    @property
    def collection(self) -> str:
        """The URL segment under /v2.0/: ``path`` when the kind's URL differs from its JSON
        collection key (Neutron's "security-groups" holds "security_groups"), else ``plural``."""
        return self.path or self.plural

    @property
    def child_specs(self) -> tuple[Children, ...]:
        """``children`` as a tuple (a kind may show several child lists, a port its fixed IPs and
        security groups)."""
        if self.children is None:
            return ()
        return (self.children,) if isinstance(self.children, Children) else self.children

    def view(self, ctx: Context, row: Any) -> dict:
        """``row`` as ``ctx`` may see it: ``admin_fields`` are left out for non-admins (Neutron's
        get_port:binding:* policy shows the binding to admins only)."""
        item = self.to_dict(row)
        if not ctx.is_admin:
            for name in self.admin_fields:
                item.pop(name, None)
        if self.for_caller is not None:
            self.for_caller(ctx, row, item)
        return item


NETWORK = Kind(
    "networks", Network, networks.create_network, networks.update_network, networks.delete_network, network_dict,
    columns={
        **standard_columns(Network),
        "status": Column(Network.status),
        "admin_state_up": Column(Network.admin_state_up, attributes.boolean),
        "mtu": Column(Network.mtu, attributes.integer),
        "shared": Column(Network.shared, attributes.boolean),
        "port_security_enabled": Column(Network.port_security_enabled, attributes.boolean),
        "router:external": Column(Network.router_external, attributes.boolean),
        "provider:network_type": Column(Network.provider_network_type),
        "provider:physical_network": Column(Network.provider_physical_network),
        "provider:segmentation_id": Column(Network.provider_segmentation_id, attributes.integer),
    },
    children=(
        Children("subnets", Subnet.network_id, (Subnet.id,), (Subnet.created_at, Subnet.id)),
        Children("subnet_pools", Subnet.network_id, (SubnetPool.ip_version, SubnetPool.address_scope_id),
                 (SubnetPool.ip_version,), (SubnetPool.id == Subnet.subnetpool_id,)),
        Children("rbac_entries", RbacPolicy.object_id, (RbacPolicy.action, RbacPolicy.target_project),
                 (RbacPolicy.id,), (RbacPolicy.object_type == "network",)),
    ),
    for_caller=rbac.shared_for,
    needs_defaults=("create", "update"),
    # Neutron's policy (get_network:provider:*) shows how a network is laid on the physical
    # network to admins only; router:external stays public (every project sees external networks).
    admin_fields=("provider:network_type", "provider:physical_network", "provider:segmentation_id"),
    extensions={
        "external-net": ("Neutron external network", "router:external on networks."),
        "provider": ("Provider Network",
                     "provider:network_type (flat, vlan, geneve), provider:physical_network, "
                     "provider:segmentation_id."),
    },
    attributes=attributes.NETWORK,
)

SUBNET = Kind(
    "subnets", Subnet, subnets.create_subnet, subnets.update_subnet, subnets.delete_subnet, subnet_dict,
    columns={
        **standard_columns(Subnet),
        "network_id": Column(Subnet.network_id),
        "cidr": Column(Subnet.cidr),
        "ip_version": Column(Subnet.ip_version, attributes.integer),
        "gateway_ip": Column(Subnet.gateway_ip, sortable=False),
        "enable_dhcp": Column(Subnet.enable_dhcp, attributes.boolean),
        "ipv6_address_mode": Column(Subnet.ipv6_address_mode, sortable=False),
        "ipv6_ra_mode": Column(Subnet.ipv6_ra_mode, sortable=False),
        "subnetpool_id": Column(Subnet.subnetpool_id),
    },
    children=ipam.POOLS,
    depends_on=(
        Dependency("network", lambda s: [s["network_id"]], follows=True),
        Dependency("subnetpool", lambda s: [s["subnetpool_id"]] if s.get("subnetpool_id") else []),
    ),
    needs_defaults=("create",),
    attributes=attributes.SUBNET,
)

PORT = Kind(
    "ports", Port, ports.create_port, ports.update_port, ports.delete_port, port_dict,
    columns={
        **standard_columns(Port),
        "network_id": Column(Port.network_id),
        "mac_address": Column(Port.mac_address, attributes.mac_address),
        "status": Column(PORT_STATUS),
        "admin_state_up": Column(Port.admin_state_up, attributes.boolean),
        "device_id": Column(Port.device_id),
        "device_owner": Column(Port.device_owner),
        "binding:host_id": Column(Port.binding_host_id),
        "binding:vnic_type": Column(Port.binding_vnic_type),
        "port_security_enabled": Column(Port.port_security_enabled, attributes.boolean),
        "fixed_ips": Column(None, sortable=False, where=fixed_ips_filter),
    },
    children=(
        Children("fixed_ips", IPAllocation.port_id, (IPAllocation.subnet_id, IPAllocation.ip_address),
                 (IPAllocation.id,)),
        Children("security_group_bindings", PortSecurityGroup.port_id, (PortSecurityGroup.security_group_id,),
                 (PortSecurityGroup.security_group_id,)),
    ),
    depends_on=(
        Dependency("network", lambda p: [p["network_id"]]),
        Dependency("subnet", lambda p: [f["subnet_id"] for f in p["fixed_ips"]], follows=True),
        # A port's Port_Groups must exist before it joins them.
        Dependency("security_group", lambda p: p.get("security_groups") or []),
    ),
    needs_defaults=("create",),
    admin_fields=("binding:host_id", "binding:profile", "binding:vif_type", "binding:vif_details"),
    create_many=ports.create_ports,
    attributes=attributes.PORT,
)

SECURITY_GROUP = Kind(
    "security_groups", SecurityGroup, secgroups.create_security_group, secgroups.update_security_group,
    secgroups.delete_security_group, security_group_dict,
    columns={**standard_columns(SecurityGroup), "stateful": Column(SecurityGroup.stateful, attributes.boolean)},
    children=Children("rules", SecurityGroupRule.security_group_id, tuple(SecurityGroupRule.__table__.columns),
                      (SecurityGroupRule.created_at, SecurityGroupRule.id)),
    # Rules naming a remote group match its address set, which exists with its Port_Group.
    depends_on=(Dependency("security_group", lambda g: [r["remote_group_id"] for r in g.get("security_group_rules") or []
                                                        if r.get("remote_group_id")]),),
    extensions={
        "security-group": ("security-group", "Security groups and their rules; ports' security_groups."),
        "stateful-security-group": ("Stateful security group", "The stateful attribute of security groups."),
    },
    prepare_list=secgroups.prepare_list,
    needs_defaults=("create",),
    path="security-groups",
    attributes=attributes.SECURITY_GROUP,
)

SECURITY_GROUP_RULE = Kind(
    "security_group_rules", SecurityGroupRule, sgrules.create_rule, sgrules.update_rule, sgrules.delete_rule,
    security_group_rule_dict,
    columns={
        **standard_columns(SecurityGroupRule, named=False),
        "security_group_id": Column(SecurityGroupRule.security_group_id),
        "direction": Column(SecurityGroupRule.direction),
        "ethertype": Column(SecurityGroupRule.ethertype),
        "protocol": Column(SecurityGroupRule.protocol),
        "port_range_min": Column(SecurityGroupRule.port_range_min, attributes.integer),
        "port_range_max": Column(SecurityGroupRule.port_range_max, attributes.integer),
        "remote_ip_prefix": Column(SecurityGroupRule.remote_ip_prefix, sortable=False),
        "remote_group_id": Column(SecurityGroupRule.remote_group_id),
    },
    needs_defaults=("create",),
    path="security-group-rules",
    attributes=attributes.SECURITY_GROUP_RULE,
)

SUBNETPOOL = Kind(
    "subnetpools", SubnetPool, subnetpools.create_subnetpool, subnetpools.update_subnetpool,
    subnetpools.delete_subnetpool, subnetpools.subnetpool_dict,
    columns={
        **standard_columns(SubnetPool),
        "ip_version": Column(SubnetPool.ip_version, attributes.integer),
        "default_prefixlen": Column(SubnetPool.default_prefixlen, attributes.integer),
        "min_prefixlen": Column(SubnetPool.min_prefixlen, attributes.integer),
        "max_prefixlen": Column(SubnetPool.max_prefixlen, attributes.integer),
        "shared": Column(SubnetPool.shared, attributes.boolean),
        "is_default": Column(SubnetPool.is_default, attributes.boolean),
        "address_scope_id": Column(SubnetPool.address_scope_id),
    },
    extensions={"subnet_allocation": ("Subnet Allocation", "Subnet pools and subnets allocated from them.")},
    needs_defaults=("create",),
    attributes=subnetpools.ATTRIBUTES,
)

ADDRESS_SCOPE = Kind(
    "address_scopes", AddressScope, addressscopes.create_address_scope, addressscopes.update_address_scope,
    addressscopes.delete_address_scope, addressscopes.address_scope_dict,
    columns={
        **standard_columns(AddressScope),
        "ip_version": Column(AddressScope.ip_version, attributes.integer),
        "shared": Column(AddressScope.shared, attributes.boolean),
    },
    extensions={"address-scope": ("Address scope", "Address scopes, their subnet pools (address_scope_id) and "
                                  "networks' ipv4_address_scope / ipv6_address_scope.")},
    path="address-scopes",
    attributes=addressscopes.ATTRIBUTES,
)


def _router_action(run: Callable) -> Callable[..., dict]:
    return lambda session, ctx, router_id, body: {"router": router_dict(run(session, ctx, router_id, body))}


ROUTER = Kind(
    "routers", Router, routers.create_router, routers.update_router, routers.delete_router, router_dict,
    columns={
        **standard_columns(Router),
        "status": Column(Router.status),
        "admin_state_up": Column(Router.admin_state_up, attributes.boolean),
    },
    children=Children("gw_fixed_ips", Port.device_id, (IPAllocation.subnet_id, IPAllocation.ip_address),
                      (IPAllocation.id,),
                      (IPAllocation.port_id == Port.id, Port.device_owner == routers.GATEWAY)),
    depends_on=(
        Dependency("network", lambda r: [r["external_gateway_info"]["network_id"]] if r["external_gateway_info"]
                   else [], follows=True),
        Dependency("subnet", lambda r: [f["subnet_id"] for f in (r["external_gateway_info"] or {}).get(
            "external_fixed_ips", [])], follows=True),
    ),
    actions={
        "add_router_interface": MemberAction(routers.add_router_interface, needs_defaults=True),
        "remove_router_interface": MemberAction(routers.remove_router_interface),
        "add_extraroutes": MemberAction(_router_action(routers.add_extraroutes)),
        "remove_extraroutes": MemberAction(_router_action(routers.remove_extraroutes)),
    },
    needs_defaults=("create", "update"),
    extensions={
        "router": ("Neutron L3 Router", "Routers, router interfaces, external gateways and floating IPs."),
        "ext-gw-mode": ("Neutron L3 Configurable external gateway mode", "enable_snat of external_gateway_info."),
        "extraroute": ("Neutron Extra Route", "Extra routes (routes) of routers."),
        "extraroute-atomic": ("Atomically add/remove extra routes", "add_extraroutes / remove_extraroutes."),
    },
    reads_whole_model=True,
    attributes=routers.ATTRIBUTES,
)

FLOATINGIP = Kind(
    "floatingips", FloatingIP, floatingips.create_floatingip, floatingips.update_floatingip,
    floatingips.delete_floatingip, floatingip_dict,
    columns={
        **standard_columns(FloatingIP),
        "status": Column(FloatingIP.status),
        "floating_network_id": Column(FloatingIP.floating_network_id),
        "floating_ip_address": Column(FloatingIP.floating_ip_address, attributes.ip_address),
        "port_id": Column(FloatingIP.port_id),
        "fixed_ip_address": Column(FloatingIP.fixed_ip_address, attributes.ip_address),
        "router_id": Column(FloatingIP.router_id),
    },
    depends_on=(Dependency("router", lambda f: [f["router_id"]] if f["router_id"] else []),),
    needs_defaults=("create",),
    attributes=floatingips.ATTRIBUTES,
)

KINDS: dict[str, Kind] = {k.name: k for k in (NETWORK, ADDRESS_SCOPE, SUBNETPOOL, SUBNET, PORT, ROUTER, FLOATINGIP,
                                                SECURITY_GROUP, SECURITY_GROUP_RULE)}
BY_PLURAL: dict[str, Kind] = {k.plural: k for k in KINDS.values()}


def _check() -> None:
    for kind in KINDS.values():
        for dep in kind.depends_on:
            if dep.kind not in KINDS:
                raise ValueError(f"{kind.name} depends on unknown kind {dep.kind!r}")


_check()


def followed(name: str) -> bool:
    """True when some kind re-derives its state from objects of kind ``name`` (a ``follows``
    dependency on it), so a change of one may concern many objects of other kinds."""
    return any(d.kind == name and d.follows for k in KINDS.values() for d in k.depends_on)


def with_dependencies(names: Iterable[str]) -> tuple[str, ...]:
    """The kind ``names`` and every kind they depend on, directly or not, in registry order."""
    wanted = set(names)
    grown = True
    while grown:
        more = {d.kind for name in wanted for d in KINDS[name].depends_on}
        grown = not more <= wanted
        wanted |= more
    return tuple(name for name in KINDS if name in wanted)


def referenced_ids(snapshot: Mapping[str, list[Item]]) -> set[str]:
    """Ids of every object the objects in ``snapshot`` ({plural: [item]}) refer to."""
    return set().union(*referenced_by_kind(snapshot).values())


def referenced_by_kind(snapshot: Mapping[str, list[Item]]) -> dict[str, set[str]]:
    """``referenced_ids`` by the kind (name) of the object referred to: {"network": {ids}, ...}."""
    out: dict[str, set[str]] = {}
    for plural, items in snapshot.items():
        for dep in BY_PLURAL[plural].depends_on:
            found = out.setdefault(dep.kind, set())
            for item in items:
                found.update(dep.ids(item))
    return out


def related_ids(snapshot: Mapping[str, list[Item]], changed: Iterable[str]) -> set[str]:
    """Ids whose derived state (NB rows) may change when the objects ``changed`` (ids) changed:
    those ids, what they refer to (it must exist), and the objects that follow them.

    Ids absent from the snapshot (deleted objects) are returned as they are, so that their rows
    get deleted.
    """
    changed = set(changed)
    out = set(changed)
    for plural, items in snapshot.items():
        for dep in BY_PLURAL[plural].depends_on:
            for item in items:
                targets = set(dep.ids(item))
                if item["id"] in changed:
                    out |= targets
                elif dep.follows and targets & changed:
                    out.add(item["id"])
    return out
