"""Rate limits over HTTP with an injected clock: ten-second window, search per second, daily cap."""

from __future__ import annotations

from collections.abc import Iterator
from typing import Any

import pytest
from hubspot.crm.contacts import ApiException, PublicObjectSearchRequest

from leadbridge.sandbox.hubspot.ratelimit import RateLimiter

from .hubspot_http_fixtures import ManualClock, Served, error_body, serve


@pytest.fixture(scope="module")
def hs_limited() -> Iterator[Served]:
    """A server with a frozen clock and a daily cap of 400, for the rate-limit tests."""
    yield from serve(clock=ManualClock(), daily_limit=400, search_per_second=5)


HEADERS = (
    "X-HubSpot-RateLimit-Daily",
    "X-HubSpot-RateLimit-Daily-Remaining",
    "X-HubSpot-RateLimit-Interval-Milliseconds",
    "X-HubSpot-RateLimit-Max",
    "X-HubSpot-RateLimit-Remaining",
    "X-HubSpot-RateLimit-Secondly",
    "X-HubSpot-RateLimit-Secondly-Remaining",
)


@pytest.fixture
def limited(hs_limited: Served) -> Served:
    """The frozen-clock server with fresh counters."""
    hs_limited.control("DELETE", "limits")
    hs_limited.clock.advance(86_400)  # also leaves any half-used day behind
    return hs_limited


def _rate_limited(exc: Any, policy: str) -> dict[str, Any]:
    assert exc.status == 429
    body = error_body(exc)
    assert body["status"] == "error"
    assert body["errorType"] == "RATE_LIMIT"
    assert body["policyName"] == policy
    assert body["correlationId"]
    return body


def test_headers_on_every_response(limited: Served) -> None:
    api = limited.client().crm.contacts.basic_api
    _, status, headers = api.get_page_with_http_info()
    assert status == 200
    assert all(name in headers for name in HEADERS)
    assert headers["X-HubSpot-RateLimit-Max"] == "190"
    assert headers["X-HubSpot-RateLimit-Interval-Milliseconds"] == "10000"
    assert headers["X-HubSpot-RateLimit-Remaining"] == "189"
    assert headers["X-HubSpot-RateLimit-Daily"] == "400"
    assert headers["X-HubSpot-RateLimit-Daily-Remaining"] == "399"
    with pytest.raises(ApiException) as caught:
        api.get_by_id("424242")
    assert caught.value.status == 404
    assert caught.value.headers["X-HubSpot-RateLimit-Remaining"] == "188"


def test_ten_second_rolling_window(limited: Served) -> None:
    api = limited.client().crm.contacts.basic_api
    for _ in range(100):
        api.get_page(limit=1)
    limited.clock.advance(5)
    for _ in range(90):
        api.get_page(limit=1)
    with pytest.raises(ApiException) as caught:
        api.get_page(limit=1)
    body = _rate_limited(caught.value, "TEN_SECONDLY_ROLLING")
    assert body["message"] == "You have reached your ten_secondly_rolling limit."
    assert caught.value.headers["X-HubSpot-RateLimit-Remaining"] == "0"
    assert caught.value.headers["X-HubSpot-RateLimit-Max"] == "190"
    assert "Retry-After" not in caught.value.headers
    limited.clock.advance(5)  # the first 100 calls leave the window, the other 90 stay
    _, _, headers = api.get_page_with_http_info(limit=1)
    assert headers["X-HubSpot-RateLimit-Remaining"] == "99"


def test_search_has_its_own_secondly_limit(limited: Served) -> None:
    search = limited.client().crm.contacts.search_api
    for _ in range(5):
        search.do_search(PublicObjectSearchRequest(limit=1))
    with pytest.raises(ApiException) as caught:
        search.do_search(PublicObjectSearchRequest(limit=1))
    _rate_limited(caught.value, "SECONDLY")
    limited.client().crm.contacts.basic_api.get_page(limit=1)  # other calls still pass
    limited.clock.advance(1)
    assert search.do_search(PublicObjectSearchRequest(limit=1)) is not None


def test_rejected_and_unauthenticated_calls_use_no_budget(limited: Served) -> None:
    assert (
        limited.raw("GET", "/crm/v3/objects/contacts", headers={"Authorization": ""}).status_code
        == 401
    )
    _, _, headers = limited.client().crm.contacts.basic_api.get_page_with_http_info()
    assert headers["X-HubSpot-RateLimit-Daily-Remaining"] == "399"


@pytest.fixture(scope="module")
def tiny_daily() -> Iterator[Served]:
    """A free-tier portal with a daily cap of 30 calls."""
    yield from serve(clock=ManualClock(), tier="free", daily_limit=30)


def test_daily_cap(tiny_daily: Served) -> None:
    api = tiny_daily.client().crm.contacts.basic_api
    _, _, headers = api.get_page_with_http_info()
    assert headers["X-HubSpot-RateLimit-Max"] == "100"  # free tier
    for _ in range(29):
        api.get_page(limit=1)
    with pytest.raises(ApiException) as caught:
        api.get_page(limit=1)
    body = _rate_limited(caught.value, "DAILY")
    assert body["message"] == "You have reached your daily limit."
    assert caught.value.headers["X-HubSpot-RateLimit-Daily-Remaining"] == "0"
    tiny_daily.control("POST", "clock", {"advance_seconds": 86_400})
    assert api.get_page(limit=1) is not None


@pytest.mark.parametrize(
    ("tier", "window", "daily"),
    [
        ("free", 100, 250_000),
        ("starter", 100, 250_000),
        ("professional", 190, 650_000),
        ("enterprise", 190, 1_000_000),
    ],
)
def test_tier_limits(tier: Any, window: int, daily: int) -> None:
    limiter = RateLimiter(tier=tier, clock=ManualClock())
    assert limiter.ten_second_limit == window
    assert limiter.daily_limit == daily
    decisions = [limiter.check(search=False) for _ in range(window + 1)]
    assert [d.allowed for d in decisions].count(True) == window
    assert decisions[-1].policy == "TEN_SECONDLY_ROLLING"
