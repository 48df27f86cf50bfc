"""Identity: which record on the other side a changed record belongs to (pure).

Order of evidence: merges and deletes, lead conversion, an existing link, the external-id
fields, then the normalised e-mail. Several candidates are a duplicate for people to review,
never a guess. The runner does the look-ups through the connectors and passes the results in.
"""

from __future__ import annotations

from collections.abc import Iterable, Sequence
from dataclasses import dataclass, replace
from typing import Literal, Protocol

from leadbridge.connectors.base import CanonicalValue, Record, Side
from leadbridge.sync.mapping import DeletePolicy, PairMapping
from leadbridge.sync.merge import other_side
from leadbridge.sync.snapshot import Snapshot

HUBSPOT_MERGED_IDS = "hs_merged_object_ids"


@dataclass(frozen=True)
class Link:
    """A HubSpot record and the Salesforce record it is kept in step with."""

    hubspot_id: str
    salesforce_id: str
    salesforce_object: str
    snapshot: Snapshot | None = None

    def id(self, side: Side) -> str:
        """The linked record id on one side."""
        return self.hubspot_id if side == "hubspot" else self.salesforce_id


class LinkLookup(Protocol):
    """Existing links by either id (the state store implements this)."""

    def by_id(self, side: Side, record_id: str) -> Link | None:
        """The link holding record_id on `side`, if any."""
        ...


class LinkIndex:
    """An in-memory LinkLookup over a list of links."""

    def __init__(self, links: Iterable[Link] = ()) -> None:
        self._by: dict[tuple[Side, str], Link] = {}
        for link in links:
            self.add(link)

    def add(self, link: Link) -> None:
        """Know a link by both of its ids (a later link for the same id replaces it)."""
        self._by[("hubspot", link.hubspot_id)] = link
        self._by[("salesforce", link.salesforce_id)] = link

    def by_id(self, side: Side, record_id: str) -> Link | None:
        """The link holding record_id on `side`, if any."""
        return self._by.get((side, record_id))


@dataclass(frozen=True)
class Linked:
    """The record already has a link."""

    side: Side
    record_id: str
    link: Link


@dataclass(frozen=True)
class Matched:
    """Exactly one unlinked record on the other side matches: link the two (a first link)."""

    side: Side
    record_id: str
    other: Record
    by: Literal["external_id", "email"]


@dataclass(frozen=True)
class Duplicate:
    """Several records (or one already linked elsewhere) match: flag for review, do not guess."""

    side: Side
    record_id: str
    candidates: tuple[str, ...]
    by: Literal["external_id", "email"]
    reason: str


@dataclass(frozen=True)
class New:
    """Nothing matches: create on the other side when the inclusion rule allows."""

    side: Side
    record_id: str
    create: bool
    reason: str


@dataclass(frozen=True)
class Skip:
    """Nothing to do for this record, and why."""

    side: Side
    record_id: str
    reason: str


@dataclass(frozen=True)
class Relinked:
    """Conversion or merge: the pair now follows another record; `dropped` links go away."""

    side: Side
    record_id: str
    cause: Literal["converted", "merged"]
    link: Link | None
    dropped: tuple[Link, ...]
    reason: str


@dataclass(frozen=True)
class Deleted:
    """The record was deleted (not merged) and was linked; the delete policy says what next."""

    side: Side
    record_id: str
    link: Link
    policy: DeletePolicy


Decision = Linked | Matched | Duplicate | New | Skip | Relinked | Deleted


def normalise_email(value: CanonicalValue) -> str | None:
    """The form e-mails are matched in: trimmed and lower-case (None when blank)."""
    if not isinstance(value, str) or not value.strip():
        return None
    return value.strip().lower()


def identify(
    *,
    mapping: PairMapping,
    side: Side,
    record: Record,
    links: LinkLookup,
    by_external_id: Sequence[Record] = (),
    by_email: Sequence[Record] = (),
) -> Decision:
    """Decide what a changed record is; candidates are other-side records the runner found."""
    if record.merged_into:
        return _merged_away(mapping, side, record, links)
    if record.deleted:
        link = links.by_id(side, record.id)
        if link is None:
            return Skip(side, record.id, "deleted, and it was never linked")
        return Deleted(side, record.id, link, mapping.delete_policy)
    if side == "salesforce" and mapping.converted_object and record.values.get("IsConverted"):
        return _converted(mapping, record, links)
    if side == "hubspot":
        merged = _hubspot_winner(record, links)
        if merged is not None:
            return merged
    link = links.by_id(side, record.id)
    if link is not None:
        return Linked(side, record.id, link)
    found = _match(side, record, links, by_external_id, "external_id")
    if found is None:
        email = normalise_email(record.values.get(mapping.email(side) or ""))
        other_email = mapping.email(other_side(side)) or ""
        same_email = [c for c in by_email if normalise_email(c.values.get(other_email)) == email]
        found = _match(side, record, links, same_email if email else (), "email")
    if found is not None:
        return found
    rule = mapping.inclusion(target=other_side(side))
    if rule.allows(record.values):
        return New(side, record.id, True, f"no match; include.to_{other_side(side)} allows it")
    shown = record.values.get(rule.field or "")
    reason = f"no match, and include.to_{other_side(side)} = {rule.describe()} does not allow it"
    return New(
        side, record.id, False, reason + (f" ({rule.field} = {shown!r})" if rule.field else "")
    )


def _match(
    side: Side,
    record: Record,
    links: LinkLookup,
    candidates: Sequence[Record],
    by: Literal["external_id", "email"],
) -> Matched | Duplicate | None:
    live = list({c.id: c for c in candidates if not c.deleted}.values())
    if not live:
        return None
    other = other_side(side)
    taken = [c.id for c in live if links.by_id(other, c.id) is not None]
    if len(live) == 1 and not taken:
        return Matched(side, record.id, live[0], by)
    ids = tuple(sorted(c.id for c in live))
    if taken:
        why = f"{other} {', '.join(taken)} already linked to another {side} record"
    else:
        why = f"{len(live)} {other} records match by {by.replace('_', ' ')}"
    return Duplicate(side, record.id, ids, by, why)


def _merged_away(mapping: PairMapping, side: Side, record: Record, links: LinkLookup) -> Decision:
    winner = record.merged_into or ""
    loser_link = links.by_id(side, record.id)
    if loser_link is None:
        return Skip(side, record.id, f"merged into {side} {winner}, and it was never linked")
    if links.by_id(side, winner) is not None:
        reason = f"merged into {side} {winner}, which is already linked; this link is dropped"
        return Relinked(side, record.id, "merged", None, (loser_link,), reason)
    moved = _moved(loser_link, side, winner, loser_link.salesforce_object)
    reason = f"merged into {side} {winner}; the link moves to it"
    return Relinked(side, record.id, "merged", moved, (loser_link,), reason)


def _moved(link: Link, side: Side, new_id: str, salesforce_object: str) -> Link:
    if side == "hubspot":
        return replace(link, hubspot_id=new_id)
    return replace(link, salesforce_id=new_id, salesforce_object=salesforce_object)


def _converted(mapping: PairMapping, record: Record, links: LinkLookup) -> Decision:
    contact = record.values.get("ConvertedContactId")
    lead_link = links.by_id("salesforce", record.id)
    if not contact:
        return Skip("salesforce", record.id, "converted without a Contact; nothing to follow")
    contact_id = str(contact)
    if lead_link is None:
        reason = f"converted to Contact {contact_id} before it was linked; the Contact is matched"
        return Skip("salesforce", record.id, reason + " on its own")
    if links.by_id("salesforce", contact_id) is not None:
        reason = f"converted into Contact {contact_id}, which is already linked; link dropped"
        return Relinked("salesforce", record.id, "converted", None, (lead_link,), reason)
    moved = _moved(lead_link, "salesforce", contact_id, mapping.converted_object or "Contact")
    reason = f"converted; the pair now follows Contact {contact_id}"
    return Relinked("salesforce", record.id, "converted", moved, (lead_link,), reason)


def merged_ids(value: CanonicalValue) -> tuple[str, ...]:
    """Ids in HubSpot's hs_merged_object_ids (";"-separated text, a number or a set)."""
    if value is None or isinstance(value, bool):
        return ()
    items = value if isinstance(value, frozenset) else str(value).replace(",", ";").split(";")
    return tuple(sorted({item.strip() for item in items if item.strip()}))


def _hubspot_winner(record: Record, links: LinkLookup) -> Relinked | None:
    losers = [i for i in merged_ids(record.values.get(HUBSPOT_MERGED_IDS)) if i != record.id]
    loser_links = [link for i in losers if (link := links.by_id("hubspot", i)) is not None]
    if not loser_links:
        return None
    own = links.by_id("hubspot", record.id)
    if own is not None:
        reason = "merged contacts into an already linked one; their links are dropped"
        return Relinked("hubspot", record.id, "merged", own, tuple(loser_links), reason)
    first, rest = loser_links[0], tuple(loser_links[1:])
    moved = _moved(first, "hubspot", record.id, first.salesforce_object)
    reason = f"absorbed hubspot {first.hubspot_id} in a merge; its link moves here"
    if rest:
        reason += f" (links of {', '.join(r.hubspot_id for r in rest)} are dropped)"
    return Relinked("hubspot", record.id, "merged", moved, (first, *rest), reason)
