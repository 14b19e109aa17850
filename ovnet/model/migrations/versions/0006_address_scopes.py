"""Address scopes (Neutron "address-scope") and the scope a subnet pool belongs to.

Revision ID: 0006
Revises: 0004
"""

import sqlalchemy as sa
from alembic import op

from ovnet.model.migrations.columns import standard_attrs

revision = "0006"
down_revision = "0004"
branch_labels = None
depends_on = None


def upgrade() -> None:
    op.create_table(
        "address_scopes",
        *standard_attrs(),
        sa.Column("ip_version", sa.Integer, nullable=False),
        sa.Column("shared", sa.Boolean, nullable=False),
    )
    # No foreign key, as for subnets.subnetpool_id (0002): SQLite would rebuild the table; a scope
    # with pools is refused deletion instead (AddressScopeInUse).
    op.add_column("subnetpools", sa.Column("address_scope_id", sa.String(36), nullable=True))
    op.create_index("ix_subnetpools_address_scope_id", "subnetpools", ["address_scope_id"])


def downgrade() -> None:
    op.drop_index("ix_subnetpools_address_scope_id", "subnetpools")
    op.drop_column("subnetpools", "address_scope_id")
    op.drop_table("address_scopes")
