"""A whole sync "world" for end-to-end tests: both sandbox emulators, connectors, mapping, state.

Shared by the fault, crash and property tests: `open_world` stands both emulators up in-process
(as `RunningSandbox`), provisions the custom fields, and yields a `World` whose helpers edit
records the way a person would (straight into the emulators), run syncs, count records by
e-mail and check the promises of DESIGN.md: both sides agree field by field as the mapping
says, and one more run writes nothing.
"""

from __future__ import annotations

import threading
from collections import Counter
from collections.abc import Iterator
from contextlib import contextmanager
from dataclasses import dataclass, replace
from datetime import UTC, datetime, timedelta
from pathlib import Path
from typing import Any

from sqlalchemy import update
from sqlmodel import col, select

from leadbridge.connectors.base import CanonicalValue, Record, Side
from leadbridge.connectors.factory import hubspot_from_sandbox, salesforce_from_sandbox
from leadbridge.connectors.hubspot.client import HubSpotClient
from leadbridge.connectors.hubspot.connector import HubSpotConnector
from leadbridge.connectors.retry import RetryPolicy
from leadbridge.connectors.salesforce.client import SalesforceClient
from leadbridge.connectors.salesforce.connector import SalesforceConnector
from leadbridge.sandbox.runtime import RunningSandbox, SandboxOptions
from leadbridge.sandbox.salesforce.errors import SalesforceError
from leadbridge.setup.fields import hubspot_specs, salesforce_specs
from leadbridge.store.columns import utcnow
from leadbridge.store.db import Store
from leadbridge.store.models import ErrorQueueItem, Link
from leadbridge.sync.identity import normalise_email
from leadbridge.sync.mapping import FieldMap, PairMapping, load_mapping
from leadbridge.sync.merge import convert_for, same
from leadbridge.sync.runner import SyncOptions, SyncReport, run_pair
from leadbridge.sync.state import SyncState
from leadbridge.sync.transforms import TransformFailed

MAPPING = Path(__file__).resolve().parents[2] / "mappings" / "contact_lead.toml"
# Retries without real waiting: backoff in milliseconds and any Retry-After cut to 50 ms.
FAST = RetryPolicy(attempts=4, initial_wait=0.01, max_wait=0.02, max_retry_after=0.05)
# No overlap window: a cursor that skips a change must show, not be covered by the re-read.
STRICT = timedelta(0)


def quiet(report: SyncReport) -> bool:
    """True when a run wrote nothing on either side and nothing failed."""
    return all(s.created == s.updated == s.failed == 0 for s in report.sides.values())


def sqlite_store(folder: Path) -> Store:
    """A migrated SQLite state store in `folder` (for tests that run on SQLite only)."""
    folder.mkdir(parents=True, exist_ok=True)
    return Store.open(database_url=f"sqlite:///{folder / 'state.db'}")


class SharedClock:
    """One clock for both emulators: wall time, but each reading at least 1 ms after the last.

    With it every write in either system gets its own millisecond, so "which side changed last"
    (the `newest` rule) is decided by the emulators' own timestamps, never by a tie.
    """

    def __init__(self) -> None:
        self._last = datetime(1970, 1, 1, tzinfo=UTC)
        self._lock = threading.Lock()

    def __call__(self) -> datetime:
        with self._lock:
            now = datetime.now(UTC)
            now = now.replace(microsecond=now.microsecond // 1000 * 1000)
            self._last = max(now, self._last + timedelta(milliseconds=1))
            return self._last

    def advance(self, seconds: float) -> None:
        """Jump forward (never back)."""
        with self._lock:
            self._last = max(self._last, datetime.now(UTC)) + timedelta(seconds=seconds)


def share_clock(sandbox: RunningSandbox, clock: SharedClock) -> None:
    """Stamp every record write of both emulators from `clock`."""
    sandbox.hubspot.portal.clock = clock  # the portal reads its clock through an indirection
    # The org's record store took the org clock when it was built and offers no setter; the
    # limits and token clocks stay on the wall clock.
    sandbox.salesforce.org.store._clock = clock


@dataclass
class World:
    """Both sandbox systems, connectors to them, the mapping and the state."""

    sandbox: RunningSandbox
    salesforce: SalesforceConnector
    hubspot: HubSpotConnector
    mapping: PairMapping
    state: SyncState

    # -- running ----------------------------------------------------------------------------

    def sync(self, **options: Any) -> SyncReport:
        """One run of the pair with these SyncOptions."""
        return run_pair(
            mapping=self.mapping,
            state=self.state,
            hubspot=self.hubspot,
            salesforce=self.salesforce,
            options=SyncOptions(**options),
        )

    def clear_faults(self) -> None:
        """Remove every injected fault and reject rule on both emulators."""
        self.sandbox.hubspot.faults.clear()
        self.sandbox.salesforce.faults.clear()
        self.sandbox.salesforce.rejections.clear()

    def make_queue_due(self) -> int:
        """Let time pass for the error queue: every open retryable item is due now."""
        past = utcnow() - timedelta(seconds=1)
        with self.state.store.session() as session:
            done = session.execute(
                update(ErrorQueueItem)
                .where(col(ErrorQueueItem.status) == "open")
                .where(col(ErrorQueueItem.next_retry_at).is_not(None))
                .values(next_retry_at=past)
            )
            return int(done.rowcount)  # type: ignore[attr-defined]

    def queue(self) -> list[ErrorQueueItem]:
        """Every error-queue item of the pair."""
        with self.state.store.session() as session:
            return list(session.exec(select(ErrorQueueItem)).all())

    # -- reading the systems directly -------------------------------------------------------

    def lead(self, lead_id: str) -> dict[str, Any]:
        """A Lead's raw values, straight from the emulated org."""
        org = self.sandbox.salesforce.org
        with self.sandbox.salesforce.lock:
            found = org.get("Lead", lead_id)
            assert found is not None, lead_id
            return dict(found)

    def contact(self, contact_id: str, *names: str) -> dict[str, Any]:
        """A HubSpot contact's raw properties, straight from the emulated portal."""
        found = self.sandbox.hubspot.portal.get_object(
            object_type="contacts", object_id=contact_id, properties=list(names)
        )
        return dict(found["properties"])

    def contact_ids(self) -> list[str]:
        """Ids of every live HubSpot contact, in id order."""
        portal = self.sandbox.hubspot.portal
        ids: list[str] = []
        after: str | None = None
        while True:
            page = portal.list_objects(object_type="contacts", limit=100, after=after)
            ids.extend(str(row["id"]) for row in page["results"])
            nxt = page.get("paging", {}).get("next")
            if not nxt:
                return ids
            after = str(nxt["after"])

    def hubspot_emails(self) -> Counter[str]:
        """Live HubSpot contacts per normalised e-mail (a count above 1 is a duplicate)."""
        emails: Counter[str] = Counter()
        for contact_id in self.contact_ids():
            email = normalise_email(self.contact(contact_id, "email").get("email"))
            emails[email or f"(none {contact_id})"] += 1
        return emails

    def salesforce_emails(self) -> Counter[str]:
        """Live Leads and Contacts per normalised e-mail (a count above 1 is a duplicate)."""
        emails: Counter[str] = Counter()
        org = self.sandbox.salesforce.org
        with self.sandbox.salesforce.lock:
            for object_name in ("Lead", "Contact"):
                for record_id, values in org.records(object_name).items():
                    if values.get("IsDeleted"):
                        continue
                    email = normalise_email(values.get("Email"))
                    emails[email or f"(none {record_id})"] += 1
        return emails

    def assert_no_duplicates(self) -> None:
        """Neither system holds two live records with one e-mail."""
        for side, counts in (
            ("hubspot", self.hubspot_emails()),
            ("salesforce", self.salesforce_emails()),
        ):
            twice = {email: n for email, n in counts.items() if n > 1}
            assert not twice, f"duplicates in {side}: {twice}"

    # -- editing the way people do ----------------------------------------------------------

    def edit_contact(self, contact_id: str, **values: str) -> None:
        """Change a HubSpot contact as a marketer would (a new lastmodifieddate)."""
        self.sandbox.hubspot.portal.update_object(
            object_type="contacts", object_id=contact_id, body={"properties": values}
        )

    def edit_lead(self, lead_id: str, **values: Any) -> bool:
        """Change a Lead as a sales rep would; False when the org refuses (a blank LastName)."""
        org = self.sandbox.salesforce.org
        with self.sandbox.salesforce.lock:
            try:
                org.update("Lead", lead_id, values, user_id=org.integration_user_id)
            except SalesforceError:
                return False
        return True

    def new_lead(self, **values: Any) -> str:
        """Create a Lead in Salesforce as a sales rep would; its id."""
        org = self.sandbox.salesforce.org
        with self.sandbox.salesforce.lock:
            return org.create("Lead", values, user_id=org.integration_user_id)

    # -- the link table and convergence -----------------------------------------------------

    def linked_pairs(self) -> list[tuple[str, str]]:
        """(HubSpot id, Salesforce id) of every link, in HubSpot id order."""
        with self.state.store.session() as session:
            rows = session.exec(select(Link).where(col(Link.pair) == self.mapping.name)).all()
            return sorted(((r.hubspot_id, r.salesforce_id) for r in rows), key=lambda p: int(p[0]))

    def both_fields(self) -> list[FieldMap]:
        """The mapping's fields that flow both ways."""
        return [f for f in self.mapping.synced_fields() if f.direction == "both"]

    def current(self) -> tuple[dict[str, Record], dict[str, Record]]:
        """Canonical records of every linked pair, read through the connectors."""
        pairs = self.linked_pairs()
        hs_fields = list(self.mapping.read_fields("hubspot"))
        sf_fields = list(self.mapping.read_fields("salesforce"))
        hs = self.hubspot.read_by_keys(
            "contacts", key_field="hs_object_id", keys=[h for h, _ in pairs], fields=hs_fields
        )
        sf = self.salesforce.read_by_keys(
            "Lead", key_field="Id", keys=[s for _, s in pairs], fields=sf_fields
        )
        return {r.id: r for r in hs}, {r.id: r for r in sf}

    def disagreements(self) -> list[str]:
        """Linked pairs whose `both` fields differ after the mapping's transforms."""
        hs, sf = self.current()
        problems: list[str] = []
        for hubspot_id, salesforce_id in self.linked_pairs():
            if hubspot_id not in hs or salesforce_id not in sf:
                problems.append(f"{hubspot_id}|{salesforce_id}: a linked record is missing")
                continue
            for f in self.both_fields():
                left = hs[hubspot_id].values.get(f.hubspot)
                right = sf[salesforce_id].values.get(f.salesforce)
                if not agree(f, left, right):
                    problems.append(
                        f"{hubspot_id}|{salesforce_id}: {f.hubspot}={left!r} "
                        f"vs {f.salesforce}={right!r}"
                    )
        return problems

    def assert_converged(self) -> None:
        """Both sides agree on every linked pair and every `both` field."""
        problems = self.disagreements()
        assert not problems, "\n".join(problems)

    def close(self) -> None:
        """Close the connectors' HTTP pools (so the servers stop without waiting on them)."""
        self.salesforce.client.close()
        for api in vars(self.hubspot.client.apis).values():
            rest = getattr(getattr(api, "api_client", None), "rest_client", None)
            pool = getattr(rest, "pool_manager", None)
            if pool is not None:
                pool.clear()


def agree(f: FieldMap, hubspot: CanonicalValue, salesforce: CanonicalValue) -> bool:
    """The two values are the same once transformed one way or the other (the merge's test)."""
    ways: tuple[tuple[Side, CanonicalValue, CanonicalValue], ...] = (
        ("salesforce", hubspot, salesforce),
        ("hubspot", salesforce, hubspot),
    )
    for target, value, other in ways:
        if not f.flows_to(target):
            continue
        try:
            converted = convert_for(f, value, to=target)
        except TransformFailed:
            continue
        if same(converted, other, ignore_case=f.ignore_case):
            return True
    return False


def connectors(
    sandbox: RunningSandbox, *, retry: RetryPolicy, timeout_seconds: float | None = None
) -> tuple[SalesforceConnector, HubSpotConnector]:
    """Connectors to the sandbox with this retry policy and (optionally) a short timeout."""
    info = sandbox.info()
    salesforce = salesforce_from_sandbox(info, retry=retry)
    hubspot = hubspot_from_sandbox(info, retry=retry)
    if timeout_seconds is not None:
        sf_credentials = replace(salesforce.client.credentials, timeout_seconds=timeout_seconds)
        hs_credentials = replace(hubspot.client.credentials, timeout_seconds=timeout_seconds)
        salesforce = SalesforceConnector(
            client=SalesforceClient(credentials=sf_credentials, retry=retry)
        )
        hubspot = HubSpotConnector(client=HubSpotClient(credentials=hs_credentials, retry=retry))
    return salesforce, hubspot


@contextmanager
def open_world(
    *,
    store: Store,
    folder: Path,
    leads: int = 10,
    retry: RetryPolicy = FAST,
    timeout_seconds: float | None = None,
    seed: int = 42,
    clock: SharedClock | None = None,
) -> Iterator[World]:
    """Both emulators seeded with `leads` leads (and as many contacts), fields provisioned."""
    options = SandboxOptions(folder=folder, leads=leads, seed=seed)
    with RunningSandbox(options=options) as sandbox:
        if clock is not None:
            share_clock(sandbox, clock)
        salesforce, hubspot = connectors(sandbox, retry=retry, timeout_seconds=timeout_seconds)
        salesforce.ensure_fields("Lead", salesforce_specs(), apply=True)
        hubspot.ensure_fields("contacts", hubspot_specs(), apply=True)
        mapping = load_mapping(MAPPING)
        world = World(
            sandbox=sandbox,
            salesforce=salesforce,
            hubspot=hubspot,
            mapping=mapping,
            state=SyncState(store=store, pair=mapping.name),
        )
        try:
            yield world
        finally:
            world.clear_faults()
            world.close()
