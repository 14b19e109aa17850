"""Tags on security group rules (Neutron's standard-attr-tag covers every standard-attribute
resource, rules included).

Revision ID: 0007
Revises: 0006
"""

import sqlalchemy as sa
from alembic import op

revision = "0007"
down_revision = "0006"
branch_labels = None
depends_on = None


def upgrade() -> None:
    # Existing rules get no tags (the server default fills the NOT NULL column for them).
    with op.batch_alter_table("security_group_rules") as batch:
        batch.add_column(sa.Column("tags", sa.JSON, nullable=False, server_default="[]"))


def downgrade() -> None:
    with op.batch_alter_table("security_group_rules") as batch:
        batch.drop_column("tags")
