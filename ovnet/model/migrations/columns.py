"""Column sets that several migrations create, as they were when those migrations were written.

Frozen like the migrations that use them: a later change to ``schema.StandardAttrs`` gets a
migration of its own, never an edit here.
"""

import sqlalchemy as sa


def standard_attrs() -> list[sa.Column]:
    """New Column objects for ``schema.StandardAttrs`` (id, project, name, description, revision,
    timestamps, tags), for ``op.create_table(name, *standard_attrs(), ...)``."""
    return [
        sa.Column("id", sa.String(36), primary_key=True),
        sa.Column("project_id", sa.String(255), nullable=False, index=True),
        sa.Column("name", sa.String(255), nullable=False),
        sa.Column("description", sa.String(255), nullable=False),
        sa.Column("revision_number", sa.Integer, nullable=False),
        sa.Column("created_at", sa.DateTime, nullable=False),
        sa.Column("updated_at", sa.DateTime, nullable=False),
        sa.Column("tags", sa.JSON, nullable=False),
    ]
