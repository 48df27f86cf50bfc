"""State store tables. Every change here needs an Alembic migration (a test checks they agree)."""

from __future__ import annotations

from datetime import datetime
from typing import Any

from sqlalchemy import JSON, Column, Index, UniqueConstraint
from sqlmodel import Field, SQLModel

from leadbridge.store.columns import UTCDateTime, utcnow


def _utc_column(*, nullable: bool = False, index: bool = False) -> Any:
    column: Column[datetime] = Column(UTCDateTime(), nullable=nullable, index=index)
    if nullable:
        return Field(default=None, sa_column=column)
    return Field(default_factory=utcnow, sa_column=column)


class Link(SQLModel, table=True):
    """One HubSpot record linked to one Salesforce record within a pair, with the last snapshot.

    The snapshot holds the canonical mapped values as of the last successful sync; the three-way
    merge compares both sides against it, which is what stops echoes and flip-flops.
    """

    __tablename__ = "links"
    __table_args__ = (
        UniqueConstraint("pair", "hubspot_id", name="uq_links_pair_hubspot"),
        UniqueConstraint("pair", "salesforce_id", name="uq_links_pair_salesforce"),
    )

    id: int | None = Field(default=None, primary_key=True)
    pair: str = Field(max_length=64)
    hubspot_id: str = Field(max_length=32)
    salesforce_id: str = Field(max_length=18)
    salesforce_type: str = Field(max_length=40)
    snapshot: dict[str, Any] = Field(default_factory=dict, sa_column=Column(JSON, nullable=False))
    snapshot_hash: str = Field(max_length=64)
    created_at: datetime = _utc_column()
    updated_at: datetime = _utc_column()


class Cursor(SQLModel, table=True):
    """Where the incremental read of one side of one pair resumes (value + tie-break id)."""

    __tablename__ = "cursors"

    pair: str = Field(primary_key=True, max_length=64)
    side: str = Field(primary_key=True, max_length=16)
    object_name: str = Field(primary_key=True, max_length=64)
    value: str = Field(max_length=64)
    tie_break_id: str = Field(default="", max_length=32)
    updated_at: datetime = _utc_column()


class Run(SQLModel, table=True):
    """One job execution (sync, scoring, workflows) with its counts, calls and outcome."""

    __tablename__ = "runs"
    __table_args__ = (Index("ix_runs_pair_started", "pair", "started_at"),)

    id: int | None = Field(default=None, primary_key=True)
    kind: str = Field(max_length=32)
    pair: str = Field(default="", max_length=64)
    dry_run: bool = False
    started_at: datetime = _utc_column()
    finished_at: datetime | None = _utc_column(nullable=True)
    outcome: str = Field(default="running", max_length=32)
    counts: dict[str, Any] = Field(default_factory=dict, sa_column=Column(JSON, nullable=False))
    calls_salesforce: int = 0
    calls_hubspot: int = 0
    message: str = Field(default="", max_length=2000)


class ErrorQueueItem(SQLModel, table=True):
    """A record the other side rejected (or could not take yet), kept with its reason and a fix."""

    __tablename__ = "error_queue"
    __table_args__ = (Index("ix_error_queue_status_next", "status", "next_retry_at"),)

    id: int | None = Field(default=None, primary_key=True)
    run_id: int | None = Field(default=None, foreign_key="runs.id", index=True)
    pair: str = Field(max_length=64)
    side: str = Field(max_length=16)
    record_id: str = Field(max_length=64)
    operation: str = Field(max_length=16)
    category: str = Field(max_length=32)
    code: str = Field(default="", max_length=64)
    message: str = Field(max_length=2000)
    hint: str = Field(default="", max_length=2000)
    payload: dict[str, Any] = Field(default_factory=dict, sa_column=Column(JSON, nullable=False))
    attempts: int = 1
    status: str = Field(default="open", max_length=16)
    next_retry_at: datetime | None = _utc_column(nullable=True)
    created_at: datetime = _utc_column()
    updated_at: datetime = _utc_column()


class Lineage(SQLModel, table=True):
    """One field value written by leadbridge: which run, which rule, old -> new, from which side."""

    __tablename__ = "lineage"
    __table_args__ = (
        Index("ix_lineage_record", "pair", "record_id"),
        Index("ix_lineage_field_written", "field", "written_at"),
    )

    id: int | None = Field(default=None, primary_key=True)
    run_id: int = Field(foreign_key="runs.id", index=True)
    pair: str = Field(max_length=64)
    record_id: str = Field(max_length=64)
    target_side: str = Field(max_length=16)
    field: str = Field(max_length=128)
    old_value: Any = Field(default=None, sa_column=Column(JSON, nullable=True))
    new_value: Any = Field(default=None, sa_column=Column(JSON, nullable=True))
    source_side: str = Field(max_length=16)
    rule: str = Field(max_length=64)
    written_at: datetime = _utc_column()


class Attestation(SQLModel, table=True):
    """A person's statement that an organisational checklist item is in place."""

    __tablename__ = "attestations"
    __table_args__ = (Index("ix_attestations_item_at", "item", "attested_at"),)

    id: int | None = Field(default=None, primary_key=True)
    item: int = Field(ge=1, le=16)
    attested_by: str = Field(max_length=200)
    note: str = Field(default="", max_length=2000)
    attested_at: datetime = _utc_column()


class Lease(SQLModel, table=True):
    """A named, expiring lock so one process at a time runs a pair (or the scheduler)."""

    __tablename__ = "leases"

    name: str = Field(primary_key=True, max_length=128)
    holder: str = Field(max_length=200)
    expires_at: datetime = _utc_column()


class ProvisioningRecord(SQLModel, table=True):
    """One change `leadbridge setup apply` made, and the field as it should be (for drift)."""

    __tablename__ = "provisioning_records"
    __table_args__ = (Index("ix_provisioning_field", "side", "object_name", "field_name"),)

    id: int | None = Field(default=None, primary_key=True)
    side: str = Field(max_length=16)
    object_name: str = Field(max_length=64)
    field_name: str = Field(max_length=128)
    kind: str = Field(max_length=16)
    detail: str = Field(default="", max_length=2000)
    expected: dict[str, Any] = Field(default_factory=dict, sa_column=Column(JSON, nullable=False))
    applied_at: datetime = _utc_column(index=True)


class LeadScore(SQLModel, table=True):
    """A lead's latest score with its breakdown, and the inputs it was computed from.

    `link_hash` is the link's snapshot hash and `attributes_hash` the hash of the attribute
    values the rules read, both as of the last score: a link whose snapshot hash moved is
    checked again, and rescored only when its attribute hash moved too. `rules_digest` notices
    an edited rules file.
    """

    __tablename__ = "scores"
    __table_args__ = (
        UniqueConstraint("pair", "hubspot_id", name="uq_scores_pair_hubspot"),
        Index("ix_scores_pair_decaying", "pair", "decaying"),
    )

    id: int | None = Field(default=None, primary_key=True)
    pair: str = Field(max_length=64)
    hubspot_id: str = Field(max_length=32)
    salesforce_id: str = Field(default="", max_length=18, index=True)
    total: int = 0
    is_mql: bool = False
    breakdown: list[Any] = Field(default_factory=list, sa_column=Column(JSON, nullable=False))
    decaying: bool = False
    link_hash: str = Field(default="", max_length=64)
    attributes_hash: str = Field(default="", max_length=64)
    rules_digest: str = Field(default="", max_length=64)
    computed_at: datetime = _utc_column()
    mql_since: datetime | None = _utc_column(nullable=True)
    # The lead's behaviour events as matched by the rules: {rule index: [microseconds]}, valid
    # while `hits_digest` equals the behaviour rules' digest. An incremental run adds the new
    # events to these instead of reading the lead's whole history again.
    hits: dict[str, Any] | None = Field(default=None, sa_column=Column(JSON, nullable=True))
    hits_digest: str = Field(default="", max_length=64)


class WorkflowExecution(SQLModel, table=True):
    """One workflow firing for one lead and one trigger occurrence (the idempotency key).

    The unique key makes detection idempotent; `status` moves pending -> running -> done (or
    failed, skipped, unknown) through conditional updates, so one runner at a time owns a row.
    `progress` counts the actions finished and `result` holds each action's outcome, including
    the "started" mark written before a non-idempotent action (see leadbridge.nurture.actions).
    """

    __tablename__ = "workflow_executions"
    __table_args__ = (
        UniqueConstraint("pair", "idempotency_key", name="uq_workflow_executions_key"),
        Index("ix_workflow_executions_status_due", "status", "due_at"),
        Index("ix_workflow_executions_lead", "pair", "hubspot_id"),
    )

    id: int | None = Field(default=None, primary_key=True)
    pair: str = Field(max_length=64)
    idempotency_key: str = Field(max_length=64)
    workflow: str = Field(max_length=128)
    hubspot_id: str = Field(default="", max_length=32)
    salesforce_id: str = Field(default="", max_length=18)
    occurrence: str = Field(max_length=200)
    reason: str = Field(default="", max_length=500)
    status: str = Field(default="pending", max_length=16)
    due_at: datetime = _utc_column()
    attempts: int = 0
    progress: int = 0
    claimed_by: str = Field(default="", max_length=200)
    claimed_at: datetime | None = _utc_column(nullable=True)
    result: list[Any] = Field(default_factory=list, sa_column=Column(JSON, nullable=False))
    created_at: datetime = _utc_column()
    updated_at: datetime = _utc_column()


class SkippedRecord(SQLModel, table=True):
    """An unlinked record the last run left alone (no partner, not to be created), and when.

    A run that reads it again unchanged (same modification time: the overlap window re-reads
    recent records) skips it without asking the other system again; a record that changed, or
    one seen for the first time, is judged afresh.
    """

    __tablename__ = "skipped_records"

    pair: str = Field(primary_key=True, max_length=64)
    side: str = Field(primary_key=True, max_length=16)
    record_id: str = Field(primary_key=True, max_length=32)
    modified_at: datetime = _utc_column()
    reason: str = Field(default="", max_length=500)
