"""SQL schema of the model (SQLAlchemy 2 declarative); migrations in ``migrations/`` create it.

Neutron's invariants that must hold even under concurrent writers are constraints here, not only
code: an IP address is allocated at most once per subnet (``uq_ipallocation_subnet_ip``) and a MAC
address at most once per network (``uq_port_network_mac``). Timestamps are naive UTC datetimes.
"""

from __future__ import annotations

import datetime as dt
import uuid
from dataclasses import dataclass
from typing import ClassVar

from sqlalchemy import (
    JSON,
    Boolean,
    DateTime,
    ForeignKey,
    Index,
    Integer,
    String,
    UniqueConstraint,
    case,
    false,
)
from sqlalchemy.orm import DeclarativeBase, Mapped, mapped_column, relationship


def new_id() -> str:
    """A fresh resource id: a UUID4 string of 36 characters, as Neutron uses."""
    return str(uuid.uuid4())


def utcnow() -> dt.datetime:
    """Now in UTC, naive. Microseconds are kept so creation order is stable (e.g. which subnet
    is "first"); the API shows whole seconds as Neutron does."""
    return dt.datetime.now(dt.timezone.utc).replace(tzinfo=None)


class Base(DeclarativeBase):
    pass


@dataclass(frozen=True)
class Noun:
    """How a resource table names its rows: ``kind`` is the registry key and the outbox's
    ``resource_type`` ("subnetpool"), ``label`` starts messages ("Subnet pool 42 could not be
    found."), ``error`` prefixes NeutronError types ("SubnetPoolNotFound")."""

    kind: str
    label: str
    error: str


class StandardAttrs:
    """Columns every Neutron resource carries (standard-attr-* extensions)."""

    id: Mapped[str] = mapped_column(String(36), primary_key=True, default=new_id)
    project_id: Mapped[str] = mapped_column(String(255), index=True)
    name: Mapped[str] = mapped_column(String(255), default="")
    description: Mapped[str] = mapped_column(String(255), default="")
    revision_number: Mapped[int] = mapped_column(Integer, default=1)
    created_at: Mapped[dt.datetime] = mapped_column(DateTime, default=utcnow)
    updated_at: Mapped[dt.datetime] = mapped_column(DateTime, default=utcnow)
    tags: Mapped[list] = mapped_column(JSON, default=list)


class Project(Base):
    __tablename__ = "projects"
    id: Mapped[str] = mapped_column(String(36), primary_key=True, default=new_id)
    name: Mapped[str] = mapped_column(String(255), unique=True)
    created_at: Mapped[dt.datetime] = mapped_column(DateTime, default=utcnow)


class Token(Base):
    """An API token, kept only as its SHA-256 hex digest; ``role`` is "admin" or "member"."""

    __tablename__ = "tokens"
    token_hash: Mapped[str] = mapped_column(String(64), primary_key=True)
    project_id: Mapped[str] = mapped_column(ForeignKey("projects.id", ondelete="CASCADE"), index=True)
    role: Mapped[str] = mapped_column(String(16))
    created_at: Mapped[dt.datetime] = mapped_column(DateTime, default=utcnow)
    expires_at: Mapped[dt.datetime | None] = mapped_column(DateTime, nullable=True)


class Network(StandardAttrs, Base):
    __tablename__ = "networks"
    noun: ClassVar[Noun] = Noun("network", "Network", "Network")
    admin_state_up: Mapped[bool] = mapped_column(Boolean, default=True)
    status: Mapped[str] = mapped_column(String(16), default="ACTIVE")
    mtu: Mapped[int] = mapped_column(Integer)
    shared: Mapped[bool] = mapped_column(Boolean, default=False)
    port_security_enabled: Mapped[bool] = mapped_column(Boolean, default=True)
    # external-net and provider extensions: an external network is where routers' gateways and
    # floating IPs live; flat/vlan networks sit on a named physical network (a bridge mapping).
    router_external: Mapped[bool] = mapped_column(Boolean, default=False)
    provider_network_type: Mapped[str] = mapped_column(String(16), default="geneve")
    provider_physical_network: Mapped[str | None] = mapped_column(String(64), nullable=True)
    provider_segmentation_id: Mapped[int | None] = mapped_column(Integer, nullable=True)
    subnets: Mapped[list[Subnet]] = relationship(
        back_populates="network", order_by="Subnet.created_at, Subnet.id", passive_deletes=True
    )
    # Who it is shared with or external to: ``shared`` is shown per caller (rbac.shared_for).
    rbac_entries: Mapped[list[RbacPolicy]] = relationship(
        viewonly=True, order_by="RbacPolicy.id",
        primaryjoin="and_(Network.id == foreign(RbacPolicy.object_id), RbacPolicy.object_type == 'network')",
    )
    # The pools its subnets came from: a network shows their address scopes (address-scope's
    # ipv4_address_scope / ipv6_address_scope).
    subnet_pools: Mapped[list[SubnetPool]] = relationship(
        secondary="subnets", viewonly=True, order_by="SubnetPool.ip_version",
        primaryjoin="Network.id == Subnet.network_id",
        secondaryjoin="foreign(Subnet.subnetpool_id) == SubnetPool.id",
    )


class AddressScope(StandardAttrs, Base):
    """An address space of one IP version (Neutron "address-scope"): the prefixes of the subnet pools
    in one scope never overlap, so addresses in it are unique and may be routed without NAT."""

    __tablename__ = "address_scopes"
    noun: ClassVar[Noun] = Noun("address_scope", "Address scope", "AddressScope")
    ip_version: Mapped[int] = mapped_column(Integer)
    shared: Mapped[bool] = mapped_column(Boolean, default=False)


class SubnetPool(StandardAttrs, Base):
    """A set of prefixes subnets get their CIDR from (Neutron "subnet_allocation")."""

    __tablename__ = "subnetpools"
    noun: ClassVar[Noun] = Noun("subnetpool", "Subnet pool", "SubnetPool")
    ip_version: Mapped[int] = mapped_column(Integer)
    prefixes: Mapped[list] = mapped_column(JSON, default=list)  # CIDR strings, collapsed and sorted
    default_prefixlen: Mapped[int] = mapped_column(Integer)
    min_prefixlen: Mapped[int] = mapped_column(Integer)
    max_prefixlen: Mapped[int] = mapped_column(Integer)
    shared: Mapped[bool] = mapped_column(Boolean, default=False)
    is_default: Mapped[bool] = mapped_column(Boolean, default=False)
    # No foreign key, as Subnet.subnetpool_id; addressscopes.delete_address_scope guards it.
    address_scope_id: Mapped[str | None] = mapped_column(String(36), nullable=True, index=True)


class Subnet(StandardAttrs, Base):
    __tablename__ = "subnets"
    noun: ClassVar[Noun] = Noun("subnet", "Subnet", "Subnet")
    network_id: Mapped[str] = mapped_column(ForeignKey("networks.id", ondelete="CASCADE"), index=True)
    cidr: Mapped[str] = mapped_column(String(64))
    ip_version: Mapped[int] = mapped_column(Integer)
    gateway_ip: Mapped[str | None] = mapped_column(String(64), nullable=True)
    enable_dhcp: Mapped[bool] = mapped_column(Boolean, default=True)
    ipv6_address_mode: Mapped[str | None] = mapped_column(String(16), nullable=True)
    ipv6_ra_mode: Mapped[str | None] = mapped_column(String(16), nullable=True)
    dns_nameservers: Mapped[list] = mapped_column(JSON, default=list)
    host_routes: Mapped[list] = mapped_column(JSON, default=list)
    # No foreign key: SQLite cannot add one to an existing table without rebuilding it; a pool
    # with subnets is refused deletion by subnetpools.delete_subnetpool (SubnetPoolInUse).
    subnetpool_id: Mapped[str | None] = mapped_column(String(36), nullable=True, index=True)
    network: Mapped[Network] = relationship(back_populates="subnets")
    allocation_pools: Mapped[list[AllocationPool]] = relationship(
        order_by="AllocationPool.id", cascade="all, delete-orphan", passive_deletes=True
    )


class AllocationPool(Base):
    """One inclusive range ``first_ip``..``last_ip`` of a subnet that IPAM hands out from."""

    __tablename__ = "allocation_pools"
    id: Mapped[int] = mapped_column(Integer, primary_key=True, autoincrement=True)
    subnet_id: Mapped[str] = mapped_column(ForeignKey("subnets.id", ondelete="CASCADE"), index=True)
    first_ip: Mapped[str] = mapped_column(String(64))
    last_ip: Mapped[str] = mapped_column(String(64))


class Port(StandardAttrs, Base):
    __tablename__ = "ports"
    noun: ClassVar[Noun] = Noun("port", "Port", "Port")
    __table_args__ = (UniqueConstraint("network_id", "mac_address", name="uq_port_network_mac"),)
    network_id: Mapped[str] = mapped_column(ForeignKey("networks.id", ondelete="CASCADE"), index=True)
    mac_address: Mapped[str] = mapped_column(String(32))
    admin_state_up: Mapped[bool] = mapped_column(Boolean, default=True)
    # What OVN says (Logical_Switch_Port.up, written by the syncer), not what the API shows: see
    # port_status.
    status: Mapped[str] = mapped_column(String(16), default="DOWN")
    device_id: Mapped[str] = mapped_column(String(255), default="", index=True)
    device_owner: Mapped[str] = mapped_column(String(255), default="")
    binding_host_id: Mapped[str] = mapped_column(String(255), default="", index=True)
    binding_vnic_type: Mapped[str] = mapped_column(String(64), default="normal")
    binding_profile: Mapped[dict] = mapped_column(JSON, default=dict)
    port_security_enabled: Mapped[bool] = mapped_column(Boolean, default=True)
    allowed_address_pairs: Mapped[list] = mapped_column(JSON, default=list)
    fixed_ips: Mapped[list[IPAllocation]] = relationship(
        order_by="IPAllocation.id", cascade="all, delete-orphan", passive_deletes=True
    )
    security_group_bindings: Mapped[list[PortSecurityGroup]] = relationship(
        order_by="PortSecurityGroup.security_group_id", cascade="all, delete-orphan", passive_deletes=True
    )


def port_status(admin_state_up: bool, ovn_status: str) -> str:
    """The ``status`` Neutron shows for a port: "DOWN" while ``admin_state_up`` is false whatever
    the datapath says, else ``ovn_status`` (the ``Port.status`` column, "ACTIVE" or "DOWN" from
    Logical_Switch_Port.up). Keeping OVN's word in the column lets a re-enabled port show it at
    once: OVN's ``up`` does not change with ``enabled``, so no event would bring it back.
    (Neutron ML2: an administratively down port is reported DOWN.)"""
    return ovn_status if admin_state_up else "DOWN"


# port_status as SQL, for filtering, sorting and counting ports by the status the API shows.
PORT_STATUS = case((Port.admin_state_up == false(), "DOWN"), else_=Port.status)


class IPAllocation(Base):
    """An address of a port. The unique constraint is what guarantees no IP is handed out twice."""

    __tablename__ = "ipallocations"
    __table_args__ = (UniqueConstraint("subnet_id", "ip_address", name="uq_ipallocation_subnet_ip"),)
    id: Mapped[int] = mapped_column(Integer, primary_key=True, autoincrement=True)
    port_id: Mapped[str] = mapped_column(ForeignKey("ports.id", ondelete="CASCADE"), index=True)
    subnet_id: Mapped[str] = mapped_column(ForeignKey("subnets.id", ondelete="CASCADE"))
    ip_address: Mapped[str] = mapped_column(String(64))


class RbacPolicy(Base):
    """One grant of ``action`` ("access_as_shared") on an object (``object_type`` "network") by
    its owner ``project_id`` to ``target_project`` ("*": every project) — Neutron's RBAC policies."""

    __tablename__ = "rbac_policies"
    __table_args__ = (UniqueConstraint("object_type", "object_id", "action", "target_project", name="uq_rbac_policy"),)
    id: Mapped[str] = mapped_column(String(36), primary_key=True, default=new_id)
    project_id: Mapped[str] = mapped_column(String(255), index=True)
    object_type: Mapped[str] = mapped_column(String(32))
    object_id: Mapped[str] = mapped_column(String(36), index=True)
    action: Mapped[str] = mapped_column(String(32))
    target_project: Mapped[str] = mapped_column(String(255))


class Quota(Base):
    """A project's limit on how many of one resource (``resource``: "network", "port", ...) it may
    hold; -1 is unlimited. Projects without a row use the deployment's defaults."""

    __tablename__ = "quotas"
    project_id: Mapped[str] = mapped_column(String(255), primary_key=True)
    resource: Mapped[str] = mapped_column(String(64), primary_key=True)
    limit: Mapped[int] = mapped_column(Integer)
class Router(StandardAttrs, Base):
    """A router (Neutron "router" extension). Its interfaces are ports with device_owner
    ``network:router_interface`` and device_id = router id; its gateway is the port ``gw_port_id``
    (device_owner ``network:router_gateway``) on the external network ``gw_network_id``.
    ``routes`` holds the extra routes [{"destination": CIDR, "nexthop": IP}]."""

    __tablename__ = "routers"
    noun: ClassVar[Noun] = Noun("router", "Router", "Router")
    admin_state_up: Mapped[bool] = mapped_column(Boolean, default=True)
    status: Mapped[str] = mapped_column(String(16), default="ACTIVE")
    gw_network_id: Mapped[str | None] = mapped_column(ForeignKey("networks.id"), nullable=True)
    gw_port_id: Mapped[str | None] = mapped_column(ForeignKey("ports.id", ondelete="SET NULL"), nullable=True)
    enable_snat: Mapped[bool] = mapped_column(Boolean, default=True)
    routes: Mapped[list] = mapped_column(JSON, default=list)
    # The gateway port's addresses (external_fixed_ips), read through the port whose device_id is
    # this router and whose device_owner is network:router_gateway.
    gw_fixed_ips: Mapped[list[IPAllocation]] = relationship(
        secondary="ports", viewonly=True, order_by="IPAllocation.id",
        primaryjoin="and_(Router.id == Port.device_id, Port.device_owner == 'network:router_gateway')",
        secondaryjoin="IPAllocation.port_id == Port.id",
    )


class FloatingIP(StandardAttrs, Base):
    """A floating IP: the address of port ``floating_port_id`` (device_owner ``network:floatingip``)
    on the external network, mapped to ``fixed_ip_address`` of ``port_id`` through ``router_id``."""

    __tablename__ = "floatingips"
    noun: ClassVar[Noun] = Noun("floatingip", "Floating IP", "FloatingIP")
    floating_network_id: Mapped[str] = mapped_column(ForeignKey("networks.id"), index=True)
    floating_port_id: Mapped[str] = mapped_column(ForeignKey("ports.id"), index=True)
    floating_ip_address: Mapped[str] = mapped_column(String(64))
    port_id: Mapped[str | None] = mapped_column(ForeignKey("ports.id"), nullable=True, index=True)
    fixed_ip_address: Mapped[str | None] = mapped_column(String(64), nullable=True)
    router_id: Mapped[str | None] = mapped_column(ForeignKey("routers.id"), nullable=True, index=True)
    status: Mapped[str] = mapped_column(String(16), default="DOWN")


class SecurityGroup(StandardAttrs, Base):
    """A security group (Neutron "security-group"); ``stateful`` false makes its rules stateless
    (extension "stateful-security-group")."""

    __tablename__ = "security_groups"
    noun: ClassVar[Noun] = Noun("security_group", "Security group", "SecurityGroup")
    stateful: Mapped[bool] = mapped_column(Boolean, default=True)
    rules: Mapped[list[SecurityGroupRule]] = relationship(
        order_by="SecurityGroupRule.created_at, SecurityGroupRule.id", passive_deletes=True,
        foreign_keys="SecurityGroupRule.security_group_id",
    )


class DefaultSecurityGroup(Base):
    """Which group is a project's ``default``: the primary key makes a second one impossible even
    when two first uses of a project race (the loser's transaction is retried and finds it)."""

    __tablename__ = "default_security_groups"
    project_id: Mapped[str] = mapped_column(String(255), primary_key=True)
    security_group_id: Mapped[str] = mapped_column(ForeignKey("security_groups.id", ondelete="CASCADE"))


class SecurityGroupRule(Base):
    """One rule of a security group. ``protocol`` is None (any), a lower-case name or a number as a
    string; ``port_range_min``/``max`` are ports, or ICMP type/code for ICMP. A rule is deleted with
    its group and with the group its ``remote_group_id`` names (Neutron's foreign keys)."""

    __tablename__ = "security_group_rules"
    noun: ClassVar[Noun] = Noun("security_group_rule", "Security group rule", "SecurityGroupRule")
    id: Mapped[str] = mapped_column(String(36), primary_key=True, default=new_id)
    project_id: Mapped[str] = mapped_column(String(255), index=True)
    security_group_id: Mapped[str] = mapped_column(
        ForeignKey("security_groups.id", ondelete="CASCADE"), index=True)
    remote_group_id: Mapped[str | None] = mapped_column(
        ForeignKey("security_groups.id", ondelete="CASCADE"), nullable=True, index=True)
    direction: Mapped[str] = mapped_column(String(16))
    ethertype: Mapped[str] = mapped_column(String(8))
    protocol: Mapped[str | None] = mapped_column(String(40), nullable=True)
    port_range_min: Mapped[int | None] = mapped_column(Integer, nullable=True)
    port_range_max: Mapped[int | None] = mapped_column(Integer, nullable=True)
    remote_ip_prefix: Mapped[str | None] = mapped_column(String(64), nullable=True)
    description: Mapped[str] = mapped_column(String(255), default="")
    revision_number: Mapped[int] = mapped_column(Integer, default=1)
    created_at: Mapped[dt.datetime] = mapped_column(DateTime, default=utcnow)
    updated_at: Mapped[dt.datetime] = mapped_column(DateTime, default=utcnow)
    # Rules carry standard attributes, so Neutron's standard-attr-tag covers them too.
    tags: Mapped[list] = mapped_column(JSON, default=list)


class PortSecurityGroup(Base):
    """A port's membership in a security group. No cascade from the group: deleting a group that
    a port uses is refused (SecurityGroupInUse), and the foreign key holds that even under races."""

    __tablename__ = "port_security_groups"
    port_id: Mapped[str] = mapped_column(ForeignKey("ports.id", ondelete="CASCADE"), primary_key=True)
    security_group_id: Mapped[str] = mapped_column(ForeignKey("security_groups.id"), primary_key=True, index=True)


class Outbox(Base):
    """A committed change the syncer has yet to carry to OVN NB (written in the same transaction)."""

    __tablename__ = "outbox"
    id: Mapped[int] = mapped_column(Integer, primary_key=True, autoincrement=True)
    resource_type: Mapped[str] = mapped_column(String(16))
    resource_id: Mapped[str] = mapped_column(String(36))
    created_at: Mapped[dt.datetime] = mapped_column(DateTime, default=utcnow)


Index("ix_ports_created_at", Port.created_at)
