"""Security groups, their rules, each project's default group and ports' memberships.

Revision ID: 0004
Revises: 0005 (numbered 0004 as assigned; it landed after 0005)
"""

import sqlalchemy as sa
from alembic import op

from ovnet.model.migrations.columns import standard_attrs

revision = "0004"
down_revision = "0005"
branch_labels = None
depends_on = None


def upgrade() -> None:
    op.create_table(
        "security_groups",
        *standard_attrs(),
        sa.Column("stateful", sa.Boolean, nullable=False),
    )
    op.create_table(
        "default_security_groups",
        sa.Column("project_id", sa.String(255), primary_key=True),
        sa.Column("security_group_id", sa.String(36),
                  sa.ForeignKey("security_groups.id", ondelete="CASCADE"), nullable=False),
    )
    op.create_table(
        "security_group_rules",
        sa.Column("id", sa.String(36), primary_key=True),
        sa.Column("project_id", sa.String(255), nullable=False, index=True),
        sa.Column("security_group_id", sa.String(36),
                  sa.ForeignKey("security_groups.id", ondelete="CASCADE"), nullable=False, index=True),
        sa.Column("remote_group_id", sa.String(36),
                  sa.ForeignKey("security_groups.id", ondelete="CASCADE"), nullable=True, index=True),
        sa.Column("direction", sa.String(16), nullable=False),
        sa.Column("ethertype", sa.String(8), nullable=False),
        sa.Column("protocol", sa.String(40), nullable=True),
        sa.Column("port_range_min", sa.Integer, nullable=True),
        sa.Column("port_range_max", sa.Integer, nullable=True),
        sa.Column("remote_ip_prefix", sa.String(64), nullable=True),
        sa.Column("description", sa.String(255), nullable=False),
        sa.Column("revision_number", sa.Integer, nullable=False),
        sa.Column("created_at", sa.DateTime, nullable=False),
        sa.Column("updated_at", sa.DateTime, nullable=False),
    )
    op.create_table(
        "port_security_groups",
        sa.Column("port_id", sa.String(36), sa.ForeignKey("ports.id", ondelete="CASCADE"), primary_key=True),
        sa.Column("security_group_id", sa.String(36), sa.ForeignKey("security_groups.id"),
                  primary_key=True, index=True),
    )


def downgrade() -> None:
    for table in ("port_security_groups", "security_group_rules", "default_security_groups", "security_groups"):
        op.drop_table(table)
