"""Start both emulators, seeded from the same demo data, and describe how to reach them."""

from __future__ import annotations

import json
import os
from dataclasses import dataclass
from pathlib import Path
from types import TracebackType
from typing import Any

from leadbridge.sandbox import seed as seeding
from leadbridge.sandbox.hubspot.app import HubSpotEmulator
from leadbridge.sandbox.hubspot.control import seed_contacts
from leadbridge.sandbox.hubspot.ratelimit import Tier
from leadbridge.sandbox.salesforce.app import SalesforceEmulator
from leadbridge.sandbox.server import BackgroundServer
from leadbridge.sandbox.tls import SandboxTls, ensure_tls

DEFAULT_FOLDER = Path(".leadbridge/sandbox")


@dataclass
class SandboxOptions:
    """How to start the sandbox."""

    folder: Path = DEFAULT_FOLDER
    host: str = "127.0.0.1"
    salesforce_port: int = 0
    hubspot_port: int = 0
    leads: int = 200
    contacts: int | None = None
    match_share: float = 0.6
    seed: int = 42
    salesforce_daily_api_max: int = 100_000
    hubspot_tier: Tier = "professional"


class RunningSandbox:
    """Both emulators served on local ports; stop() (or the context manager) ends them."""

    def __init__(self, *, options: SandboxOptions) -> None:
        self.options = options
        self.tls: SandboxTls = ensure_tls(options.folder)
        self.salesforce = SalesforceEmulator(
            seed=options.seed, daily_api_max=options.salesforce_daily_api_max
        )
        self.hubspot = HubSpotEmulator(seed=options.seed, tier=options.hubspot_tier)
        data = seeding.generate(seed=options.seed, leads=options.leads)
        self.seeded = seeding.load_into_org(self.salesforce.org, data)
        self.seeded_contacts = seed_contacts(
            self.hubspot.portal,
            contacts=options.contacts if options.contacts is not None else options.leads,
            seed=options.seed,
            match_share=options.match_share,
            leads=options.leads,
        )
        self.salesforce_server = BackgroundServer(
            app=self.salesforce.app,
            host=options.host,
            port=options.salesforce_port,
            tls=self.tls,
        )
        self.hubspot_server = BackgroundServer(
            app=self.hubspot.app, host=options.host, port=options.hubspot_port
        )

    def start(self) -> RunningSandbox:
        """Start serving both emulators."""
        self.salesforce_server.start()
        try:
            self.hubspot_server.start()
        except BaseException:
            self.salesforce_server.stop()
            raise
        return self

    def stop(self) -> None:
        """Stop both servers."""
        self.hubspot_server.stop()
        self.salesforce_server.stop()

    def info(self) -> dict[str, Any]:
        """What a client needs: URLs, credentials, tokens, the CA file (sandbox secrets)."""
        salesforce = self.salesforce.client_info(
            base_url=self.salesforce_server.base_url, ca_file=str(self.tls.ca_file.resolve())
        )
        salesforce["login_url"] = f"https://{salesforce['domain']}.salesforce.com"
        return {
            "salesforce": salesforce,
            "hubspot": self.hubspot.client_info(base_url=self.hubspot_server.base_url),
            "seed": {
                "leads": self.options.leads,
                "seed": self.options.seed,
                "contacts": self.seeded_contacts.get("contacts", 0),
            },
        }

    def write_info(self, path: Path) -> None:
        """Write info() as JSON, readable by the owner only (it holds sandbox credentials)."""
        path.parent.mkdir(parents=True, exist_ok=True)
        fd = os.open(path, os.O_WRONLY | os.O_CREAT | os.O_TRUNC, 0o600)
        with os.fdopen(fd, "w", encoding="utf-8") as handle:
            json.dump(self.info(), handle, indent=2)

    def __enter__(self) -> RunningSandbox:
        return self.start()

    def __exit__(
        self,
        exc_type: type[BaseException] | None,
        exc: BaseException | None,
        tb: TracebackType | None,
    ) -> None:
        self.stop()
