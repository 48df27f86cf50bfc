"""A running Salesforce emulator over HTTPS and clients built the way a third party would."""

from __future__ import annotations

import gc
from collections.abc import Callable, Iterator
from contextlib import contextmanager
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import requests
from cryptography.hazmat.primitives import serialization
from cryptography.hazmat.primitives.asymmetric import rsa
from simple_salesforce import Salesforce

from leadbridge.sandbox.salesforce.app import SalesforceEmulator
from leadbridge.sandbox.server import BackgroundServer
from leadbridge.sandbox.tls import ensure_tls

API_VERSION = "60.0"


def rsa_key_pair() -> tuple[str, bytes]:
    """A fresh RSA private key (PEM text, what simple-salesforce's `privatekey=` takes) and
    its public key (PEM bytes, what the emulator verifies against)."""
    key = rsa.generate_private_key(public_exponent=65537, key_size=2048)
    private = key.private_bytes(
        serialization.Encoding.PEM,
        serialization.PrivateFormat.PKCS8,
        serialization.NoEncryption(),
    ).decode()
    public = key.public_key().public_bytes(
        serialization.Encoding.PEM, serialization.PublicFormat.SubjectPublicKeyInfo
    )
    return private, public


@dataclass
class SfHttp:
    """The emulator, its server and helpers to talk to it."""

    emulator: SalesforceEmulator
    server: BackgroundServer
    ca_file: str
    private_key: str
    sessions: list[requests.Session] = field(default_factory=list)

    @property
    def base_url(self) -> str:
        """https://127.0.0.1:PORT."""
        return self.server.base_url

    @property
    def domain(self) -> str:
        """The `domain=` that makes simple-salesforce log in against the emulator."""
        return f"127.0.0.1:{self.server.port}/emu"

    def session(self) -> requests.Session:
        """A requests session trusting only the sandbox CA (REQUESTS_CA_BUNDLE is ignored)."""
        s = requests.Session()
        s.verify = self.ca_file
        s.trust_env = False
        # Open keep-alive connections would hold up the server's shutdown.
        self.sessions.append(s)
        return s

    def sf(self, token: str | None = None) -> Salesforce:
        """A client on a bare session id (no re-login on 401)."""
        return Salesforce(
            instance_url=self.base_url,
            session_id=token or self.emulator.issue_access_token(),
            session=self.session(),
            version=API_VERSION,
        )

    def sf_client_credentials(self) -> Salesforce:
        """A client logged in with the client-credentials flow (re-logs in on 401)."""
        creds = self.emulator.credentials
        return Salesforce(
            consumer_key=creds.client_id,
            consumer_secret=creds.client_secret,
            domain=self.domain,
            session=self.session(),
            version=API_VERSION,
        )

    def sf_jwt(self, username: str | None = None) -> Salesforce:
        """A client logged in with the JWT bearer flow."""
        creds = self.emulator.credentials
        return Salesforce(
            username=username or creds.username,
            consumer_key=creds.client_id,
            privatekey=self.private_key,
            domain=self.domain,
            session=self.session(),
            version=API_VERSION,
        )

    def url(self, path: str) -> str:
        """An absolute URL on the emulator."""
        return self.base_url + path

    def control(self, method: str, name: str, body: Any = None) -> Any:
        """Call a /__sandbox__/salesforce/ endpoint and return its JSON."""
        response = self.session().request(
            method, self.url(f"/__sandbox__/salesforce/{name}"), json=body
        )
        assert response.status_code == 200, response.text
        return response.json()

    def token_request(self, data: dict[str, str], **kwargs: Any) -> requests.Response:
        """POST a form to the token endpoint."""
        return self.session().post(self.url("/services/oauth2/token"), data=data, **kwargs)


@contextmanager
def running(folder: Path, **kwargs: Any) -> Iterator[SfHttp]:
    """Start an emulator (kwargs go to SalesforceEmulator) on a free port over HTTPS."""
    private, public = rsa_key_pair()
    kwargs.setdefault("jwt_public_key_pem", public)
    kwargs.setdefault("api_version", API_VERSION)
    emulator = SalesforceEmulator(**kwargs)
    tls = ensure_tls(folder / "tls")
    server = BackgroundServer(app=emulator.app, tls=tls).start()
    handle = SfHttp(emulator, server, str(tls.ca_file), private)
    try:
        yield handle
    finally:
        # Tracebacks of caught client errors sit in reference cycles that keep connections open.
        gc.collect()
        for session in handle.sessions:
            session.close()
        server.stop()


def lead(**extra: Any) -> dict[str, Any]:
    """Minimal valid Lead values plus overrides."""
    return {"LastName": "Sato", "Company": "Acme KK", **extra}


def caught(call: Callable[[], object]) -> Exception:
    """The exception a call raises, without its traceback.

    A live traceback keeps a client connection referenced, and uvicorn then waits for it for
    the whole shutdown timeout; inside a function-scoped server use this, not pytest.raises.
    """
    try:
        call()
    except Exception as exc:
        return exc.with_traceback(None)
    raise AssertionError("no exception raised")
