"""Seed data determinism and the SystemModstamp index at scale."""

from __future__ import annotations

import datetime as dt

from leadbridge.sandbox import seed
from leadbridge.sandbox.salesforce.objects import INDUSTRIES, LEAD_STATUSES
from tests.sandbox.sf_helpers import lead, make_org


def test_seed_is_deterministic_and_realistic() -> None:
    first = seed.generate(seed=7, leads=500)
    assert first == seed.generate(seed=7, leads=500)
    assert first != seed.generate(seed=8, leads=500)
    emails = [x.email for x in first.leads]
    assert len(set(emails)) == len(emails)
    assert {x.locale for x in first.leads} == {"ja_JP", "en_US"}
    assert all(x.industry in INDUSTRIES and x.status in LEAD_STATUSES for x in first.leads)
    assert all(x.email.split("@")[1].endswith((".co.jp", ".com")) for x in first.leads)
    ja_titles = {x.title for x in first.leads if x.locale == "ja_JP"}
    assert any(t.endswith(("部長", "課長", "担当")) for t in ja_titles)
    assert {q.name for q in first.queues} == {"Inside Sales Queue", "Field Sales Queue"}
    assert {u.team for u in first.users} >= {"inside_sales", "field_sales"}
    owners = {x.owner_key for x in first.leads}
    assert owners <= {u.key for u in first.users} | {q.key for q in first.queues}


def test_load_100k_and_answer_modstamp_window() -> None:
    org, user = make_org()
    data = seed.generate(seed=3, leads=100_000)
    loaded = seed.load_into_org(org, data)
    assert len(loaded.lead_ids) == 100_000
    assert len(org.records("Lead")) == 100_000
    queue = org.get("Group", loaded.queue_ids["inside_sales_queue"])
    assert queue is not None
    assert queue["Type"] == "Queue"
    index = org.modstamp_index("Lead")
    assert len(index) == 100_000
    # A later write moves the record to the end of the index.
    org.clock.now = dt.datetime(2025, 2, 1, tzinfo=dt.UTC)  # type: ignore[attr-defined]
    touched = loaded.lead_ids[123]
    org.update("Lead", touched, {"Title": "部長"}, user_id=user)
    new_id = org.create("Lead", lead(), user_id=user)
    cursor = (dt.datetime(2024, 6, 1, tzinfo=dt.UTC), "")
    page = index.window(after=cursor, limit=500)
    expected = sorted(
        (r["SystemModstamp"], r["Id"])
        for r in org.records("Lead").values()
        if r["SystemModstamp"] > cursor[0]
    )[:500]
    assert page == expected
    tail = index.window(after=index[-3], limit=10)
    assert [key[1] for key in tail] == [touched, new_id][-len(tail) :]
    assert index[-1][1] == new_id
    assert index[-2][1] == touched
