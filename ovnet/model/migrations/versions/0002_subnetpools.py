"""Subnet pools (Neutron subnet_allocation) and the pool a subnet's CIDR came from.

Revision ID: 0002
Revises: 0001
"""

import sqlalchemy as sa
from alembic import op

from ovnet.model.migrations.columns import standard_attrs

revision = "0002"
down_revision = "0001"
branch_labels = None
depends_on = None


def upgrade() -> None:
    op.create_table(
        "subnetpools",
        *standard_attrs(),
        sa.Column("ip_version", sa.Integer, nullable=False),
        sa.Column("prefixes", sa.JSON, nullable=False),
        sa.Column("default_prefixlen", sa.Integer, nullable=False),
        sa.Column("min_prefixlen", sa.Integer, nullable=False),
        sa.Column("max_prefixlen", sa.Integer, nullable=False),
        sa.Column("shared", sa.Boolean, nullable=False),
        sa.Column("is_default", sa.Boolean, nullable=False),
    )
    # No foreign key (see schema.Subnet.subnetpool_id): SQLite would need a table rebuild, which
    # with foreign keys on would cascade-delete the subnets' pools and addresses.
    op.add_column("subnets", sa.Column("subnetpool_id", sa.String(36), nullable=True))
    op.create_index("ix_subnets_subnetpool_id", "subnets", ["subnetpool_id"])


def downgrade() -> None:
    op.drop_index("ix_subnets_subnetpool_id", "subnets")
    op.drop_column("subnets", "subnetpool_id")
    op.drop_table("subnetpools")
