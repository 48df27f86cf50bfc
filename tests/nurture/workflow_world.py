"""A sandbox world for workflow tests: both emulators, a real SMTP server, a webhook receiver."""

from __future__ import annotations

import json
import threading
from collections.abc import Iterator
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from typing import Any

from leadbridge.config_setup import SmtpSettings, WorkflowSettings
from leadbridge.nurture.flow import FlowOptions, WorkflowRunner
from leadbridge.nurture.workflow_rules import WorkflowRules, parse_workflows
from leadbridge.sandbox.mail import MailSink
from tests.nurture.test_runner_sandbox import World

RECIPIENT = "inside-sales@leadbridge-demo.example"


Mailbox = MailSink


def smtp_server() -> Iterator[tuple[MailSink, int]]:
    """A real SMTP server on 127.0.0.1 (no TLS) for the duration of a test."""
    with MailSink() as box:
        yield box, box.port


class Hooks:
    """Requests a local webhook receiver got: (headers, JSON body)."""

    def __init__(self) -> None:
        self.received: list[tuple[dict[str, str], Any]] = []


def webhook_server() -> Iterator[tuple[Hooks, str]]:
    """A real HTTP receiver on 127.0.0.1 in a thread, answering 200 to every POST."""
    hooks = Hooks()

    class Handler(BaseHTTPRequestHandler):
        def do_POST(self) -> None:
            length = int(self.headers.get("Content-Length") or 0)
            body = json.loads(self.rfile.read(length) or b"null")
            hooks.received.append((dict(self.headers.items()), body))
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
