"""Scoring as pure functions: every rule kind, decay, caps, negatives, exact breakdowns."""

from __future__ import annotations

import math
import tomllib
from datetime import UTC, datetime, timedelta
from fractions import Fraction
from pathlib import Path

from hypothesis import given, settings
from hypothesis import strategies as st

from leadbridge.connectors.hubspot.events import Event
from leadbridge.nurture.event_index import EventIndex, decode_hits, encode_hits, merge_hits
from leadbridge.nurture.rules import Rules, load_rules, parse_rules
from leadbridge.nurture.runner import ScoringReport
from leadbridge.nurture.scoring import as_number, largest_remainder, score, score_hits

ROOT = Path(__file__).resolve().parents[2]
NOW = datetime(2026, 4, 1, 9, 0, tzinfo=UTC)
SHIPPED = load_rules(ROOT / "rules" / "scoring.toml")


def ev(kind: str, *, days_ago: float = 0, **props: str) -> Event:
    return Event("1", kind, NOW - timedelta(days=days_ago), props)


def points(result_rules: Rules, attrs: dict[str, object], events: list[Event]) -> dict[str, int]:
    return {line.rule: line.points for line in score(attrs, events, result_rules, NOW).breakdown}


def test_the_articles_example_is_an_mql() -> None:
    events = [ev("form_submission"), ev("webinar_attended"), ev("page_view", url="/pricing")]
    attrs = {"industry": "COMPUTER_SOFTWARE", "numemployees": "100-500", "jobtitle": "IT Manager"}
    result = score(attrs, events, SHIPPED, NOW)
    # download 10 + webinar 15 + pricing 20 = 45 behaviour points;
    # IT industry 20 + 100-999 employees 15 + manager title 10 = 45 attribute points;
    # 45 + 45 = 90 >= 50 -> MQL.
    assert [(line.rule, line.points) for line in result.breakdown] == [
        ("document download", 10),
        ("webinar", 15),
        ("pricing page", 20),
        ("industry: IT", 20),
        ("company size: 100-999", 15),
        ("title: manager", 10),
    ]
    assert result.total == 90
    assert result.is_mql


def test_behaviour_alone_stays_below_the_threshold() -> None:
    events = [ev("form_submission"), ev("webinar_attended"), ev("page_view", url="/pricing")]
    result = score({}, events, SHIPPED, NOW)
    assert result.total == 10 + 15 + 20 == 45
    assert not result.is_mql


def test_japanese_titles_and_salesforce_numbers() -> None:
    got = points(SHIPPED, {"jobtitle": "代表取締役社長", "NumberOfEmployees": 40}, [])
    assert got == {"title: executive": 15}
    got = points(SHIPPED, {"jobtitle": "営業部課長", "numemployees": 1200}, [])
    assert got == {"company size: 1000+": 20, "title: manager": 10}
    assert points(SHIPPED, {"jobtitle": "情報システム部担当"}, []) == {"title: staff": 5}


def test_a_group_counts_its_best_rule_once() -> None:
    # "Director" (executive) and "Manager" both match: only the 15 counts.
    assert points(SHIPPED, {"jobtitle": "Director, IT Manager"}, []) == {"title: executive": 15}


def test_filters_and_caps() -> None:
    events = [ev("page_view", url="/blog"), ev("page_view", url="/pricing"), ev("page_view",
              url="/pricing?plan=pro")] + [ev("form_submission") for _ in range(5)]  # fmt: skip
    got = points(SHIPPED, {}, events)
    assert got == {"document download": 30, "pricing page": 20}  # caps 30 and 20
    detail = score({}, events, SHIPPED, NOW).breakdown[0].detail
    assert "capped at 30" in detail


def test_property_filters() -> None:
    rules = parse_rules(
        {"behaviour": [{"name": "case study", "event": "form_submission", "points": 7,
                        "properties": {"form": "case-study"}}]}, source="t"
    )  # fmt: skip
    events = [ev("form_submission", form="Case-Study"), ev("form_submission", form="other")]
    assert points(rules, {}, events) == {"case study": 7}


def test_negatives() -> None:
    got = points(SHIPPED, {"email": "taro@gmail.com", "jobtitle": "Student"}, [])
    assert got == {"free-mail address": -10, "student": -30}
    got = points(SHIPPED, {"email": "a@competitor.example", "hs_email_optout": True}, [])
    assert got == {"competitor": -100, "unsubscribed": -20}
    result = score({"jobtitle": "大学院生"}, [ev("form_submission")], SHIPPED, NOW)
    assert result.total == 10 - 30 == -20


def test_decay_halves_points_each_half_life() -> None:
    rules = parse_rules(
        {"behaviour": [{"name": "download", "event": "form_submission", "points": 10,
                        "half_life_days": 30}]}, source="t"
    )  # fmt: skip
    assert points(rules, {}, [ev("form_submission", days_ago=30)]) == {"download": 5}
    assert points(rules, {}, [ev("form_submission", days_ago=60)]) == {"download": 3}  # 2.5 up
    assert points(rules, {}, [ev("form_submission", days_ago=400)]) == {}  # faded to 0
    result = score({}, [ev("form_submission", days_ago=10)], rules, NOW)
    assert result.decaying
    assert result.breakdown[0].decays


def test_rounding_keeps_the_breakdown_exact() -> None:
    rules = parse_rules(
        {"behaviour": [
            {"name": f"r{n}", "event": "page_view", "url_contains": [f"/p{n}"], "points": 10,
             "half_life_days": 7} for n in range(3)
        ]}, source="t"
    )  # fmt: skip
    # Each is 10 * 0.5 ** (3/7) = 7.43: exact sum 22.29 -> 22; the floors give 21 and the missing
    # unit goes to the first of the equal remainders (rule order): 8 + 7 + 7.
    events = [ev("page_view", days_ago=3, url=f"/p{n}") for n in range(3)]
    result = score({}, events, rules, NOW)
    assert result.total == 22
    assert [line.points for line in result.breakdown] == [8, 7, 7]
    assert largest_remainder([Fraction(1, 2), Fraction(1, 2), Fraction(1, 2)]) == [1, 1, 0]
    assert largest_remainder([Fraction(5, 2), Fraction(-1)]) == [3, -1]  # 1.5 rounds up to 2


def test_explain_lines_sum_to_the_total() -> None:
    events = [ev("form_submission"), ev("page_view", url="/pricing")]
    result = score({"email": "x@gmail.com", "industry": "Banking"}, events, SHIPPED, NOW)
    lines = result.explain()
    assert sum(int(line.split()[0]) for line in lines[:-1]) == int(lines[-1].split()[0])
    assert int(lines[-1].split()[0]) == result.total == 10 + 20 + 15 - 10
    assert result.text() == (
        "document download 10; pricing page 20; "
        "industry: finance, telecom, manufacturing 15; free-mail address -10"
    )


def test_band_labels_read_as_numbers() -> None:
    assert as_number("100-500") == 100
    assert as_number("1000+") == 1000
    assert as_number("1,000〜4,999") == 1000
    assert as_number("300名以上") == 300
    assert as_number("many") is None
    assert as_number(True) is None


def test_threshold_comes_from_the_file_or_the_config() -> None:
    assert parse_rules({}, source="t", default_threshold=70).threshold == 70
    assert parse_rules({"threshold": 40}, source="t", default_threshold=70).threshold == 40
    assert SHIPPED.threshold == 50


# -- the compact event index gives the same scores as the events themselves ---------------------

_KINDS = ["form_submission", "webinar_attended", "page_view", "email_open", "unknown_kind"]


@st.composite
def _events(draw: st.DrawFn) -> list[Event]:
    found = []
    for _ in range(draw(st.integers(min_value=0, max_value=25))):
        contact = draw(st.sampled_from(["1", "2", "3"]))
        kind = draw(st.sampled_from(_KINDS))
        age = timedelta(
            microseconds=draw(st.integers(min_value=-(10**9), max_value=400 * 86_400 * 10**6))
        )
        url = draw(st.sampled_from(["", "/pricing", "/PRICING/plans", "/blog"]))
        found.append(Event(contact, kind, NOW - age, {"url": url} if url else {}))
    return found


def _with_half_life() -> Rules:
    """The shipped rules with downloads fading (half-life 7 days)."""
    text = (ROOT / "rules" / "scoring.toml").read_text(encoding="utf-8")
    text = text.replace("# half_life_days = 90", "half_life_days = 7")
    return parse_rules(tomllib.loads(text), source="test")


@settings(max_examples=60, deadline=None)
@given(events=_events(), split=st.integers(min_value=1, max_value=7), data=st.data())
def test_index_hits_score_exactly_like_events(
    events: list[Event], split: int, data: st.DataObject
) -> None:
    rules = _with_half_life()
    index = EventIndex(rules=rules, only={"1", "2"})
    shuffled = data.draw(st.permutations(events))
    for start in range(0, len(shuffled), split):
        index.add(shuffled[start : start + split])
    assert index.events_read == len(events)
    assert "3" not in set(index.contacts())
    attrs = {"jobtitle": "IT Manager"}
    for contact in ("1", "2"):
        mine = [e for e in events if e.contact_id == contact]
        assert score_hits(attrs, index.hits(contact), rules, NOW) == score(attrs, mine, rules, NOW)


def test_decay_from_the_index_matches_datetime_arithmetic() -> None:
    rules = _with_half_life()
    when = NOW - timedelta(days=3, seconds=7, microseconds=123_457)
    index = EventIndex(rules=rules)
    index.add([Event("9", "form_submission", when, {})])
    line = score_hits({}, index.hits("9"), rules, NOW).breakdown[0]
    exact = 10 * 0.5 ** ((NOW - when).total_seconds() / 86_400 / 7)
    assert line.rule == "document download"
    assert line.points == math.floor(exact + 0.5)
    assert index.hits("nobody") == {}


def test_merged_hits_replace_the_window_and_count_its_start_once() -> None:
    start = 1_000_000
    saved = {0: [10, start, start + 5], 1: [20]}
    # An exclusive "after" bound: the re-read misses the event at the start itself.
    assert merge_hits(saved, {0: [start + 5, start + 9]}, window_start=start) == {
        0: [10, start, start + 5, start + 9],
        1: [20],
    }
    # An inclusive one sees it again: still once. Two events at that very time stay two.
    assert merge_hits(saved, {0: [start, start + 5]}, window_start=start)[0] == [
        10,
        start,
        start + 5,
    ]
    assert merge_hits({0: [start]}, {0: [start, start]}, window_start=start) == {0: [start, start]}
    # An event gone from the window (deleted at the source) is gone from the hits.
    assert merge_hits({2: [start + 1]}, {}, window_start=start) == {}
    assert decode_hits(encode_hits(saved)) == {0: [10, start, start + 5], 1: [20]}


def test_a_decay_pass_report_adds_up_and_its_failure_stands() -> None:
    first = ScoringReport(
        outcome="ok", scored=3, api_calls=4, written={"hubspot": 2, "salesforce": 1}
    )
    decay = ScoringReport(
        outcome="stopped", scored=2, api_calls=5, failed=1, message="budget spent"
    )
    first.absorb(decay)
    assert (first.outcome, first.scored, first.api_calls, first.failed) == ("stopped", 5, 9, 1)
    assert first.written == {"hubspot": 2, "salesforce": 1}
    assert first.message == "budget spent"
