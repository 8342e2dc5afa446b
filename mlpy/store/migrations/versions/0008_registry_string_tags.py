"""Registry: tags are strings (as in MLflow), so that listings filter them in SQL on every database;
tags registered with other JSON types are rewritten as their ``str()``.

Revision ID: 0008_registry_string_tags
Revises: 0001_registry
Create Date: 2026-12-01
"""

from collections.abc import Sequence

import sqlalchemy as sa
from alembic import op

revision: str = "0008_registry_string_tags"
down_revision: str | Sequence[str] | None = "0001_registry"
branch_labels: str | Sequence[str] | None = None
depends_on: str | Sequence[str] | None = None

VERSIONS = sa.table("model_versions", sa.column("id", sa.Integer), sa.column("tags", sa.JSON))


def upgrade() -> None:
    bind = op.get_bind()
    for row_id, tags in bind.execute(sa.select(VERSIONS.c.id, VERSIONS.c.tags)).all():
        if tags and any(value is not None and not isinstance(value, str) for value in tags.values()):
            fixed = {key: None if value is None else str(value) for key, value in tags.items()}
            bind.execute(VERSIONS.update().where(VERSIONS.c.id == row_id).values(tags=fixed))


def downgrade() -> None:
    """Nothing to undo: a string tag is a valid tag for the older code too."""
