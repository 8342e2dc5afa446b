"""Registry: a version may keep the permutation importance of its features (``importance``, JSON),
which drift checks use to weigh each feature's drift by how much the model relies on it.

Revision ID: 0013_registry_importance
Revises: 0008_registry_string_tags
Create Date: 2026-12-02
"""

from collections.abc import Sequence

import sqlalchemy as sa
from alembic import op

revision: str = "0013_registry_importance"
down_revision: str | Sequence[str] | None = "0008_registry_string_tags"
branch_labels: str | Sequence[str] | None = None
depends_on: str | Sequence[str] | None = None


def upgrade() -> None:
    with op.batch_alter_table("model_versions") as batch:
        batch.add_column(sa.Column("importance", sa.JSON(), nullable=True))


def downgrade() -> None:
    with op.batch_alter_table("model_versions") as batch:
        batch.drop_column("importance")
