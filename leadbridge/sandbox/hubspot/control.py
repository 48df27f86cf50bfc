"""Sandbox control routes under /__sandbox__/hubspot/: seeding, marketer actions, faults, clocks.

These routes need no token and are never counted, faulted or rate limited, so tests and
benchmarks can steer the emulator without disturbing what they measure.
"""

from __future__ import annotations

import dataclasses
import random
from collections.abc import Mapping, Sequence
from dataclasses import dataclass
from typing import Any, cast

from starlette.requests import Request
from starlette.responses import JSONResponse, Response
from starlette.routing import Route

from leadbridge.sandbox import seed as seed_data
from leadbridge.sandbox.faults import CONTROL_PREFIX, CallLog, FaultInjector, rule_from_json

from .errors import JsonDict
from .portal import HubSpotPortal
from .ratelimit import RateLimiter
from .routes_common import json_body

PREFIX = f"{CONTROL_PREFIX}/hubspot"
# Offset between the seed of the Salesforce leads and that of the HubSpot-only contacts.
_OTHER_PEOPLE_SEED = 7919

# Salesforce lead status -> HubSpot hs_lead_status.
_LEAD_STATUS = {
    "Open - Not Contacted": "NEW",
    "Working - Contacted": "IN_PROGRESS",
    "Closed - Converted": "OPEN_DEAL",
    "Closed - Not Converted": "UNQUALIFIED",
}
# Salesforce lead source -> HubSpot hs_analytics_source (a read-only, HubSpot-computed value).
_SOURCE = {
    "Web": "ORGANIC_SEARCH",
    "Phone Inquiry": "OFFLINE",
    "Partner Referral": "REFERRALS",
    "Purchased List": "OFFLINE",
    "Seminar": "OFFLINE",
    "Webinar": "OTHER_CAMPAIGNS",
    "Whitepaper Download": "PAID_SEARCH",
    "Advertisement": "PAID_SOCIAL",
}
# Seeded behaviour events: the types, the page URLs and the history window.
SEED_EVENT_TYPES = ("form_submission", "webinar_attended", "page_view", "email_open", "email_click")
_PAGE_URLS = (
    "https://www.example.com/pricing",
    "https://www.example.com/pricing/enterprise",
    "https://www.example.com/",
    "https://www.example.com/blog/lead-scoring",
    "https://www.example.com/product",
    "https://www.example.com/careers",
)
_DAY_MS = 86_400_000
# Upper bounds of HubSpot's numemployees bands.
_BANDS = ((5, "1-5"), (25, "5-25"), (50, "25-50"), (100, "50-100"), (500, "100-500"))


class ControlError(ValueError):
    """A malformed control request (answered with 400 and a plain message)."""


@dataclass(frozen=True)
class ControlTargets:
    """What the control routes steer."""

    portal: HubSpotPortal
    faults: FaultInjector
    calls: CallLog
    limiter: RateLimiter
    seed: int = 0


def _employee_band(count: int) -> str:
    for upper, band in _BANDS:
        if count < upper:
            return band
    return "500-1000" if count < 1000 else "1000+"


def contact_row(lead: seed_data.SeedLead, *, email: str | None = None) -> dict[str, object]:
    """HubSpot contact properties for a seed lead (optionally under another email)."""
    return {
        "email": email or lead.email,
        "firstname": lead.first_name,
        "lastname": lead.last_name,
        "company": lead.company,
        "jobtitle": lead.title,
        "phone": lead.phone,
        "country": lead.country,
        "industry": lead.industry,
        "numemployees": _employee_band(lead.number_of_employees),
        "lifecyclestage": "lead",
        "hs_lead_status": _LEAD_STATUS.get(lead.status, "NEW"),
        "hs_analytics_source": _SOURCE.get(lead.lead_source, "OTHER_CAMPAIGNS"),
        "createdate": lead.created_date,
    }


def seed_contacts(
    portal: HubSpotPortal,
    *,
    contacts: int,
    seed: int,
    match_share: float,
    leads: int | None = None,
) -> JsonDict:
    """Bulk-insert contacts: a share of the seed leads (same emails) plus HubSpot-only people.

    `leads` must equal the number of leads the Salesforce side was seeded with (same `seed`),
    since seed data is only reproducible for the same arguments.
    """
    if contacts < 0 or not 0.0 <= match_share <= 1.0:
        raise ControlError("contacts must be >= 0 and match_share between 0 and 1")
    lead_count = contacts if leads is None else leads
    source = seed_data.generate(seed=seed, leads=lead_count).leads if lead_count else ()
    rng = random.Random(seed)  # noqa: S311  (reproducible demo data)
    matched = rng.sample(list(source), min(contacts, round(match_share * len(source))))
    rows = [contact_row(lead) for lead in matched]
    taken = {lead.email.lower() for lead in source}
    others = contacts - len(rows)
    if others:
        extra = seed_data.generate(seed=seed + _OTHER_PEOPLE_SEED, leads=others).leads
        for n, lead in enumerate(extra):
            email = lead.email
            if email.lower() in taken:
                # Keep HubSpot-only people from matching a Salesforce lead by accident.
                local, _, domain = email.partition("@")
                email = f"{local}.hs{n}@{domain}"
            taken.add(email.lower())
            rows.append(contact_row(lead, email=email))
    ids = portal.bulk_insert(object_type="contacts", rows=rows)
    return {
        "contacts": len(ids),
        "matched": len(matched),
        "matched_emails": [lead.email for lead in matched],
    }


def seed_events(
    portal: HubSpotPortal,
    *,
    per_contact: int,
    seed: int,
    types: Sequence[str] = SEED_EVENT_TYPES,
    ids: Sequence[str | int] | None = None,
    days: float = 90.0,
) -> JsonDict:
    """Record `per_contact` events for each contact (all active ones unless `ids`), in process.

    Types and page URLs are drawn from `seed`, one stream per contact id, so the same seed gives
    the same events for the same contacts; times fall within the last `days` of the portal
    clock (0 puts them all at now).
    """
    if per_contact < 0 or days < 0:
        raise ControlError("per_contact and days must not be negative")
    unknown = [name for name in types if name not in SEED_EVENT_TYPES]
    if not types or unknown:
        raise ControlError(f"types must be some of: {', '.join(SEED_EVENT_TYPES)}")
    store = portal.records.store("contacts")
    if ids is None:
        contacts = [int(key) for key in store.active]
    else:
        contacts = [portal.records.require(object_type="contacts", object_id=i).id for i in ids]
    now = portal.now_ms()
    span = int(days * _DAY_MS)
    log = portal.events
    recorded = 0
    for contact in contacts:
        rng = random.Random(seed * 1_000_003 + contact)  # noqa: S311  (reproducible demo data)
        for _ in range(per_contact):
            kind = rng.choice(types)
            properties = {"url": rng.choice(_PAGE_URLS)} if kind == "page_view" else None
            log.record(
                object_id=contact,
                event_type=kind,
                occurred_ms=now - rng.randint(0, span),
                properties=properties,
            )
            recorded += 1
    return {"contacts": len(contacts), "events": recorded}


def _targets(request: Request) -> ControlTargets:
    return cast(ControlTargets, request.app.state.control)


async def _object(request: Request) -> Mapping[str, Any]:
    body = await json_body(request) if (await request.body()).strip() else {}
    if not isinstance(body, dict):
        raise ControlError("The control body must be a JSON object")
    return body


def _required(body: Mapping[str, Any], *names: str) -> None:
    missing = [name for name in names if body.get(name) in (None, "")]
    if missing:
        raise ControlError(f"missing: {', '.join(missing)}")


async def seed(request: Request) -> Response:
    """POST seed {contacts, seed, match_share, leads?}."""
    body, targets = await _object(request), _targets(request)
    try:
        contacts = int(body.get("contacts", 100))
        seed_value = int(body.get("seed", targets.seed))
        share = float(body.get("match_share", 0.5))
        leads = None if body.get("leads") is None else int(body["leads"])
    except (TypeError, ValueError) as exc:
        raise ControlError(str(exc)) from None
    result = seed_contacts(
        targets.portal, contacts=contacts, seed=seed_value, match_share=share, leads=leads
    )
    return JSONResponse(result)


async def seed_events_route(request: Request) -> Response:
    """POST seed_events {per_contact, seed, types?, ids?, days?}: events for existing contacts."""
    body, targets = await _object(request), _targets(request)
    try:
        per_contact = int(body.get("per_contact", 10))
        seed_value = int(body.get("seed", targets.seed))
        types = [str(t) for t in body.get("types") or SEED_EVENT_TYPES]
        raw_ids = body.get("ids")
        if raw_ids is not None and not isinstance(raw_ids, list):
            raise ControlError("ids must be a list of contact ids")
        ids = None if raw_ids is None else [str(i) for i in raw_ids]
        days = float(body.get("days", 90.0))
    except (TypeError, ValueError) as exc:
        raise ControlError(str(exc)) from None
    result = seed_events(
        targets.portal, per_contact=per_contact, seed=seed_value, types=types, ids=ids, days=days
    )
    return JSONResponse(result)


async def edit(request: Request) -> Response:
    """POST actions/edit {id, properties}: a marketer edits a contact in the HubSpot UI."""
    body = await _object(request)
    _required(body, "id", "properties")
    updated = _targets(request).portal.update_object(
        object_type=str(body.get("object_type", "contacts")),
        object_id=str(body["id"]),
        body={"properties": body["properties"]},
    )
    return JSONResponse(updated)


async def event(request: Request) -> Response:
    """POST actions/event {id, event_type, occurred_at?, properties?}."""
    body = await _object(request)
    _required(body, "id", "event_type")
    recorded = _targets(request).portal.record_event(
        object_id=str(body["id"]),
        event_type=str(body["event_type"]),
        occurred_at=body.get("occurred_at"),
        properties=body.get("properties"),
    )
    return JSONResponse(recorded)


async def merge(request: Request) -> Response:
    """POST actions/merge {primary_id, merged_id}: a marketer merges two contacts."""
    body = await _object(request)
    _required(body, "primary_id", "merged_id")
    merged = _targets(request).portal.merge(
        object_type=str(body.get("object_type", "contacts")),
        body={
            "primaryObjectId": str(body["primary_id"]),
            "objectIdToMerge": str(body["merged_id"]),
        },
    )
    return JSONResponse(merged)


async def add_faults(request: Request) -> Response:
    """POST faults: one rule object, or {"rules": [...]}."""
    body = await _object(request)
    raw = body.get("rules", [body])
    if not isinstance(raw, list) or not all(isinstance(item, dict) for item in raw):
        raise ControlError("rules must be a list of objects")
    rules = [rule_from_json(dict(item)) for item in raw]
    injector = _targets(request).faults
    for rule in rules:
        injector.add(rule)
    return JSONResponse({"rules": len(injector.rules())})


async def list_faults(request: Request) -> Response:
    """GET faults: the active rules."""
    rules = _targets(request).faults.rules()
    return JSONResponse({"rules": [dataclasses.asdict(rule) for rule in rules]})


async def clear_faults(request: Request) -> Response:
    """DELETE faults."""
    _targets(request).faults.clear()
    return JSONResponse({"rules": 0})


async def read_calls(request: Request) -> Response:
    """GET calls: API calls per endpoint since the last reset."""
    log = _targets(request).calls
    return JSONResponse({"calls": log.snapshot(), "total": log.total()})


async def reset_calls(request: Request) -> Response:
    """DELETE calls."""
    _targets(request).calls.reset()
    return JSONResponse({"calls": {}, "total": 0})


async def search_lag(request: Request) -> Response:
    """POST search_lag {seconds}: how long new writes stay invisible to search."""
    body = await _object(request)
    _required(body, "seconds")
    seconds = float(body["seconds"])
    if seconds < 0:
        raise ControlError("seconds must not be negative")
    _targets(request).portal.set_search_lag(seconds)
    return JSONResponse({"seconds": seconds})


async def clock(request: Request) -> Response:
    """POST clock {advance_seconds}: move the rate-limit windows forward."""
    body = await _object(request)
    limiter = _targets(request).limiter
    limiter.advance(float(body.get("advance_seconds", 0)))
    return JSONResponse(limiter.usage())


async def limits(request: Request) -> Response:
    """GET limits: rate-limit counters; DELETE resets them."""
    limiter = _targets(request).limiter
    if request.method == "DELETE":
        limiter.reset()
    return JSONResponse(limiter.usage())


def control_error(request: Request, exc: Exception) -> Response:
    """400 with a plain message for a malformed control request."""
    return JSONResponse({"error": str(exc)}, status_code=400)


def control_routes() -> list[Route]:
    """The control routes; the app keeps a ControlTargets in `app.state.control`."""
    return [
        Route(f"{PREFIX}/seed", seed, methods=["POST"]),
        Route(f"{PREFIX}/seed_events", seed_events_route, methods=["POST"]),
        Route(f"{PREFIX}/actions/edit", edit, methods=["POST"]),
        Route(f"{PREFIX}/actions/event", event, methods=["POST"]),
        Route(f"{PREFIX}/actions/merge", merge, methods=["POST"]),
        Route(f"{PREFIX}/faults", add_faults, methods=["POST"]),
        Route(f"{PREFIX}/faults", list_faults, methods=["GET"]),
        Route(f"{PREFIX}/faults", clear_faults, methods=["DELETE"]),
        Route(f"{PREFIX}/calls", read_calls, methods=["GET"]),
        Route(f"{PREFIX}/calls", reset_calls, methods=["DELETE"]),
        Route(f"{PREFIX}/search_lag", search_lag, methods=["POST"]),
        Route(f"{PREFIX}/clock", clock, methods=["POST"]),
        Route(f"{PREFIX}/limits", limits, methods=["GET", "DELETE"]),
    ]
