"""The "*" grants of networks shared or external before RBAC existed.

A network's ``shared`` and ``router:external`` are shown from its RBAC grants since the RBAC
policies (Neutron's _is_network_shared): a network made shared by a release without the
rbac_policies table (0001-0004), or external before external grants existed, has the column set
and no grant, and showed ``shared: false`` after an upgrade. Found by the upgrade test
(tests/unit/api/test_upgrade.py); gives each such network its "*" grant, owned by its project.

Revision ID: 0008
Revises: 0007
"""

import uuid

import sqlalchemy as sa
from alembic import op

revision = "0008"
down_revision = "0007"
branch_labels = None
depends_on = None

GRANTS = (("shared", "access_as_shared"), ("router_external", "access_as_external"))


def upgrade() -> None:
    conn = op.get_bind()
    networks = sa.table("networks", sa.column("id"), sa.column("project_id"), sa.column("shared"),
                        sa.column("router_external"))
    policies = sa.table("rbac_policies", sa.column("id"), sa.column("project_id"), sa.column("object_type"),
                        sa.column("object_id"), sa.column("action"), sa.column("target_project"))
    for column, action in GRANTS:
        granted = sa.select(policies.c.object_id).where(policies.c.object_type == "network",
                                                         policies.c.action == action,
                                                         policies.c.target_project == "*")
        missing = conn.execute(sa.select(networks.c.id, networks.c.project_id).where(
            networks.c[column].is_(True), networks.c.id.not_in(granted))).all()
        for network_id, project_id in missing:
            conn.execute(policies.insert().values(id=str(uuid.uuid4()), project_id=project_id, object_type="network",
                                                  object_id=network_id, action=action, target_project="*"))


def downgrade() -> None:
    pass  # the grants stay: with them the older schema shows the same
