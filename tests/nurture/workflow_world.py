"""A sandbox world for workflow tests: both emulators, real SMTP servers (plain, and one that
requires STARTTLS and a login), a webhook receiver, and what the store holds as text."""

from __future__ import annotations

import json
import socket
import ssl
import threading
from collections.abc import Callable, Iterator
from email import message_from_bytes
from email.message import Message
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from pathlib import Path
from types import TracebackType
from typing import Any

from aiosmtpd.controller import Controller
from aiosmtpd.smtp import AuthResult, LoginPassword
from sqlalchemy import select
from sqlmodel import SQLModel

from leadbridge.config_setup import SmtpSettings, WorkflowSettings
from leadbridge.nurture.flow import FlowOptions, WorkflowRunner
from leadbridge.nurture.rules import load_rules
from leadbridge.nurture.workflow_rules import WorkflowRules, parse_workflows
from leadbridge.sandbox.mail import MailSink
from leadbridge.sandbox.runtime import RunningSandbox, SandboxOptions
from leadbridge.sandbox.tls import ensure_tls
from leadbridge.store.db import Store
from tests.nurture.test_runner_sandbox import ROOT, World

RECIPIENT = "inside-sales@leadbridge-demo.example"
SMTP_USER = "leadbridge-mailer"
SMTP_PASSWORD = "Mail-Pa55word-7c41e9"  # the test server's own
SMTP_PASSWORD_ENV = "LEADBRIDGE_TEST_SMTP_PASSWORD"


Mailbox = MailSink


def sandbox_world(store: Store, tmp_path: Path, *, leads: int = 6) -> Iterator[World]:
    """Both emulators (seeded with `leads` leads) around the test's store."""
    rules = load_rules(ROOT / "rules" / "scoring.toml")
    options = SandboxOptions(folder=tmp_path / "sbx", leads=leads)
    with RunningSandbox(options=options) as sandbox:
        yield World(sandbox, store, rules)


def smtp_server() -> Iterator[tuple[MailSink, int]]:
    """A real SMTP server on 127.0.0.1 (no TLS) for the duration of a test."""
    with MailSink() as box:
        yield box, box.port


class SecureMailbox:
    """A real SMTP server (aiosmtpd) that requires STARTTLS, then a login, before any mail.

    Its certificate comes from a private CA made with trustme (as the sandbox makes its own),
    so a client that trusts only the system's CAs fails the handshake.
    """

    def __init__(self, *, folder: Path, mechanisms: tuple[str, ...] = ("LOGIN", "PLAIN")) -> None:
        tls = ensure_tls(folder)
        self.ca_file = tls.ca_file
        context = ssl.create_default_context(ssl.Purpose.CLIENT_AUTH)
        context.load_cert_chain(str(tls.cert_file), str(tls.key_file))
        self.messages: list[Message] = []
        self.sessions: list[dict[str, Any]] = []  # per accepted message: tls, login
        self.logins: list[tuple[str, str]] = []  # (mechanism, username) of accepted logins
        self.refused_logins = 0
        self._lock = threading.Lock()
        with socket.socket() as probe:
            probe.bind(("127.0.0.1", 0))
            self.port = int(probe.getsockname()[1])
        self._controller = Controller(
            self,
            hostname="127.0.0.1",
            port=self.port,
            tls_context=context,
            require_starttls=True,
            auth_required=True,
            auth_require_tls=True,
            authenticator=self._authenticate,
            auth_exclude_mechanism=[m for m in ("LOGIN", "PLAIN") if m not in mechanisms],
        )

    def _authenticate(
        self, server: Any, session: Any, envelope: Any, mechanism: str, auth_data: Any
    ) -> AuthResult:
        ok = (
            isinstance(auth_data, LoginPassword)
            and auth_data.login == SMTP_USER.encode()
            and auth_data.password == SMTP_PASSWORD.encode()
        )
        with self._lock:
            if ok:
                self.logins.append((mechanism, SMTP_USER))
            else:
                self.refused_logins += 1
        return AuthResult(success=ok)

    async def handle_DATA(self, server: Any, session: Any, envelope: Any) -> str:
        """aiosmtpd hook: keep the message and how its session was secured."""
        with self._lock:
            self.messages.append(message_from_bytes(envelope.original_content or b""))
            self.sessions.append(
                {"tls": session.ssl is not None, "authenticated": bool(session.authenticated)}
            )
        return "250 OK"

    def __enter__(self) -> SecureMailbox:
        self._controller.start()
        return self

    def __exit__(
        self,
        exc_type: type[BaseException] | None,
        exc: BaseException | None,
        tb: TracebackType | None,
    ) -> None:
        self._controller.stop()


def secure_settings(box: SecureMailbox, *, ca: bool = True, **extra: Any) -> WorkflowSettings:
    """Workflow settings for the secure server: STARTTLS, its CA, login with an env secret."""
    smtp = SmtpSettings(
        host="127.0.0.1",
        port=box.port,
        sender="leadbridge@example.com",
        starttls=True,
        ca_file=box.ca_file if ca else None,
        username=SMTP_USER,
        password={"env": SMTP_PASSWORD_ENV},
        timeout_seconds=10,
    )
    return WorkflowSettings(inside_sales_recipients=[RECIPIENT], smtp=smtp, **extra)


def store_text(store: Store) -> str:
    """Every row of every table of the state store, as text (to look for leaked secrets)."""
    parts: list[str] = []
    with store.session() as session:
        for table in SQLModel.metadata.sorted_tables:
            parts += [repr(tuple(row)) for row in session.connection().execute(select(table))]
    return "\n".join(parts)


class Hooks:
    """Requests a local webhook receiver got: (headers, JSON body)."""

    def __init__(self, on_post: Callable[[Any], None] | None = None) -> None:
        self.received: list[tuple[dict[str, str], Any]] = []
        self.on_post = on_post  # called with each body before the answer, in the server thread


def webhook_server(hooks: Hooks | None = None) -> Iterator[tuple[Hooks, str]]:
    """A real HTTP receiver on 127.0.0.1 in a thread, answering 200 to every POST."""
    hooks = hooks or Hooks()

    class Handler(BaseHTTPRequestHandler):
        def do_POST(self) -> None:
            length = int(self.headers.get("Content-Length") or 0)
            body = json.loads(self.rfile.read(length) or b"null")
            hooks.received.append((dict(self.headers.items()), body))
            if hooks.on_post is not None:
                hooks.on_post(body)
            self.send_response(200)
            self.end_headers()

        def log_message(self, format: str, *args: Any) -> None:
            return

    server = ThreadingHTTPServer(("127.0.0.1", 0), Handler)
    thread = threading.Thread(target=server.serve_forever, daemon=True)
    thread.start()
    try:
        yield hooks, f"http://127.0.0.1:{server.server_address[1]}/hook"
    finally:
        server.shutdown()
        server.server_close()


def rules(*workflows: dict[str, Any]) -> WorkflowRules:
    """A rules document built in the test."""
    return parse_workflows({"workflow": list(workflows)}, source="test.toml")


def settings(port: int, **extra: Any) -> WorkflowSettings:
    """Workflow settings pointing at the test SMTP server."""
    smtp = SmtpSettings(
        host="127.0.0.1", port=port, sender="leadbridge@example.com", starttls=False
    )
    return WorkflowSettings(inside_sales_recipients=[RECIPIENT], smtp=smtp, **extra)


def runner(world: World, wf_rules: WorkflowRules, wf_settings: WorkflowSettings) -> WorkflowRunner:
    """A workflow runner over the world's store and connectors (15-minute claim TTL)."""
    return WorkflowRunner(
        rules=wf_rules,
        mapping=world.mapping,
        store=world.store,
        hubspot=world.hubspot,
        salesforce=world.salesforce,
        settings=wf_settings,
        options=FlowOptions(),
    )


def members(world: World, name: str) -> set[str]:
    """HubSpot ids in the sandbox list of this name (empty when there is no such list)."""
    portal = world.sandbox.hubspot.portal
    found = [item for item in portal.lists.all_lists() if item["name"] == name]
    if not found:
        return set()
    page = portal.lists.memberships(list_id=found[0]["listId"], limit=100)
    return {str(row["recordId"]) for row in page["results"]}


def set_sql_flag(world: World, lead_id: str) -> None:
    """Inside sales ticks the SQL flag on a Lead in Salesforce (as its integration user)."""
    org = world.sandbox.salesforce.org
    with world.sandbox.salesforce.lock:
        org.update("Lead", lead_id, {"SQL_Flag__c": True}, user_id=org.integration_user_id)


def make_mql(world: World) -> tuple[str, str]:
    """Sync, then give the first linked lead enough to cross 50; return (hubspot, salesforce)."""
    assert world.sync().outcome == "ok"
    hot, lead_id = world.linked()[0]
    world.sandbox.hubspot.portal.update_object(
        object_type="contacts",
        object_id=hot,
        body={"properties": {"jobtitle": "CTO", "industry": "COMPUTER_SOFTWARE"}},
    )
    assert world.sync().outcome == "ok"  # the title and industry reach Salesforce
    world.event(hot, "form_submission")
    world.event(hot, "webinar_attended")
    world.event(hot, "page_view", url="https://example.com/pricing")
    report = world.scoring.run()
    assert report.scores[hot].is_mql, report.scores[hot].explain()
    return hot, lead_id
