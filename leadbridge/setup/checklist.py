"""`leadbridge setup checklist` and `setup attest`: the article's 16 items, each with evidence.

Items the product can check are verified live (its config, and both systems through the
connectors); organisational items are attested by a person and kept in the state store. A key
counts as "set" only when it is written in the config (or the environment), not defaulted: the
checklist asks whether the teams decided, and a default nobody wrote down is not a decision.
"""

from __future__ import annotations

import tomllib
from collections.abc import Callable
from dataclasses import dataclass, field
from datetime import datetime, timedelta
from typing import Any, Literal

import requests
from pydantic import BaseModel
from sqlmodel import col, select

from leadbridge.config import LoadedConfig
from leadbridge.errors import LeadbridgeError, SetupError
from leadbridge.setup.checklist_items import (
    ITEMS,
    STATUS_LABELS,
    Item,
    Lang,
    find_item,
    message,
)
from leadbridge.setup.provisioning import Connectors, object_counts, plan_setup
from leadbridge.store.columns import utcnow
from leadbridge.store.db import Store
from leadbridge.store.models import Attestation

Status = Literal["ok", "missing", "attested", "expired"]
HttpGet = Callable[[str], int]
Verdict = tuple[bool, list[str]]


@dataclass(frozen=True)
class ItemResult:
    """One item's status, the evidence behind it, and how to fix it."""

    item: Item
    status: Status
    evidence: list[str]
    lang: Lang = "en"
    attested_by: str | None = None
    attested_at: datetime | None = None

    def as_dict(self) -> dict[str, Any]:
        """The item for --json (status codes stay English; texts follow --lang)."""
        return {
            "item": self.item.number,
            "slug": self.item.slug,
            "kind": self.item.kind,
            "title": self.item.text(self.lang),
            "status": self.status,
            "status_label": STATUS_LABELS[self.status][0 if self.lang == "en" else 1],
            "evidence": self.evidence,
            "fix": "" if self.status in ("ok", "attested") else self.item.fix_text(self.lang),
            "attested_by": self.attested_by,
            "attested_at": self.attested_at.isoformat() if self.attested_at else None,
        }


def http_status(url: str) -> int:
    """Status code of a plain GET (the dashboard check)."""
    return requests.get(url, timeout=10, allow_redirects=True).status_code


@dataclass
class _Context:
    loaded: LoadedConfig
    lang: Lang
    connect: Callable[[], Connectors]
    http_get: HttpGet
    attestations: dict[int, Attestation] = field(default_factory=dict)
    now: datetime = field(default_factory=utcnow)

    def say(self, name: str, /, **values: object) -> str:
        return message(name, self.lang, source=self.loaded.source, **values)


def run_checklist(
    *,
    loaded: LoadedConfig,
    store: Store,
    connect: Callable[[], Connectors],
    lang: Lang = "en",
    http_get: HttpGet = http_status,
    now: datetime | None = None,
) -> list[ItemResult]:
    """Check all 16 items; `connect` builds the connectors (its errors become evidence)."""
    ctx = _Context(loaded=loaded, lang=lang, connect=connect, http_get=http_get)
    ctx.now = now or utcnow()
    ctx.attestations = latest_attestations(store)
    return [_evaluate(item, ctx) for item in ITEMS]


def latest_attestations(store: Store) -> dict[int, Attestation]:
    """The newest attestation of each item."""
    with store.session() as session:
        rows = session.exec(select(Attestation).order_by(col(Attestation.attested_at))).all()
    return {row.item: row for row in rows}


def attest(*, store: Store, ref: str, by: str, note: str = "", at: datetime | None = None) -> Item:
    """Record that a person confirms an organisational item (by number or slug)."""
    item = find_item(ref)
    if item is None:
        raise SetupError(
            f"no checklist item {ref!r}",
            hint="use a number 1-16 or a slug such as weekly-review (see `setup checklist`)",
        )
    if item.kind == "verified":
        raise SetupError(
            f"item {item.number} ({item.slug}) is verified by leadbridge, not attested",
            hint=f"fix it instead: {item.fix_text('en')}",
        )
    if not by.strip():
        raise SetupError("--by needs the name of the person attesting", hint="--by 'Jane Doe'")
    with store.session() as session:
        session.add(
            Attestation(
                item=item.number,
                attested_by=by.strip()[:200],
                note=note[:2000],
                attested_at=at or utcnow(),
            )
        )
    return item


def _evaluate(item: Item, ctx: _Context) -> ItemResult:
    if item.kind == "attested":
        return _attested(item, ctx, [])
    ok, evidence = _CHECKS[item.number](ctx)
    if item.kind == "both" and ok:
        return _attested(item, ctx, evidence)
    return ItemResult(item, "ok" if ok else "missing", evidence, ctx.lang)


def _attested(item: Item, ctx: _Context, evidence: list[str]) -> ItemResult:
    row = ctx.attestations.get(item.number)
    if row is None:
        return ItemResult(item, "missing", [*evidence, ctx.say("not_attested")], ctx.lang)
    date = f"{row.attested_at:%Y-%m-%d}"
    if item.expires_days and ctx.now - row.attested_at > timedelta(days=item.expires_days):
        line = ctx.say("expired", by=row.attested_by, date=date, days=item.expires_days)
        status: Status = "expired"
    else:
        note = f": {row.note}" if row.note else ""
        line = ctx.say("attested", by=row.attested_by, date=date, note=note)
        status = "attested"
    return ItemResult(item, status, [*evidence, line], ctx.lang, row.attested_by, row.attested_at)


def _key(ctx: _Context, section: str, name: str, *, defaulted_counts: bool = False) -> Verdict:
    model: BaseModel = getattr(ctx.loaded.settings, section)
    value = getattr(model, name)
    key = f"{section}.{name}"
    if value is None:
        return False, [ctx.say("key_unset", key=key)]
    if name not in model.model_fields_set and not defaulted_counts:
        return False, [ctx.say("key_default", key=key, value=value)]
    return True, [ctx.say("key_set", key=key, value=value)]


def _rules(ctx: _Context) -> Verdict:
    configured = ctx.loaded.settings.scoring.rules_file
    if configured is None:
        return False, [ctx.say("rules_unset")]
    path = ctx.loaded.resolve(configured)
    try:
        data = tomllib.loads(path.read_text(encoding="utf-8"))
    except (OSError, UnicodeDecodeError, tomllib.TOMLDecodeError) as exc:
        return False, [ctx.say("rules_unreadable", path=path, problem=exc)]
    counts = {"behaviour": 0, "attribute": 0}
    for key, value in data.items():
        kind = "behaviour" if key.startswith(("behaviour", "behavior")) else key
        if kind.startswith("attribute"):
            kind = "attribute"
        if kind in counts:
            counts[kind] += len(value) if isinstance(value, list | dict) else 1
    return all(counts.values()), [ctx.say("rules_found", path=path, **counts)]


def _fields(ctx: _Context) -> Verdict:
    try:
        report = plan_setup(connectors=ctx.connect(), fields=ctx.loaded.settings.fields)
    except LeadbridgeError as exc:
        return False, [ctx.say("unreachable", error=exc.message)]
    lines = [
        ctx.say("fields_object", system=side, object=obj, ok=ok, changes=changes,
                conflicts=conflicts)
        for side, obj, ok, changes, conflicts in object_counts(report)
    ]  # fmt: skip
    return report.change_count == 0 and report.conflict_count == 0, lines


def _flag(ctx: _Context, name: str) -> Verdict:
    key = f"workflows.{name}"
    if getattr(ctx.loaded.settings.workflows, name):
        return True, [ctx.say("flag_on", key=key)]
    return False, [ctx.say("flag_off", key=key)]


def _notify(ctx: _Context) -> Verdict:
    workflows = ctx.loaded.settings.workflows
    if not workflows.notify_inside_sales:
        return _flag(ctx, "notify_inside_sales")
    count, threshold = len(workflows.inside_sales_recipients), ctx.loaded.settings.scoring.threshold
    return True, [ctx.say("recipients", count=count, threshold=threshold)]


def _dashboard(ctx: _Context) -> Verdict:
    url = ctx.loaded.settings.dashboard.url
    if url is None:
        return False, [ctx.say("key_unset", key="dashboard.url")]
    try:
        status = ctx.http_get(url)
    except requests.RequestException as exc:
        return False, [ctx.say("dashboard_bad", url=url, error=type(exc).__name__)]
    if status >= 400:
        return False, [ctx.say("dashboard_bad", url=url, error=f"HTTP {status}")]
    return True, [ctx.say("dashboard_ok", url=url, status=status)]


def _kpi_targets(ctx: _Context) -> Verdict:
    first = _key(ctx, "kpi", "target_mql_to_sql_rate")
    second = _key(ctx, "kpi", "target_sql_win_rate")
    return first[0] and second[0], first[1] + second[1]


_CHECKS: dict[int, Callable[[_Context], Verdict]] = {
    1: _rules,
    2: lambda ctx: _key(ctx, "scoring", "threshold"),
    3: _fields,
    4: _notify,
    5: lambda ctx: _flag(ctx, "handover_to_field_sales"),
    6: lambda ctx: _key(ctx, "workflows", "nurture_list"),
    7: _kpi_targets,
    8: lambda ctx: _key(ctx, "sla", "first_contact_hours"),
    10: _dashboard,
    11: lambda ctx: _key(ctx, "kpi", "target_mql_to_sql_rate"),
    12: lambda ctx: _key(ctx, "kpi", "target_sql_win_rate"),
}
