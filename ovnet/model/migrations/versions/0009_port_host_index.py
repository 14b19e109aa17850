"""An index on ports.binding_host_id: every agent's converge and the Docker endpoint clean-up list
a host's ports by it, which without an index scans all ports of all hosts (hosts x ports).

Revision ID: 0009
Revises: 0008
"""

from alembic import op

revision = "0009"
down_revision = "0008"
branch_labels = None
depends_on = None


def upgrade() -> None:
    op.create_index("ix_ports_binding_host_id", "ports", ["binding_host_id"])


def downgrade() -> None:
    op.drop_index("ix_ports_binding_host_id", table_name="ports")
