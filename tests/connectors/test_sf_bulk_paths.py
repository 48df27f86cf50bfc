"""The Salesforce connector's Bulk API 2.0 paths and its fault handling, against the emulator.

Bulk reads must give exactly what the REST path gives; bulk writes must map every row's outcome
back to its op; failed jobs must yield classified errors, never an exception; and every bulk
request must be one counted call. The fault tests at the end run on the REST path.
"""

from __future__ import annotations

import dataclasses
import datetime as dt
import gc
from collections.abc import Callable, Iterator
from pathlib import Path
from typing import Any

import pytest
import requests
from pydantic import SecretStr

from leadbridge.connectors.base import FieldSpec, FieldType, Page, Record, WriteOp, WriteResult
from leadbridge.connectors.retry import RetryPolicy
from leadbridge.connectors.salesforce.bulk import BulkOptions, csv_to_canonical, row_error
from leadbridge.connectors.salesforce.client import SalesforceClient, SalesforceCredentials
from leadbridge.connectors.salesforce.connector import SalesforceConnector
from leadbridge.connectors.salesforce.values import schema_from_describe
from leadbridge.errors import (
    BudgetExhaustedError,
    DataError,
    LeadbridgeError,
    Recovery,
    SessionExpiredError,
    SetupError,
    TransientError,
)
from leadbridge.sandbox.faults import FaultRule
from leadbridge.sandbox.salesforce.app import SalesforceEmulator
from leadbridge.sandbox.salesforce.rejections import RejectRule
from leadbridge.sandbox.server import BackgroundServer
from leadbridge.sandbox.tls import ensure_tls

FAST = RetryPolicy(attempts=3, initial_wait=0.01, max_wait=0.02)
QUICK = BulkOptions(
    poll_interval=0.005, poll_max_interval=0.02, result_page_records=700, page_records=400
)
KEY = FieldSpec(
    name="HubSpot_Contact_Id__c",
    label="HubSpot contact id",
    type=FieldType.STRING,
    length=32,
    external_id=True,
    unique=True,
)
FIELDS = [
    "Email",
    "FirstName",
    "LastName",
    "Company",
    "DoNotCall",
    "NumberOfEmployees",
    "AnnualRevenue",
    "Rating",
    KEY.name,
]
SEEDED = 3000

Served = tuple[SalesforceEmulator, str, BackgroundServer]
Factory = Callable[..., SalesforceConnector]


@pytest.fixture(scope="module")
def served(tmp_path_factory: pytest.TempPathFactory) -> Iterator[Served]:
    emulator = SalesforceEmulator(daily_api_max=1_000_000)
    tls = ensure_tls(Path(tmp_path_factory.mktemp("tls")))
    base = dt.datetime(2024, 5, 1, 9, 0, tzinfo=dt.UTC)
    rows: list[dict[str, Any]] = []
    for i in range(SEEDED):
        # Few distinct timestamps, so many records tie and the Id decides their order.
        stamp = base + dt.timedelta(seconds=i % 13, milliseconds=(i * 7) % 3)
        rows.append(
            {
                "LastName": f"Seed{i}",
                "FirstName": "Hanako" if i % 2 else None,
                "Company": f"Seed Co {i % 11}",
                "Email": f"seed{i}@example.com",
                "DoNotCall": i % 3 == 0,
                "NumberOfEmployees": i if i % 4 else None,
                "AnnualRevenue": i * 1000 if i % 5 else None,
                "Rating": ("Hot", "Warm", "Cold", None)[i % 4],
                "SystemModstamp": stamp,
                "LastModifiedDate": stamp,
                "CreatedDate": stamp,
            }
        )
    with emulator.lock:
        emulator.org.bulk_load("Lead", rows)
    # The emulator shuffles Bulk query rows and ingest results (no order is promised), which
    # would expose a connector relying on index order.
    assert emulator.bulk.shuffle_seed is not None
    with BackgroundServer(app=emulator.app, tls=tls) as server:
        yield emulator, str(tls.ca_file), server
        gc.collect()


@pytest.fixture(scope="module")
def make(served: Served) -> Factory:
    emulator, ca_file, server = served
    info = emulator.client_info(base_url=server.base_url, ca_file=ca_file)

    def factory(*, mode: str = "client_credentials", **kwargs: Any) -> SalesforceConnector:
        common: dict[str, Any] = {
            "instance_url": server.base_url,
            "ca_file": Path(ca_file),
            "daily_api_share": 1.0,
            "username": info["username"],
        }
        if mode == "token":
            credentials = SalesforceCredentials(
                mode="token",
                access_token=SecretStr(emulator.issue_access_token()),
                **common,
            )
        else:
            credentials = SalesforceCredentials(
                mode="client_credentials",
                login_url=f"https://{info['domain']}.salesforce.com",
                client_id=info["client_id"],
                client_secret=SecretStr(info["client_secret"]),
                **common,
            )
        client = SalesforceClient(credentials=credentials, retry=FAST)
        return SalesforceConnector(client=client, **kwargs)

    setup = factory()
    setup.ensure_fields("Lead", [KEY], apply=True)
    return factory


@pytest.fixture(scope="module")
def bulky(make: Factory) -> SalesforceConnector:
    return make(bulk_read_threshold=1_000, bulk_write_threshold=1_000, bulk_options=QUICK)


@pytest.fixture
def emulator(served: Served) -> Iterator[SalesforceEmulator]:
    emu = served[0]
    yield emu
    emu.faults.clear()
    emu.rejections.clear()
    emu.org.limits.daily_api_requests.used = 0


def drain(pages: Iterator[Page]) -> tuple[list[Record], list[Page]]:
    collected = list(pages)
    return [r for page in collected for r in page.records], collected


def bulk_calls(emulator: SalesforceEmulator) -> dict[str, int]:
    return {k: v for k, v in emulator.calls.snapshot().items() if "/jobs/" in k}


def upserts(n: int, *, tag: str, prefix: str = "bulk") -> list[WriteOp]:
    return [
        WriteOp(
            kind="upsert",
            ref=f"r{i}",
            key_field=KEY.name,
            key_value=f"{prefix}-{i}",
            values={
                "LastName": f"Upserted{i}",
                "Company": f"{tag} {i % 5}",
                "Email": f"{prefix}{i}@example.com",
            },
        )
        for i in range(n)
    ]


def count_keys(emulator: SalesforceEmulator, prefix: str) -> int:
    with emulator.lock:
        return sum(
            1
            for rec in emulator.org.iter_records("Lead")
            if str(rec.get(KEY.name) or "").startswith(f"{prefix}-") and not rec.get("IsDeleted")
        )


# -- conversion units ---------------------------------------------------------------------------


def test_csv_cells_become_canonical_values() -> None:
    schema = schema_from_describe(
        {
            "fields": [
                {"name": "B", "type": "boolean"},
                {"name": "I", "type": "int"},
                {"name": "D", "type": "datetime"},
                {"name": "M", "type": "multipicklist"},
            ]
        }
    )
    assert csv_to_canonical("", schema.field("B")) is None
    assert csv_to_canonical("false", schema.field("B")) is False
    assert csv_to_canonical("true", schema.field("B")) is True
    assert csv_to_canonical("12", schema.field("I")) == 12
    assert csv_to_canonical("2013-05-20T20:49:32.000Z", schema.field("D")) == dt.datetime(
        2013, 5, 20, 20, 49, 32, tzinfo=dt.UTC
    )
    assert csv_to_canonical("a;b", schema.field("M")) == frozenset({"a", "b"})


def test_sf_error_cells_are_classified_by_their_code() -> None:
    error = row_error(
        "STRING_TOO_LONG:Last Name: data value too large: xxx (max length=80):LastName --"
    )
    assert isinstance(error, DataError)
    assert error.code == "STRING_TOO_LONG"
    assert "max length=80" in error.message
    assert "LastName" in error.message
    assert error.hint
    locked = row_error("UNABLE_TO_LOCK_ROW:unable to obtain exclusive access to this record: --")
    assert isinstance(locked, TransientError)


# -- reads --------------------------------------------------------------------------------------


def _snapshot(records: list[Record]) -> list[tuple[str, dict[str, Any], bool]]:
    return [(r.id, dict(r.values), r.deleted) for r in records]


def test_bulk_read_equals_rest_read(
    make: Factory, bulky: SalesforceConnector, emulator: SalesforceEmulator
) -> None:
    rest = make()
    rest_records, rest_pages = drain(rest.read_changes("Lead", cursor=None, fields=FIELDS))
    before = bulk_calls(emulator)
    bulk_records, bulk_pages = drain(bulky.read_changes("Lead", cursor=None, fields=FIELDS))
    used = bulk_calls(emulator)
    assert sum(used.values()) > sum(before.values())
    assert any(k.startswith("POST") and k.endswith("/jobs/query") for k in used)
    assert len(rest_records) >= SEEDED
    assert _snapshot(bulk_records) == _snapshot(rest_records)
    assert bulk_pages[-1].cursor == rest_pages[-1].cursor
    cursors = [page.cursor for page in bulk_pages]
    assert cursors == sorted(cursors)
    for page in bulk_pages:
        # A page claims the stamps before its cursor's; records at that stamp may come again.
        assert all(r.modified_at <= page.cursor.modified_at for r in page.records)


def test_bulk_read_resumes_from_a_mid_job_checkpoint(
    make: Factory, bulky: SalesforceConnector
) -> None:
    everything, _ = drain(make().read_changes("Lead", cursor=None, fields=FIELDS))
    pages = iter(bulky.read_changes("Lead", cursor=None, fields=FIELDS))
    first, second = next(pages), next(pages)
    assert len(first.records) == 2000
    assert len(second.records) == 400
    rest, _ = drain(bulky.read_changes("Lead", cursor=second.cursor, fields=FIELDS))
    read = [*first.records, *second.records]
    # Nothing is skipped; what repeats is only the checkpoint's own stamp (Id order is the
    # server's, so a mid-job checkpoint cannot name a position inside a stamp).
    assert {r.id for r in (*read, *rest)} == {r.id for r in everything}
    repeated = {r.id for r in read} & {r.id for r in rest}
    assert all(r.modified_at == second.cursor.modified_at for r in rest if r.id in repeated)


def test_a_job_too_big_to_sort_checkpoints_only_at_its_end(
    make: Factory, emulator: SalesforceEmulator
) -> None:
    options = BulkOptions(
        poll_interval=0.005, poll_max_interval=0.02, result_page_records=400, sort_limit=300
    )
    streaming = make(bulk_read_threshold=1_000, bulk_options=options)
    rest_records, rest_pages = drain(make().read_changes("Lead", cursor=None, fields=FIELDS))
    records, pages = drain(streaming.read_changes("Lead", cursor=None, fields=FIELDS))
    assert sorted(_snapshot(records)) == sorted(_snapshot(rest_records))
    assert len(pages) >= 4
    first_page_cursor = pages[0].cursor
    assert all(page.cursor == first_page_cursor for page in pages[1:-1])
    assert pages[-1].cursor == rest_pages[-1].cursor


def test_small_windows_stay_on_rest(
    bulky: SalesforceConnector, emulator: SalesforceEmulator
) -> None:
    everything, _ = drain(bulky.read_changes("Lead", cursor=None, fields=["Email"]))
    late = everything[-10].cursor
    before = bulk_calls(emulator)
    recent, _ = drain(bulky.read_changes("Lead", cursor=late, fields=["Email"]))
    assert [r.id for r in recent] == [r.id for r in everything[-9:]]
    assert bulk_calls(emulator) == before


# -- writes -------------------------------------------------------------------------------------


def test_bulk_upsert_creates_then_updates_without_duplicates(
    bulky: SalesforceConnector, emulator: SalesforceEmulator
) -> None:
    first = bulky.write("Lead", upserts(2500, tag="First"))
    assert all(r.ok for r in first), next(r.error for r in first if not r.ok)
    assert all(r.created for r in first)
    assert [r.ref for r in first] == [f"r{i}" for i in range(2500)]
    assert len({r.record_id for r in first}) == 2500
    assert count_keys(emulator, "bulk") == 2500
    second = bulky.write("Lead", upserts(2500, tag="Second"))
    assert all(r.ok and not r.created for r in second)
    assert [r.record_id for r in second] == [r.record_id for r in first]
    assert count_keys(emulator, "bulk") == 2500
    with emulator.lock:
        rec = emulator.org.get("Lead", str(first[7].record_id))
    assert rec is not None
    assert rec["Company"] == "Second 2"


def test_bulk_rejections_fail_exactly_their_ops(
    bulky: SalesforceConnector, emulator: SalesforceEmulator
) -> None:
    emulator.rejections.add(
        RejectRule(object="Lead", field="Company", value="Rejected Co", message="Company is banned")
    )
    ops = upserts(1500, tag="Fine", prefix="rej")
    bad = {3, 700, 1499}
    ops = [
        WriteOp(
            kind=op.kind,
            ref=op.ref,
            key_field=op.key_field,
            key_value=op.key_value,
            values={**op.values, "Company": "Rejected Co"} if i in bad else op.values,
        )
        for i, op in enumerate(ops)
    ]
    results = bulky.write("Lead", ops)
    _assert_only_failed(results, bad, DataError)
    assert all("Company is banned" in str(results[i].error) for i in bad)
    assert count_keys(emulator, "rej") == 1500 - len(bad)
    # Updates by Id take the same route, matched by the Id column.
    ids = [str(r.record_id) for r in results if r.ok][:1200]
    updates = [
        WriteOp(
            kind="update",
            ref=f"u{i}",
            record_id=record_id,
            values={"Company": "Rejected Co" if i in (5, 999) else "Updated Co"},
        )
        for i, record_id in enumerate(ids)
    ]
    updated = bulky.write("Lead", updates)
    _assert_only_failed(updated, {5, 999}, DataError)
    assert [r.record_id for r in updated] == ids


def test_bulk_update_with_a_repeated_id_applies_the_later_op(
    bulky: SalesforceConnector, emulator: SalesforceEmulator
) -> None:
    created = bulky.write("Lead", upserts(1100, tag="Repeat", prefix="rep"))
    ids = [str(r.record_id) for r in created]
    ops = [
        WriteOp(kind="update", ref=f"u{i}", record_id=rid, values={"Title": "first"})
        for i, rid in enumerate(ids)
    ]
    ops.append(WriteOp(kind="update", ref="again", record_id=ids[0], values={"Title": "second"}))
    results = bulky.write("Lead", ops)
    assert all(r.ok for r in results)
    assert results[-1].ref == "again"
    with emulator.lock:
        rec = emulator.org.get("Lead", ids[0])
    assert rec is not None
    assert rec["Title"] == "second"


def test_bulk_delete(bulky: SalesforceConnector, emulator: SalesforceEmulator) -> None:
    created = bulky.write("Lead", upserts(1050, tag="Doomed", prefix="del"))
    ops = [
        WriteOp(kind="delete", ref=f"d{i}", record_id=str(r.record_id))
        for i, r in enumerate(created)
    ]
    with emulator.lock:
        emulator.org.delete(
            "Lead", str(created[0].record_id), user_id=emulator.org.integration_user_id
        )
    results = bulky.write("Lead", ops)
    assert all(r.ok for r in results), next(r.error for r in results if not r.ok)
    assert count_keys(emulator, "del") == 0


def error_of(result: WriteResult) -> LeadbridgeError:
    assert result.error is not None
    return result.error


def _assert_only_failed(results: list[WriteResult], bad: set[int], kind: type) -> None:
    failed = {i for i, r in enumerate(results) if not r.ok}
    assert failed == bad
    for i in bad:
        assert isinstance(results[i].error, kind)
        assert error_of(results[i]).hint


@pytest.mark.parametrize(
    ("fault", "error_kind"),
    [
        (FaultRule(status=503, method="GET", path_contains="/jobs/ingest/"), TransientError),
        (
            FaultRule(
                status=200,
                method="GET",
                path_contains="/jobs/ingest/",
                body={"id": "x", "state": "Aborted", "errorMessage": "aborted by an admin"},
                remaining=1,
            ),
            TransientError,
        ),
        (FaultRule(status=503, method="GET", path_contains="/successfulResults"), TransientError),
    ],
    ids=["status-endpoint-down", "aborted", "results-endpoint-down"],
)
def test_a_failed_bulk_job_fails_every_op_without_raising(
    bulky: SalesforceConnector,
    emulator: SalesforceEmulator,
    fault: FaultRule,
    error_kind: type,
) -> None:
    emulator.faults.add(fault)
    results = bulky.write("Lead", upserts(1200, tag="Faulted", prefix="flt"))
    if fault.status == 200:
        assert all("aborted by an admin" in str(r.error) for r in results)
    assert len(results) == 1200
    assert not any(r.ok for r in results)
    assert all(isinstance(r.error, error_kind) for r in results)
    assert all(r.recovery is Recovery.RETRY_LATER for r in results)
    assert all(error_of(r).hint for r in results)


def test_a_job_the_org_fails_gives_a_setup_error_to_every_op(
    bulky: SalesforceConnector, emulator: SalesforceEmulator
) -> None:
    ops = [
        WriteOp(
            kind=op.kind,
            ref=op.ref,
            key_field=op.key_field,
            key_value=op.key_value,
            values={**op.values, "No_Such_Field__c": "x"},
        )
        for op in upserts(1100, tag="Unknown", prefix="unk")
    ]
    results = bulky.write("Lead", ops)
    assert all(isinstance(r.error, SetupError) for r in results)
    assert "No_Such_Field__c" in str(results[0].error)
    assert count_keys(emulator, "unk") == 0


def test_bulk_calls_are_counted_by_the_client(
    bulky: SalesforceConnector, emulator: SalesforceEmulator
) -> None:
    bulky.describe("Lead")
    made, served = bulky.budget().calls_made, emulator.calls.total()
    jobs = bulk_calls(emulator)
    results = bulky.write("Lead", upserts(1001, tag="Counted", prefix="cnt"))
    assert all(r.ok for r in results)
    # create, upload, close, one poll, successful results: the empty result sets are skipped.
    write_calls = sum(bulk_calls(emulator).values()) - sum(jobs.values())
    assert write_calls == 5
    drain(bulky.read_changes("Lead", cursor=None, fields=FIELDS))
    assert bulky.budget().calls_made - made == emulator.calls.total() - served
    assert bulky.budget().daily_used is not None


def test_expired_session_mid_bulk_read_recovers_for_a_signed_in_client(
    bulky: SalesforceConnector, emulator: SalesforceEmulator
) -> None:
    pages = iter(bulky.read_changes("Lead", cursor=None, fields=["Email"]))
    first = next(pages)
    emulator.expire_tokens()
    rest = [r for page in pages for r in page.records]
    assert len(first.records) + len(rest) >= SEEDED


# -- faults on the REST path --------------------------------------------------------------------


def _caught(step: Callable[[], object]) -> Exception:
    # A live traceback keeps a client connection referenced and delays the server's shutdown.
    try:
        step()
    except Exception as exc:
        return exc.with_traceback(None)
    raise AssertionError("no exception raised")


def test_token_expiry_mid_read_asks_to_reauthenticate(
    make: Factory, emulator: SalesforceEmulator
) -> None:
    bare = make(mode="token")
    pages = bare.read_changes("Lead", cursor=None, fields=["Email"])
    first = next(pages)
    assert len(first.records) == 2000
    emulator.expire_tokens()
    calls = bare.budget().calls_made
    error = _caught(lambda: next(pages))
    assert isinstance(error, SessionExpiredError)
    assert error.recovery is Recovery.REAUTHENTICATE
    assert bare.budget().calls_made == calls + 1
    assert _caught(lambda: next(pages)).__class__ is StopIteration


def test_unable_to_lock_row_fails_only_its_records_as_transient(
    make: Factory, emulator: SalesforceEmulator
) -> None:
    emulator.rejections.add(
        RejectRule(
            object="Lead",
            field="Company",
            value="Locked Co",
            error_code="UNABLE_TO_LOCK_ROW",
            message="unable to obtain exclusive access to this record",
        )
    )
    ops = upserts(10, tag="Free", prefix="lock")
    for i in (2, 7):
        ops[i] = dataclasses.replace(ops[i], values={**ops[i].values, "Company": "Locked Co"})
    results = make().write("Lead", ops)
    _assert_only_failed(results, {2, 7}, TransientError)
    assert all(results[i].recovery is Recovery.RETRY_LATER for i in (2, 7))
    assert all(error_of(results[i]).code == "UNABLE_TO_LOCK_ROW" for i in (2, 7))


def test_daily_limit_mid_read_stops_after_the_pages_yielded(
    make: Factory, served: Served, emulator: SalesforceEmulator
) -> None:
    _, ca_file, server = served
    reader = make()
    pages = reader.read_changes("Lead", cursor=None, fields=["Email"])
    first = next(pages)
    assert len(first.records) == 2000
    control = requests.Session()
    control.verify = ca_file
    control.trust_env = False
    limits = control.get(f"{server.base_url}/__sandbox__/salesforce/limits").json()
    control.post(
        f"{server.base_url}/__sandbox__/salesforce/limits", json={"used": limits["max"]}
    ).raise_for_status()
    control.close()
    error = _caught(lambda: next(pages))
    assert isinstance(error, BudgetExhaustedError)
    assert error.recovery is Recovery.STOP
