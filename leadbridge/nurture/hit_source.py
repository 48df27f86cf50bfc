"""Where a scoring run takes each lead's event hits from: a read of events, or the saved hits.

Events never change once recorded, so a lead's hits (its events as matched by the behaviour
rules) are saved with its score. An incremental run then needs only the events since its cursor:
a lead's hits are its saved ones up to the re-read window plus what the window holds now. The
whole history is read only for leads without usable saved hits (never scored, or scored under
other behaviour rules), and on a first run, which reads every event anyway.
"""

from __future__ import annotations

from collections.abc import Set
from dataclasses import dataclass

from leadbridge.nurture.event_index import EventIndex, Hits, decode_hits, merge_hits
from leadbridge.store.models import LeadScore


@dataclass(frozen=True)
class HitSource:
    """Each lead's hits, from the right one of the run's event reads."""

    digest: str  # the behaviour rules' hits digest: saved hits under another are not used
    history: EventIndex | None = None  # whole histories, of `reread` leads (or all of them)
    reread: Set[str] | None = None  # None: every lead's history is in `history`
    recent: EventIndex | None = None  # the events after `window_start` (an incremental run)
    window_start: int = 0  # microseconds; the re-read window's "after" bound

    def hits(self, hubspot_id: str, saved: LeadScore | None) -> Hits:
        """The lead's hits now."""
        if self.history is not None and (self.reread is None or hubspot_id in self.reread):
            return self.history.hits(hubspot_id)
        kept = self.saved_hits(saved)
        if self.recent is None:
            return kept
        return merge_hits(kept, self.recent.hits(hubspot_id), window_start=self.window_start)

    def saved_hits(self, saved: LeadScore | None) -> Hits:
        """The hits saved with a score, when they were matched by the same behaviour rules."""
        if saved is None or saved.hits is None or saved.hits_digest != self.digest:
            return {}
        return decode_hits(saved.hits)
