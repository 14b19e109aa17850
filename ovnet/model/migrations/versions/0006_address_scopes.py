"""Address scopes (Neutron "address-scope") and the scope a subnet pool belongs to; external
networks get their access_as_external "*" RBAC policy (what router:external now stands for).

Revision ID: 0006
Revises: 0004
"""

import uuid

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
    bind = op.get_bind()
    external = bind.execute(sa.text("SELECT id, project_id FROM networks WHERE router_external")).all()
    for network_id, project_id in external:
        bind.execute(sa.text("INSERT INTO rbac_policies (id, project_id, object_type, object_id, action, "
                             "target_project) VALUES (:id, :project, 'network', :network, 'access_as_external', '*')"),
                     {"id": str(uuid.uuid4()), "project": project_id, "network": network_id})


def downgrade() -> None:
    op.execute("DELETE FROM rbac_policies WHERE action = 'access_as_external'")
    op.drop_index("ix_subnetpools_address_scope_id", "subnetpools")
    op.drop_column("subnetpools", "address_scope_id")
    op.drop_table("address_scopes")
