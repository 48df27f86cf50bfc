"""Trigger detection: which occurrences happened since the last workflows run.

Three sources, each behind its own cursor in the state store: saved scores (threshold
crossings), sync lineage (fields leadbridge carried between the systems, e.g. the SQL flag set
in Salesforce) and HubSpot events. On the very first run only recent inputs count (scores of
the last day, events within the longest delay), so enabling workflows does not replay old
history. The decisions themselves are pure functions in leadbridge.nurture.workflows.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from datetime import datetime, timedelta

from leadbridge.connectors.hubspot.connector import HubSpotConnector
from leadbridge.nurture.workflow_model import WorkflowRules
from leadbridge.nurture.workflow_state import WorkflowState
from leadbridge.nurture.workflows import (
    Occurrence,
    event_occurrences,
    field_changes,
    score_crossings,
)
from leadbridge.sync.mapping import PairMapping


@dataclass
class Detection:
    """Occurrences found, and where each source's cursor moves once they are recorded."""

    occurrences: list[Occurrence] = field(default_factory=list)
    cursors: dict[str, str] = field(default_factory=dict)


class Detector:
    """Finds one pair's trigger occurrences from scores, lineage and events."""

    def __init__(
        self,
        *,
        rules: WorkflowRules,
        mapping: PairMapping,
        state: WorkflowState,
        hubspot: HubSpotConnector,
        threshold: int,
        overlap: timedelta,
        first_run_lookback: timedelta,
    ) -> None:
        self.rules = rules
        self.mapping = mapping
        self.state = state
        self.hubspot = hubspot
        self.threshold = threshold
        self.overlap = overlap
        self.first_run_lookback = first_run_lookback

    def detect(self, *, now: datetime) -> Detection:
        """Occurrences since the cursors; the cursors themselves are not moved here."""
        found = Detection()
        found.occurrences += self._crossings(now, found.cursors)
        found.occurrences += self._changes(now, found.cursors)
        found.occurrences += self._events(now, found.cursors)
        return found

    def save(self, detection: Detection, *, now: datetime) -> None:
        """Move the cursors forward, once the detection's occurrences are recorded."""
        # After, not during, detection: a crash in between finds the occurrences again, and
        # recording ignores a key it already has.
        for name, value in detection.cursors.items():
            self.state.save_cursor(name, value, now=now)

    def _crossings(self, now: datetime, cursors: dict[str, str]) -> list[Occurrence]:
        scored = [w for w in self.rules.enabled() if w.trigger.kind == "score_crossed"]
        if not scored:
            return []
        since = self._since("scores", now, self.first_run_lookback)
        lowest = min(w.trigger.threshold or self.threshold for w in scored)
        seen = self.state.scores_since(since, minimum=lowest)
        newest = max((s.computed_at for s in seen), default=None)
        if newest is not None:
            cursors["scores"] = newest.isoformat()
        return score_crossings(scored, seen, default_threshold=self.threshold)

    def _changes(self, now: datetime, cursors: dict[str, str]) -> list[Occurrence]:
        watched = [w for w in self.rules.enabled() if w.trigger.kind == "field_changed"]
        if not watched:
            return []
        aliases = {w.trigger.field: self._aliases(w.trigger.field) for w in watched}
        names = {n for group in aliases.values() for n in group}
        last = int(self.state.cursor("lineage") or 0)
        changes, newest_id = self.state.changes_since(last, fields=names)
        if newest_id != last:
            cursors["lineage"] = f"{newest_id:020d}"
        return field_changes(watched, changes, aliases=aliases, at=now)

    def _events(self, now: datetime, cursors: dict[str, str]) -> list[Occurrence]:
        timed = [w for w in self.rules.enabled() if w.trigger.kind == "event"]
        if not timed:
            return []
        longest = max(w.trigger.delay for w in timed) + self.first_run_lookback
        since = self._since("events", now, longest)
        events = [e for page in self.hubspot.read_events(since=since) for e in page.events]
        links = self.state.links({e.contact_id for e in events})
        newest = max((e.occurred_at for e in events), default=None)
        if newest is not None:
            cursors["events"] = newest.isoformat()
        return event_occurrences(
            timed, events, links={k: v.salesforce_id for k, v in links.items()}
        )

    def _since(self, name: str, now: datetime, lookback: timedelta) -> datetime:
        saved = self.state.cursor(name)
        if saved is None:
            return now - lookback
        return datetime.fromisoformat(saved) - self.overlap

    def _aliases(self, name: str) -> frozenset[str]:
        # A field_changed trigger may name either side's field; lineage holds the target's.
        for entry in self.mapping.fields:
            if name in (entry.hubspot, entry.salesforce):
                return frozenset({entry.hubspot, entry.salesforce})
        return frozenset({name})
