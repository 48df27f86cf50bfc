"""The lead an execution acts on: its link snapshot, current values from both systems, score.

Values are read when a step is due, not when the trigger was found, so texts and segment
conditions see the lead as it is now (after the sync that carried the trigger, for example).
"""

from __future__ import annotations

from leadbridge.connectors.hubspot.connector import HubSpotConnector
from leadbridge.connectors.hubspot.events import Event
from leadbridge.connectors.salesforce.connector import SalesforceConnector
from leadbridge.nurture.action_common import Lead
from leadbridge.nurture.state import ScoringState
from leadbridge.nurture.workflow_model import Workflow, WorkflowRules
from leadbridge.nurture.workflow_state import WorkflowState
from leadbridge.sync.mapping import PairMapping
from leadbridge.sync.snapshot import Snapshot

_LEAD_FIELDS = ("firstname", "lastname", "email", "company")
_SF_FIELDS = ("FirstName", "LastName", "Email", "Company", "OwnerId")


class LeadReader:
    """Reads leads for one pair's workflow steps."""

    def __init__(
        self,
        *,
        rules: WorkflowRules,
        mapping: PairMapping,
        state: WorkflowState,
        scores: ScoringState,
        hubspot: HubSpotConnector,
        salesforce: SalesforceConnector,
        threshold: int,
        locale_field: str | None,
    ) -> None:
        self.mapping = mapping
        self.state = state
        self.scores = scores
        self.hubspot = hubspot
        self.salesforce = salesforce
        self.threshold = threshold
        self.locale_field = locale_field
        # The fields any segment condition tests: read with the lead, whichever side has them.
        self.wanted = sorted(
            {s.attribute.field for w in rules.enabled() for s in w.segments if s.attribute}
        )

    def lead(self, *, hubspot_id: str, salesforce_id: str) -> Lead:
        """The lead's values: snapshot first, then what each system holds now."""
        link = self.state.links([hubspot_id]).get(hubspot_id) if hubspot_id else None
        lead = Lead(
            hubspot_id=hubspot_id,
            salesforce_id=salesforce_id or (link.salesforce_id if link else ""),
            salesforce_type=link.salesforce_type if link else "Lead",
            threshold=self.threshold,
            linked=link is not None,
        )
        if link is not None and link.snapshot:
            snap = Snapshot.from_data(link.snapshot)
            lead.values.update(snap.salesforce)
            lead.values.update(snap.hubspot)
        if lead.salesforce_id:
            schema = self.salesforce.describe(lead.salesforce_type)
            names = [n for n in (*_SF_FIELDS, *self.wanted) if schema.field(n) is not None]
            for record in self.salesforce.read_by_keys(
                lead.salesforce_type, key_field="Id", keys=[lead.salesforce_id], fields=names
            ):
                lead.values.update(record.values)
        if hubspot_id:
            schema = self.hubspot.describe(self.mapping.hubspot_object)
            locale = [self.locale_field] if self.locale_field else []
            names = [
                n for n in (*_LEAD_FIELDS, *self.wanted, *locale) if schema.field(n) is not None
            ]
            for record in self.hubspot.read_by_keys(
                self.mapping.hubspot_object,
                key_field="hs_object_id",
                keys=[hubspot_id],
                fields=names,
            ):
                lead.values.update({k: v for k, v in record.values.items() if v not in (None, "")})
            saved = self.scores.scores([hubspot_id]).get(hubspot_id)
            lead.score = saved.total if saved is not None else None
        return lead

    def events(self, workflow: Workflow, lead: Lead) -> list[Event]:
        """The lead's HubSpot events, when one of the workflow's segments counts events."""
        if not lead.hubspot_id or not any(s.attribute is None for s in workflow.segments):
            return []
        return [e for p in self.hubspot.read_events(contact_id=lead.hubspot_id) for e in p.events]
