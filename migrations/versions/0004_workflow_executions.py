"""workflow executions

Revision ID: 0004
Revises: 0003
Create Date: 2026-12-04 21:13:25.690547
"""

from __future__ import annotations

from collections.abc import Sequence

import sqlalchemy as sa
import sqlmodel
from alembic import op

import leadbridge.store.columns

revision: str = "0004"
down_revision: str | None = "0003"
branch_labels: str | Sequence[str] | None = None
depends_on: str | Sequence[str] | None = None


def upgrade() -> None:
    """Apply this revision."""
    op.create_table(
        "workflow_executions",
        sa.Column("id", sa.Integer(), nullable=False),
        sa.Column("pair", sqlmodel.sql.sqltypes.AutoString(length=64), nullable=False),
        sa.Column("idempotency_key", sqlmodel.sql.sqltypes.AutoString(length=64), nullable=False),
        sa.Column("workflow", sqlmodel.sql.sqltypes.AutoString(length=128), nullable=False),
        sa.Column("hubspot_id", sqlmodel.sql.sqltypes.AutoString(length=32), nullable=False),
        sa.Column("salesforce_id", sqlmodel.sql.sqltypes.AutoString(length=18), nullable=False),
        sa.Column("occurrence", sqlmodel.sql.sqltypes.AutoString(length=200), nullable=False),
        sa.Column("reason", sqlmodel.sql.sqltypes.AutoString(length=500), nullable=False),
        sa.Column("status", sqlmodel.sql.sqltypes.AutoString(length=16), nullable=False),
        sa.Column("due_at", leadbridge.store.columns.UTCDateTime(timezone=True), nullable=False),
        sa.Column("attempts", sa.Integer(), nullable=False),
        sa.Column("progress", sa.Integer(), nullable=False),
        sa.Column("claimed_by", sqlmodel.sql.sqltypes.AutoString(length=200), nullable=False),
        sa.Column("claimed_at", leadbridge.store.columns.UTCDateTime(timezone=True), nullable=True),
        sa.Column("result", sa.JSON(), nullable=False),
        sa.Column(
            "created_at", leadbridge.store.columns.UTCDateTime(timezone=True), nullable=False
        ),
        sa.Column(
            "updated_at", leadbridge.store.columns.UTCDateTime(timezone=True), nullable=False
        ),
        sa.PrimaryKeyConstraint("id"),
        sa.UniqueConstraint("pair", "idempotency_key", name="uq_workflow_executions_key"),
    )
    with op.batch_alter_table("workflow_executions", schema=None) as batch_op:
        batch_op.create_index("ix_workflow_executions_lead", ["pair", "hubspot_id"], unique=False)
        batch_op.create_index(
            "ix_workflow_executions_status_due", ["status", "due_at"], unique=False
        )


def downgrade() -> None:
    """Revert this revision."""
    with op.batch_alter_table("workflow_executions", schema=None) as batch_op:
        batch_op.drop_index("ix_workflow_executions_status_due")
        batch_op.drop_index("ix_workflow_executions_lead")

    op.drop_table("workflow_executions")
