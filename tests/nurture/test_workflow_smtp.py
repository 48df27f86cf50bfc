"""Notification e-mail through a real SMTP server that requires STARTTLS and a login.

The server (aiosmtpd) presents a certificate from a private CA (trustme) and offers only one
AUTH mechanism per test; the password reaches leadbridge only as a secret reference to an
environment variable and must not show up in logs, captured output or the state store.
"""

from __future__ import annotations

import base64
import logging
from collections.abc import Iterator
from datetime import UTC, datetime, timedelta
from pathlib import Path

import pytest

from leadbridge.nurture.workflow_state import WorkflowState
from leadbridge.store.db import Store
from tests.nurture import workflow_world as ww
from tests.nurture.test_runner_sandbox import World

NOTIFY = {
    "name": "form notification",
    "trigger": {"kind": "event", "event": "form_submission"},
    "action": [{"kind": "notify_email", "subject_en": "Form from {company}", "body_en": "{email}"}],
}


@pytest.fixture
def world(store: Store, tmp_path: Path) -> Iterator[World]:
    yield from ww.sandbox_world(store, tmp_path)


@pytest.fixture
def password(monkeypatch: pytest.MonkeyPatch) -> str:
    monkeypatch.setenv(ww.SMTP_PASSWORD_ENV, ww.SMTP_PASSWORD)
    return ww.SMTP_PASSWORD


def a_form_submission(world: World) -> str:
    assert world.sync().outcome == "ok"
    hubspot_id, _ = world.linked()[0]
    world.event(hubspot_id, "form_submission")
    return hubspot_id


@pytest.mark.parametrize("mechanism", ["LOGIN", "PLAIN"])
def test_starttls_and_login_deliver_without_leaking_the_password(
    world: World,
    tmp_path: Path,
    password: str,
    mechanism: str,
    caplog: pytest.LogCaptureFixture,
    capfd: pytest.CaptureFixture[str],
) -> None:
    caplog.set_level(logging.DEBUG)
    hubspot_id = a_form_submission(world)
    with ww.SecureMailbox(folder=tmp_path / "mail-tls", mechanisms=(mechanism,)) as box:
        report = ww.runner(world, ww.rules(NOTIFY), ww.secure_settings(box)).run()
        assert (report.outcome, report.done) == ("ok", 1), report.executions
        assert len(box.messages) == 1
        assert box.messages[0]["To"] == ww.RECIPIENT
        assert box.messages[0]["Subject"].startswith("Form from ")
        assert box.sessions == [{"tls": True, "authenticated": True}]
        assert box.logins == [(mechanism, ww.SMTP_USER)]
        assert box.refused_logins == 0
    history = WorkflowState(store=world.store, pair=world.mapping.name).history(lead=hubspot_id)
    assert history[0].status == "done"
    forms = {password, base64.b64encode(password.encode()).decode()}
    out, err = capfd.readouterr()
    # Every log line but the test server's own (aiosmtpd's "mail.log"): ours, smtplib's, urllib3's.
    logged = [r.getMessage() for r in caplog.records if not r.name.startswith("mail.log")]
    seen = "\n".join([*logged, out, err, ww.store_text(world.store)])
    assert not [form for form in forms if form in seen]


def test_an_untrusted_certificate_sends_nothing_until_the_ca_is_configured(
    world: World, tmp_path: Path, password: str
) -> None:
    a_form_submission(world)
    with ww.SecureMailbox(folder=tmp_path / "mail-tls") as box:
        now = datetime.now(UTC)
        # Only the system's CAs: the private CA's certificate is refused before any login.
        system_only = ww.runner(world, ww.rules(NOTIFY), ww.secure_settings(box, ca=False))
        first = system_only.run(now=now)
        assert first.retrying == 1, first.executions
        step = first.executions[0]["steps"][0]
        assert step["status"] == "retry"
        assert "certificate is not trusted" in step["detail"]
        assert "ca_file" in step["detail"]
        assert (box.messages, box.logins) == ([], [])
        # With ca_file the retry goes through, once.
        trusting = ww.runner(world, ww.rules(NOTIFY), ww.secure_settings(box))
        assert trusting.run(now=now + timedelta(minutes=11)).done == 1
        assert trusting.run(now=now + timedelta(hours=1)).done == 0
        assert len(box.messages) == 1


def test_a_wrong_password_is_retried_and_sends_nothing(
    world: World, tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.setenv(ww.SMTP_PASSWORD_ENV, "not-the-password-0000")
    a_form_submission(world)
    with ww.SecureMailbox(folder=tmp_path / "mail-tls") as box:
        now = datetime.now(UTC)
        runner = ww.runner(world, ww.rules(NOTIFY), ww.secure_settings(box))
        report = runner.run(now=now)
        assert report.retrying == 1, report.executions
        assert "refused the session" in report.executions[0]["steps"][0]["detail"]
        assert box.refused_logins == 1
        assert box.messages == []
        assert "not-the-password-0000" not in ww.store_text(world.store)
        # The secret is read at the moment of use: fixing the variable is enough.
        monkeypatch.setenv(ww.SMTP_PASSWORD_ENV, ww.SMTP_PASSWORD)
        assert runner.run(now=now + timedelta(minutes=11)).done == 1
        assert len(box.messages) == 1
