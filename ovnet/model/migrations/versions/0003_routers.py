"""Routers and floating IPs; external-net and provider attributes of networks.

Revision ID: 0003
Revises: 0001
"""

import sqlalchemy as sa
from alembic import op

from ovnet.model.migrations.columns import standard_attrs

revision = "0003"
down_revision = "0002"
branch_labels = None
depends_on = None


def _standard_attrs() -> list[sa.Column]:
    return [
        *standard_attrs(),
    ]


def upgrade() -> None:
    with op.batch_alter_table("networks") as batch:
        batch.add_column(sa.Column("router_external", sa.Boolean, nullable=False, server_default=sa.false()))
        batch.add_column(sa.Column("provider_network_type", sa.String(16), nullable=False,
                                   server_default="geneve"))
        batch.add_column(sa.Column("provider_physical_network", sa.String(64), nullable=True))
        batch.add_column(sa.Column("provider_segmentation_id", sa.Integer, nullable=True))
    op.create_table(
        "routers",
        *_standard_attrs(),
        sa.Column("admin_state_up", sa.Boolean, nullable=False),
        sa.Column("status", sa.String(16), nullable=False),
        sa.Column("gw_network_id", sa.String(36), sa.ForeignKey("networks.id"), nullable=True),
        sa.Column("gw_port_id", sa.String(36), sa.ForeignKey("ports.id", ondelete="SET NULL"), nullable=True),
        sa.Column("enable_snat", sa.Boolean, nullable=False),
        sa.Column("routes", sa.JSON, nullable=False),
    )
    op.create_table(
        "floatingips",
        *_standard_attrs(),
        sa.Column("floating_network_id", sa.String(36), sa.ForeignKey("networks.id"), nullable=False, index=True),
        sa.Column("floating_port_id", sa.String(36), sa.ForeignKey("ports.id"), nullable=False, index=True),
        sa.Column("floating_ip_address", sa.String(64), nullable=False),
        sa.Column("port_id", sa.String(36), sa.ForeignKey("ports.id"), nullable=True, index=True),
        sa.Column("fixed_ip_address", sa.String(64), nullable=True),
        sa.Column("router_id", sa.String(36), sa.ForeignKey("routers.id"), nullable=True, index=True),
        sa.Column("status", sa.String(16), nullable=False),
    )


def downgrade() -> None:
    op.drop_table("floatingips")
    op.drop_table("routers")
    with op.batch_alter_table("networks") as batch:
        for column in ("provider_segmentation_id", "provider_physical_network", "provider_network_type",
                       "router_external"):
            batch.drop_column(column)
