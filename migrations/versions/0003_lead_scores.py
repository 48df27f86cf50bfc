"""lead scores

Revision ID: 0003
Revises: 0002
Create Date: 2026-12-04 21:01:08.661584
"""

from __future__ import annotations

from collections.abc import Sequence

import sqlalchemy as sa
import sqlmodel
from alembic import op

import leadbridge.store.columns

revision: str = "0003"
down_revision: str | None = "0002"
branch_labels: str | Sequence[str] | None = None
depends_on: str | Sequence[str] | None = None


def upgrade() -> None:
    """Apply this revision."""
    op.create_table(
        "scores",
        sa.Column("id", sa.Integer(), nullable=False),
        sa.Column("pair", sqlmodel.sql.sqltypes.AutoString(length=64), nullable=False),
        sa.Column("hubspot_id", sqlmodel.sql.sqltypes.AutoString(length=32), nullable=False),
        sa.Column("salesforce_id", sqlmodel.sql.sqltypes.AutoString(length=18), nullable=False),
        sa.Column("total", sa.Integer(), nullable=False),
        sa.Column("is_mql", sa.Boolean(), nullable=False),
        sa.Column("breakdown", sa.JSON(), nullable=False),
        sa.Column("decaying", sa.Boolean(), nullable=False),
        sa.Column("link_hash", sqlmodel.sql.sqltypes.AutoString(length=64), nullable=False),
        sa.Column("attributes_hash", sqlmodel.sql.sqltypes.AutoString(length=64), nullable=False),
        sa.Column("rules_digest", sqlmodel.sql.sqltypes.AutoString(length=64), nullable=False),
        sa.Column(
            "computed_at", leadbridge.store.columns.UTCDateTime(timezone=True), nullable=False
        ),
        sa.Column("mql_since", leadbridge.store.columns.UTCDateTime(timezone=True), nullable=True),
        sa.PrimaryKeyConstraint("id"),
        sa.UniqueConstraint("pair", "hubspot_id", name="uq_scores_pair_hubspot"),
    )
    with op.batch_alter_table("scores", schema=None) as batch_op:
        batch_op.create_index("ix_scores_pair_decaying", ["pair", "decaying"], unique=False)
        batch_op.create_index(
            batch_op.f("ix_scores_salesforce_id"), ["salesforce_id"], unique=False
        )


def downgrade() -> None:
    """Revert this revision."""
    with op.batch_alter_table("scores", schema=None) as batch_op:
        batch_op.drop_index(batch_op.f("ix_scores_salesforce_id"))
        batch_op.drop_index("ix_scores_pair_decaying")

    op.drop_table("scores")
