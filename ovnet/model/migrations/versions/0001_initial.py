"""Initial schema: projects, tokens, networks, subnets, allocation pools, ports, IP allocations, outbox.

Revision ID: 0001
Revises:
"""

import sqlalchemy as sa
from alembic import op

from ovnet.model.migrations.columns import standard_attrs

revision = "0001"
down_revision = None
branch_labels = None
depends_on = None


def _standard_attrs() -> list[sa.Column]:
    return [
        *standard_attrs(),
    ]


def upgrade() -> None:
    op.create_table(
        "projects",
        sa.Column("id", sa.String(36), primary_key=True),
        sa.Column("name", sa.String(255), nullable=False, unique=True),
        sa.Column("created_at", sa.DateTime, nullable=False),
    )
    op.create_table(
        "tokens",
        sa.Column("token_hash", sa.String(64), primary_key=True),
        sa.Column("project_id", sa.String(36), sa.ForeignKey("projects.id", ondelete="CASCADE"),
                  nullable=False, index=True),
        sa.Column("role", sa.String(16), nullable=False),
        sa.Column("created_at", sa.DateTime, nullable=False),
    )
    op.create_table(
        "networks",
        *_standard_attrs(),
        sa.Column("admin_state_up", sa.Boolean, nullable=False),
        sa.Column("status", sa.String(16), nullable=False),
        sa.Column("mtu", sa.Integer, nullable=False),
        sa.Column("shared", sa.Boolean, nullable=False),
        sa.Column("port_security_enabled", sa.Boolean, nullable=False),
    )
    op.create_table(
        "subnets",
        *_standard_attrs(),
        sa.Column("network_id", sa.String(36), sa.ForeignKey("networks.id", ondelete="CASCADE"),
                  nullable=False, index=True),
        sa.Column("cidr", sa.String(64), nullable=False),
        sa.Column("ip_version", sa.Integer, nullable=False),
        sa.Column("gateway_ip", sa.String(64), nullable=True),
        sa.Column("enable_dhcp", sa.Boolean, nullable=False),
        sa.Column("ipv6_address_mode", sa.String(16), nullable=True),
        sa.Column("ipv6_ra_mode", sa.String(16), nullable=True),
        sa.Column("dns_nameservers", sa.JSON, nullable=False),
        sa.Column("host_routes", sa.JSON, nullable=False),
    )
    op.create_table(
        "allocation_pools",
        sa.Column("id", sa.Integer, primary_key=True, autoincrement=True),
        sa.Column("subnet_id", sa.String(36), sa.ForeignKey("subnets.id", ondelete="CASCADE"),
                  nullable=False, index=True),
        sa.Column("first_ip", sa.String(64), nullable=False),
        sa.Column("last_ip", sa.String(64), nullable=False),
    )
    op.create_table(
        "ports",
        *_standard_attrs(),
        sa.Column("network_id", sa.String(36), sa.ForeignKey("networks.id", ondelete="CASCADE"),
                  nullable=False, index=True),
        sa.Column("mac_address", sa.String(32), nullable=False),
        sa.Column("admin_state_up", sa.Boolean, nullable=False),
        sa.Column("status", sa.String(16), nullable=False),
        sa.Column("device_id", sa.String(255), nullable=False, index=True),
        sa.Column("device_owner", sa.String(255), nullable=False),
        sa.Column("binding_host_id", sa.String(255), nullable=False),
        sa.Column("binding_vnic_type", sa.String(64), nullable=False),
        sa.Column("binding_profile", sa.JSON, nullable=False),
        sa.Column("port_security_enabled", sa.Boolean, nullable=False),
        sa.Column("allowed_address_pairs", sa.JSON, nullable=False),
        sa.UniqueConstraint("network_id", "mac_address", name="uq_port_network_mac"),
    )
    op.create_index("ix_ports_created_at", "ports", ["created_at"])
    op.create_table(
        "ipallocations",
        sa.Column("id", sa.Integer, primary_key=True, autoincrement=True),
        sa.Column("port_id", sa.String(36), sa.ForeignKey("ports.id", ondelete="CASCADE"),
                  nullable=False, index=True),
        sa.Column("subnet_id", sa.String(36), sa.ForeignKey("subnets.id", ondelete="CASCADE"),
                  nullable=False),
        sa.Column("ip_address", sa.String(64), nullable=False),
        sa.UniqueConstraint("subnet_id", "ip_address", name="uq_ipallocation_subnet_ip"),
    )
    op.create_table(
        "outbox",
        sa.Column("id", sa.Integer, primary_key=True, autoincrement=True),
        sa.Column("resource_type", sa.String(16), nullable=False),
        sa.Column("resource_id", sa.String(36), nullable=False),
        sa.Column("created_at", sa.DateTime, nullable=False),
    )


def downgrade() -> None:
    for table in ("outbox", "ipallocations", "ports", "allocation_pools", "subnets", "networks",
                  "tokens", "projects"):
        op.drop_table(table)
