"""A compact index of behaviour events: per contact, which rule each event feeds, and when.

Scoring 100,000 leads from a million events cannot hold a million `Event` objects (about a
kilobyte each with their properties). A score needs only, per contact and behaviour rule, the
occurrence times of the events the rule matches, so that is all this keeps: two flat arrays a
contact (rule index, time), about ten bytes an event. Times are integer microseconds since the
epoch: ages computed from them equal the datetime arithmetic exactly, so a score does not
depend on which form its events came in.
"""

from __future__ import annotations

import hashlib
import json
from array import array
from collections.abc import Container, Iterable, Iterator, Mapping
from datetime import UTC, datetime, timedelta
from typing import Any

from leadbridge.connectors.hubspot.events import Event
from leadbridge.nurture.rules import BehaviourRule, Rules

EPOCH = datetime(1970, 1, 1, tzinfo=UTC)
_MICROSECOND = timedelta(microseconds=1)

# rule index (position in Rules.behaviour) -> occurrence times in microseconds since the epoch
Hits = dict[int, list[int]]


def micros(moment: datetime) -> int:
    """Microseconds since the epoch, exactly (a naive time is taken as UTC)."""
    aware = moment if moment.tzinfo is not None else moment.replace(tzinfo=UTC)
    return (aware - EPOCH) // _MICROSECOND


def from_micros(value: int) -> datetime:
    """The aware UTC datetime of `micros`."""
    return EPOCH + timedelta(microseconds=value)


def matches_event(rule: BehaviourRule, event: Event) -> bool:
    """True when the event is of the rule's type and passes its filters."""
    if event.event_type != rule.event:
        return False
    if rule.url_contains:
        url = (event.properties.get("url") or event.properties.get("hs_url") or "").casefold()
        if not any(part.casefold() in url for part in rule.url_contains):
            return False
    return all(
        (event.properties.get(name) or "").casefold() == wanted.casefold()
        for name, wanted in rule.properties.items()
    )


def rule_hits(events: Iterable[Event], rules: Rules) -> Hits:
    """The times of the events each behaviour rule matches."""
    found: Hits = {}
    for event in events:
        for index, rule in enumerate(rules.behaviour):
            if matches_event(rule, event):
                found.setdefault(index, []).append(micros(event.occurred_at))
    return found


def hits_digest(rules: Rules) -> str:
    """What saved hits depend on: each behaviour rule's position, event type and filters."""
    shape = [
        [rule.event, sorted(rule.url_contains), sorted(rule.properties.items())]
        for rule in rules.behaviour
    ]
    return hashlib.sha256(json.dumps(shape, ensure_ascii=False).encode("utf-8")).hexdigest()


def encode_hits(hits: Hits) -> dict[str, Any]:
    """JSON form for the state store: {"rule index": [microseconds, ...]}."""
    return {str(index): sorted(times) for index, times in sorted(hits.items())}


def decode_hits(data: Mapping[str, Any]) -> Hits:
    """The inverse of `encode_hits`."""
    return {int(index): [int(t) for t in times] for index, times in data.items()}


def merge_hits(saved: Hits, recent: Hits, *, window_start: int) -> Hits:
    """Saved hits up to a re-read window's start, plus everything the re-read found after it.

    The re-read returns every event after `window_start` as it stands now, so saved hits inside
    the window are replaced rather than added to. At the start itself (an "after" bound may or
    may not include it) each time counts as often as the side that saw it most.
    """
    merged: Hits = {}
    for index in set(saved) | set(recent):
        kept = [t for t in saved.get(index, ()) if t < window_start]
        fresh = [t for t in recent.get(index, ()) if t > window_start]
        at_start = max(
            list(saved.get(index, ())).count(window_start),
            list(recent.get(index, ())).count(window_start),
        )
        times = kept + [window_start] * at_start + fresh
        if times:
            merged[index] = times
    return merged


class _Contact:
    __slots__ = ("rules", "times")

    def __init__(self) -> None:
        self.rules = array("H")
        self.times = array("q")


class EventIndex:
    """Events reduced to (rule, time) pairs per contact; events no rule matches are dropped."""

    def __init__(self, *, rules: Rules, only: Container[str] | None = None) -> None:
        self.rules = rules
        self.only = only
        self.events_read = 0
        # Contacts with any event at all, matched or not: an incremental run rescores these.
        self.seen: set[str] = set()
        self.newest: datetime | None = None  # the newest occurrence read (the events cursor)
        self._contacts: dict[str, _Contact] = {}

    def add(self, events: Iterable[Event]) -> None:
        """Index these events (those of contacts outside `only` are skipped)."""
        for event in events:
            self.events_read += 1
            if self.only is not None and event.contact_id not in self.only:
                continue
            self.seen.add(event.contact_id)
            found = rule_hits((event,), self.rules)
            if not found:
                continue
            entry = self._contacts.get(event.contact_id)
            if entry is None:
                entry = self._contacts[event.contact_id] = _Contact()
            for index, times in found.items():
                entry.rules.append(index)
                entry.times.append(times[0])

    def hits(self, contact_id: str) -> Hits:
        """One contact's hits by rule (empty when it has none)."""
        entry = self._contacts.get(contact_id)
        found: Hits = {}
        if entry is None:
            return found
        for index, moment in zip(entry.rules, entry.times, strict=True):
            found.setdefault(index, []).append(moment)
        return found

    def contacts(self) -> Iterator[str]:
        """Contacts with at least one hit."""
        return iter(self._contacts)

    def __len__(self) -> int:
        return len(self._contacts)
