"""State store: the same behaviour on SQLite and PostgreSQL, and migrations that match models."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta, timezone

import pytest
from alembic import command
from alembic.autogenerate import compare_metadata
from alembic.runtime.migration import MigrationContext
from sqlalchemy import inspect
from sqlalchemy.exc import IntegrityError, StatementError
from sqlmodel import SQLModel, select

from leadbridge.errors import StoreError
from leadbridge.store.bulk import insert_rows
from leadbridge.store.db import (
    Store,
    alembic_config,
    current_revision,
    head_revision,
    make_engine,
    upgrade,
)
from leadbridge.store.models import Attestation, Cursor, ErrorQueueItem, Lease, Lineage, Link, Run

TABLES = {"links", "cursors", "runs", "error_queue", "lineage", "attestations", "leases"}


def test_open_migrates_an_empty_database_to_head(database_url: str) -> None:
    engine = make_engine(database_url)
    assert current_revision(engine) is None
    before, after = upgrade(engine)
    assert before is None
    assert after == head_revision(engine) == current_revision(engine)
    assert set(inspect(engine).get_table_names()) >= TABLES
    assert upgrade(engine) == (after, after)  # a second upgrade changes nothing
    engine.dispose()


def test_models_and_migrations_agree(store: Store) -> None:
    with store.engine.connect() as connection:
        context = MigrationContext.configure(connection, opts={"compare_type": True})
        diff = compare_metadata(context, SQLModel.metadata)
    assert diff == []


def test_downgrade_then_upgrade_round_trips(store: Store) -> None:
    config = alembic_config(store.engine)
    command.downgrade(config, "base")
    assert not TABLES & set(inspect(store.engine).get_table_names())
    command.upgrade(config, "head")
    assert set(inspect(store.engine).get_table_names()) >= TABLES


def test_rows_round_trip_with_aware_datetimes_and_unicode(store: Store) -> None:
    tokyo = timezone(timedelta(hours=9))
    started = datetime(2026, 4, 1, 9, 30, 15, 123000, tzinfo=tokyo)
    with store.session() as session:
        run = Run(kind="sync", pair="contact_lead", started_at=started, counts={"read": 3})
        session.add(run)
        session.flush()
        assert run.id is not None
        session.add(
            Link(
                pair="contact_lead",
                hubspot_id="101",
                salesforce_id="00Q000000000001AAA",
                salesforce_type="Lead",
                snapshot={"email": "yamada@example.co.jp", "title": "営業部長", "score": 55},
                snapshot_hash="h1",
            )
        )
        session.add(
            Lineage(
                run_id=run.id,
                pair="contact_lead",
                record_id="101",
                target_side="salesforce",
                field="Title",
                old_value=None,
                new_value="営業部長",
                source_side="hubspot",
                rule="prefer_hubspot",
            )
        )
        session.add(
            ErrorQueueItem(
                run_id=run.id,
                pair="contact_lead",
                side="salesforce",
                record_id="101",
                operation="upsert",
                category="fix_data",
                code="STRING_TOO_LONG",
                message="Company: data value too large",
                hint="shorten Company to 255 characters",
                payload={"Company": "x" * 300},
            )
        )
        session.add(Cursor(pair="contact_lead", side="hubspot", object_name="contacts", value="1"))
        session.add(Attestation(item=9, attested_by="Sato", note="毎週月曜 10:00"))
    with store.session() as session:
        loaded = session.exec(select(Run)).one()
        assert loaded.started_at == started
        assert loaded.started_at.tzinfo is not None
        assert loaded.started_at.utcoffset() == timedelta(0)
        link = session.exec(select(Link)).one()
        assert link.snapshot["title"] == "営業部長"
        assert link.created_at.tzinfo is not None
        lineage = session.exec(select(Lineage)).one()
        assert (lineage.old_value, lineage.new_value) == (None, "営業部長")
        item = session.exec(select(ErrorQueueItem)).one()
        assert item.status == "open"
        assert item.next_retry_at is None
        assert session.exec(select(Attestation)).one().note == "毎週月曜 10:00"


def test_a_link_is_unique_per_side_within_a_pair(store: Store) -> None:
    def link(hubspot_id: str, salesforce_id: str, pair: str = "contact_lead") -> Link:
        return Link(
            pair=pair,
            hubspot_id=hubspot_id,
            salesforce_id=salesforce_id,
            salesforce_type="Lead",
            snapshot={},
            snapshot_hash="",
        )

    with store.session() as session:
        session.add(link("1", "00Q000000000001AAA"))
        session.add(link("1", "00Q000000000001AAA", pair="other_pair"))
    for duplicate in (link("1", "00Q000000000002AAA"), link("2", "00Q000000000001AAA")):
        with pytest.raises(IntegrityError), store.session() as session:
            session.add(duplicate)
    with store.session() as session:
        assert len(session.exec(select(Link)).all()) == 2


def test_session_rolls_back_on_error(store: Store) -> None:
    def crash_between_write_and_commit() -> None:
        with store.session() as session:
            session.add(Lease(name="pair:contact_lead", holder="a", expires_at=datetime.now(UTC)))
            session.flush()
            raise RuntimeError("crash between write and commit")

    with pytest.raises(RuntimeError):
        crash_between_write_and_commit()
    with store.session() as session:
        assert session.exec(select(Lease)).all() == []


def test_naive_datetimes_are_refused(store: Store) -> None:
    def write_naive() -> None:
        with store.session() as session:
            session.add(Lease(name="x", holder="a", expires_at=datetime(2026, 1, 1)))
            session.flush()

    with pytest.raises(StatementError, match="naive datetime"):
        write_naive()


def test_unreachable_database_is_a_store_error_without_password() -> None:
    engine = make_engine("postgresql+psycopg://nobody@127.0.0.1:1/none?connect_timeout=2")
    with pytest.raises(StoreError) as caught:
        current_revision(engine)
    assert "cannot open the state store" in str(caught.value)
    assert "database_url" in caught.value.hint


def test_bad_url_is_a_store_error() -> None:
    with pytest.raises(StoreError):
        make_engine("not a url")


def test_bulk_insert_writes_every_row_in_one_transaction(store: Store) -> None:
    now = datetime.now(UTC)
    with store.session() as session:
        run = Run(kind="sync", pair="p")
        session.add(run)
        session.flush()
        rows = [
            {
                "run_id": run.id,
                "pair": "p",
                "record_id": str(i),
                "target_side": "hubspot",
                "field": "lifecyclestage",
                "old_value": None,
                "new_value": {"n": i, "text": "見込み客"},
                "source_side": "salesforce",
                "rule": "prefer_salesforce",
                "written_at": now,
            }
            for i in range(2500)
        ]
        assert insert_rows(session, Lineage, rows) == 2500
        assert insert_rows(session, Lineage, []) == 0
    with store.session() as session:
        stored = session.exec(select(Lineage).where(Lineage.record_id == "2499")).one()
        assert stored.new_value == {"n": 2499, "text": "見込み客"}
        assert stored.written_at == now
        assert len(session.exec(select(Lineage.id)).all()) == 2500
