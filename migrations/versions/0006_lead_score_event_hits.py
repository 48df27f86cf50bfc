"""lead score event hits

Revision ID: 0006
Revises: 0005
Create Date: 2026-12-04 22:22:30.924945
"""

from __future__ import annotations

from collections.abc import Sequence

import sqlalchemy as sa
import sqlmodel
from alembic import op

revision: str = "0006"
down_revision: str | None = "0005"
branch_labels: str | Sequence[str] | None = None
depends_on: str | Sequence[str] | None = None


def upgrade() -> None:
    """Apply this revision."""
    with op.batch_alter_table("scores", schema=None) as batch_op:
        batch_op.add_column(sa.Column("hits", sa.JSON(), nullable=True))
        # Existing scores have no hits yet: "" makes the next run read their history once.
        batch_op.add_column(
            sa.Column(
                "hits_digest",
                sqlmodel.sql.sqltypes.AutoString(length=64),
                nullable=False,
                server_default="",
            )
        )


def downgrade() -> None:
    """Revert this revision."""
    with op.batch_alter_table("scores", schema=None) as batch_op:
        batch_op.drop_column("hits_digest")
        batch_op.drop_column("hits")
