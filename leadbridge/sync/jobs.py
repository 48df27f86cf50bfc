"""The job functions both runners call: sync every configured pair once.

The CLI (`leadbridge sync`), the embedded scheduler (`leadbridge run`) and the demo all go
through `SyncJobs`, so a pair is always synced the same way whoever triggers it.
"""

from __future__ import annotations

from collections.abc import Callable, Sequence
from dataclasses import dataclass, field
from datetime import timedelta

from leadbridge.config import LoadedConfig, PairSettings
from leadbridge.connectors.base import Connector
from leadbridge.connectors.factory import hubspot_from_config, salesforce_from_config
from leadbridge.errors import ConfigError
from leadbridge.store.db import Store
from leadbridge.sync.mapping import PairMapping, load_mapping
from leadbridge.sync.runner import SyncOptions, SyncReport, run_pair
from leadbridge.sync.state import SyncState

Progress = Callable[[str, int], None]


@dataclass
class SyncJobs:
    """Connectors, store and mappings for the configured pairs, built once and reused."""

    loaded: LoadedConfig
    store: Store
    hubspot: Connector
    salesforce: Connector
    mappings: dict[str, PairMapping] = field(default_factory=dict)

    @classmethod
    def from_config(cls, loaded: LoadedConfig, *, store: Store) -> SyncJobs:
        """Build connectors from the configuration and load every enabled pair's mapping."""
        jobs = cls(
            loaded=loaded,
            store=store,
            hubspot=hubspot_from_config(loaded),
            salesforce=salesforce_from_config(loaded),
        )
        for pair in loaded.settings.sync.pairs:
            jobs.mappings[pair.name] = jobs._mapping(pair)
        return jobs

    def _mapping(self, pair: PairSettings) -> PairMapping:
        mapping = load_mapping(self.loaded.resolve(pair.mapping))
        if mapping.name != pair.name:
            raise ConfigError(
                f"the mapping file is named {mapping.name!r}, the pair {pair.name!r}",
                source=self.loaded.source,
                key="sync.pairs.name",
                hint="use the same name in both, so state and logs agree",
            )
        return mapping

    def pairs(self, *, only: str | None = None) -> list[PairSettings]:
        """The enabled pairs, or the one named (enabled or not)."""
        settings = self.loaded.settings.sync.pairs
        if only is None:
            return [p for p in settings if p.enabled]
        chosen = [p for p in settings if p.name == only]
        if not chosen:
            names = ", ".join(p.name for p in settings) or "(none)"
            raise ConfigError(
                f"no pair named {only!r}",
                source=self.loaded.source,
                key="sync.pairs",
                hint=f"use one of: {names}",
            )
        return chosen

    def run(
        self,
        pair: str,
        *,
        dry_run: bool = False,
        full: bool = False,
        on_progress: Progress | None = None,
    ) -> SyncReport:
        """Sync one pair once."""
        overlap = timedelta(seconds=self.loaded.settings.sync.overlap_seconds)
        return run_pair(
            mapping=self.mappings[pair],
            state=SyncState(store=self.store, pair=pair),
            hubspot=self.hubspot,
            salesforce=self.salesforce,
            options=SyncOptions(dry_run=dry_run, full=full, overlap=overlap),
            on_progress=on_progress,
        )

    def run_all(
        self,
        *,
        only: str | None = None,
        dry_run: bool = False,
        full: bool = False,
        on_progress: Progress | None = None,
    ) -> Sequence[SyncReport]:
        """Sync the selected pairs once each, in configuration order."""
        return [
            self.run(p.name, dry_run=dry_run, full=full, on_progress=on_progress)
            for p in self.pairs(only=only)
        ]
