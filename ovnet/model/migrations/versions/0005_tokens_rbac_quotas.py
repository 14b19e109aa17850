"""Token expiry, RBAC policies (network sharing per project) and per-project quotas.

Revision ID: 0005
Revises: 0003
"""

import sqlalchemy as sa
from alembic import op

revision = "0005"
down_revision = "0003"
branch_labels = None
depends_on = None


def upgrade() -> None:
    with op.batch_alter_table("tokens") as batch:
        batch.add_column(sa.Column("expires_at", sa.DateTime, nullable=True))
    op.create_table(
        "rbac_policies",
        sa.Column("id", sa.String(36), primary_key=True),
        sa.Column("project_id", sa.String(255), nullable=False, index=True),
        sa.Column("object_type", sa.String(32), nullable=False),
        sa.Column("object_id", sa.String(36), nullable=False, index=True),
        sa.Column("action", sa.String(32), nullable=False),
        sa.Column("target_project", sa.String(255), nullable=False),
        sa.UniqueConstraint("object_type", "object_id", "action", "target_project", name="uq_rbac_policy"),
    )
    op.create_table(
        "quotas",
        sa.Column("project_id", sa.String(255), primary_key=True),
        sa.Column("resource", sa.String(64), primary_key=True),
        sa.Column("limit", sa.Integer, nullable=False),
    )


def downgrade() -> None:
    op.drop_table("quotas")
    op.drop_table("rbac_policies")
    with op.batch_alter_table("tokens") as batch:
        batch.drop_column("expires_at")
