"""Fixtures for the HubSpot HTTP emulator tests: a served emulator, SDK clients, control calls.

Each test module declares its own module-scoped fixture around `conformance_server()` or
`serve()`, so that no fixture has to be imported by name.
"""

from __future__ import annotations

import json
from collections.abc import Iterator
from dataclasses import dataclass
from typing import Any

import hubspot
import requests

from leadbridge.sandbox.hubspot.app import HubSpotEmulator
from leadbridge.sandbox.server import BackgroundServer


class ManualClock:
    """Monotonic seconds for the rate windows; `step` moves time on by itself at every read."""

    def __init__(self, *, step: float = 0.0) -> None:
        self.now = 1_000.0
        self.step = step

    def __call__(self) -> float:
        value = self.now
        self.now += self.step
        return value

    def advance(self, seconds: float) -> None:
        """Move time forward."""
        self.now += seconds


@dataclass
class Served:
    """An emulator served on a local port, with its clock."""

    emulator: HubSpotEmulator
    server: BackgroundServer
    clock: ManualClock

    @property
    def base_url(self) -> str:
        """The server's URL."""
        return self.server.base_url

    def client(self) -> Any:
        """A hubspot.Client as a third party builds it, with client-side validation on."""
        info = self.emulator.client_info(base_url=self.base_url)
        return hubspot.Client.create(
            access_token=info["access_token"],
            host=info["base_url"],
            client_side_validation=True,
        )

    def raw(self, method: str, path: str, **kwargs: Any) -> requests.Response:
        """A raw authenticated API call."""
        headers = {"Authorization": f"Bearer {self.emulator.access_token}"}
        headers.update(kwargs.pop("headers", {}))
        return _session().request(method, self.base_url + path, headers=headers, **kwargs)

    def control(self, method: str, path: str, body: Any = None) -> Any:
        """A control call under /__sandbox__/hubspot/; returns the JSON answer."""
        url = f"{self.base_url}/__sandbox__/hubspot/{path}"
        response = _session().request(method, url, json=body)
        assert response.status_code == 200, response.text
        return response.json()


def _session() -> requests.Session:
    # The environment may carry proxy and CA settings meant for the real internet.
    session = requests.Session()
    session.trust_env = False
    return session


def serve(*, clock: ManualClock, **options: Any) -> Iterator[Served]:
    """Start an emulator on a free port and stop it afterwards."""
    emulator = HubSpotEmulator(clock=clock, **options)
    server = BackgroundServer(app=emulator.app)
    server.start()
    try:
        yield Served(emulator=emulator, server=server, clock=clock)
    finally:
        server.stop()


def conformance_server() -> Iterator[Served]:
    """A server whose clock runs fast enough that no rate limit is ever reached."""
    # 0.3 s a call: at most 34 calls in any 10 s and 4 searches a second, below every limit.
    yield from serve(clock=ManualClock(step=0.3))


def error_body(exc: Any) -> dict[str, Any]:
    """The JSON body of an SDK ApiException."""
    body: dict[str, Any] = json.loads(exc.body)
    return body
