"""Workflows wired from the configuration: `build_runner` (the CLI, the scheduler) and the
scheduler's step after each sync of a contact pair (scoring, then the due workflow steps)."""

from __future__ import annotations

import logging
from collections.abc import Callable
from typing import Any

from leadbridge.config import LoadedConfig
from leadbridge.config_setup import WorkflowSettings
from leadbridge.connectors.hubspot.connector import HubSpotConnector
from leadbridge.connectors.salesforce.connector import SalesforceConnector
from leadbridge.errors import LeadbridgeError
from leadbridge.nurture.flow import WorkflowRunner
from leadbridge.nurture.rules import rules_from_config
from leadbridge.nurture.rules import rules_path as scoring_path
from leadbridge.nurture.runner import ScoringOptions, ScoringRunner
from leadbridge.nurture.workflow_rules import WorkflowRules, load_workflows, rules_path
from leadbridge.store.db import Store
from leadbridge.sync.mapping import PairMapping

log = logging.getLogger(__name__)


def configured_settings(loaded: LoadedConfig) -> WorkflowSettings:
    """[workflows] with its paths resolved against the config file (as the CA of [salesforce])."""
    settings = loaded.settings.workflows
    smtp = settings.smtp
    if smtp is None or smtp.ca_file is None:
        return settings
    resolved = smtp.model_copy(update={"ca_file": loaded.resolve(smtp.ca_file)})
    return settings.model_copy(update={"smtp": resolved})


def build_runner(
    loaded: LoadedConfig,
    *,
    store: Store,
    hubspot: HubSpotConnector,
    salesforce: SalesforceConnector,
    mapping: PairMapping,
    rules: WorkflowRules | None = None,
) -> WorkflowRunner:
    """A runner configured from the settings ([workflows], [sla], [scoring])."""
    s = loaded.settings
    return WorkflowRunner(
        rules=rules or load_workflows(rules_path(loaded)),
        mapping=mapping,
        store=store,
        hubspot=hubspot,
        salesforce=salesforce,
        settings=configured_settings(loaded),
        sla_hours=s.sla.first_contact_hours,
        threshold=s.scoring.threshold,
        source=loaded.source,
    )


def after_sync_hook(jobs: Any) -> Callable[[str], None]:
    """The scheduler's step after each sync of a contact pair: scoring, then due workflows.

    Each part runs only when its rules file exists, so a config without them just syncs.
    """

    def hook(pair: str) -> None:
        mapping = jobs.mappings.get(pair)
        hubspot = jobs.hubspot
        if mapping is None or mapping.hubspot_object != "contacts":
            return
        if not isinstance(hubspot, HubSpotConnector):
            return
        if not isinstance(jobs.salesforce, SalesforceConnector):
            return
        loaded: LoadedConfig = jobs.loaded
        try:
            if scoring_path(loaded).exists():
                scoring = ScoringRunner(
                    mapping=mapping,
                    rules=rules_from_config(loaded),
                    store=jobs.store,
                    hubspot=hubspot,
                    salesforce=jobs.salesforce,
                    fields=loaded.settings.fields,
                    # The scheduler logs counts only: no per-lead scores held for a report.
                    options=ScoringOptions.from_settings(
                        loaded.settings.scoring, keep_scores=False
                    ),
                )
                scored = scoring.run()
                log.info("scoring of %s: %s", pair, scored.outcome)
                if scored.outcome in ("ok", "partial") and scoring.decay_due():
                    decayed = scoring.decay_pass()  # once a day: fading points fade
                    log.info("decay pass of %s: %s", pair, decayed.outcome)
            if rules_path(loaded).exists():
                runner = build_runner(
                    loaded,
                    store=jobs.store,
                    hubspot=hubspot,
                    salesforce=jobs.salesforce,
                    mapping=mapping,
                )
                report = runner.run()
                log.info("workflows of %s: %s (%d done)", pair, report.outcome, report.done)
        except LeadbridgeError as error:
            log.error("nurture step after the sync of %s failed: %s", pair, error)

    return hook
