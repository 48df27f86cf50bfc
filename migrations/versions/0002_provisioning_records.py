"""provisioning records

Revision ID: 0002
Revises: 0001
Create Date: 2026-12-04 20:42:38.607926
"""

from __future__ import annotations

from collections.abc import Sequence

import sqlalchemy as sa
import sqlmodel
from alembic import op

import leadbridge.store.columns

revision: str = "0002"
down_revision: str | None = "0001"
branch_labels: str | Sequence[str] | None = None
depends_on: str | Sequence[str] | None = None


def upgrade() -> None:
    """Apply this revision."""
    op.create_table(
        "provisioning_records",
        sa.Column("id", sa.Integer(), nullable=False),
        sa.Column("side", sqlmodel.sql.sqltypes.AutoString(length=16), nullable=False),
        sa.Column("object_name", sqlmodel.sql.sqltypes.AutoString(length=64), nullable=False),
        sa.Column("field_name", sqlmodel.sql.sqltypes.AutoString(length=128), nullable=False),
        sa.Column("kind", sqlmodel.sql.sqltypes.AutoString(length=16), nullable=False),
        sa.Column("detail", sqlmodel.sql.sqltypes.AutoString(length=2000), nullable=False),
        sa.Column("expected", sa.JSON(), nullable=False),
        sa.Column(
            "applied_at", leadbridge.store.columns.UTCDateTime(timezone=True), nullable=False
        ),
        sa.PrimaryKeyConstraint("id"),
    )
    with op.batch_alter_table("provisioning_records", schema=None) as batch_op:
        batch_op.create_index(
            "ix_provisioning_field", ["side", "object_name", "field_name"], unique=False
        )
        batch_op.create_index(
            batch_op.f("ix_provisioning_records_applied_at"), ["applied_at"], unique=False
        )


def downgrade() -> None:
    """Revert this revision."""
    with op.batch_alter_table("provisioning_records", schema=None) as batch_op:
        batch_op.drop_index(batch_op.f("ix_provisioning_records_applied_at"))
        batch_op.drop_index("ix_provisioning_field")

    op.drop_table("provisioning_records")
