"""Actions that send something that cannot be taken back: e-mail over SMTP, webhook POSTs.

Both sort failures by what they prove: a refusal before anything was accepted (connection
refused, TLS or login refused, the server rejected the message, HTTP 429/5xx) is `retry`, safe
to try again; a connection that broke while the message was on its way is `unknown`, never
resent by itself. The exactly-once protocol around them is in leadbridge.nurture.actions.

SMTP: STARTTLS (on by default) verifies the server against the system's CAs, or against
`[workflows.smtp] ca_file` for a private CA; login (AUTH PLAIN or LOGIN, whichever the server
offers) uses a password resolved from its secret reference at the moment of use, registered
for redaction and never written to the store.
"""

from __future__ import annotations

import smtplib
import ssl
from datetime import datetime
from email.message import EmailMessage

import requests
from pydantic import SecretStr

from leadbridge.config_setup import SmtpSettings, WorkflowSettings
from leadbridge.errors import ConfigError
from leadbridge.nurture.action_common import Lead, Outcome, Step, Texts
from leadbridge.nurture.workflow_model import Action
from leadbridge.nurture.workflows import pick_template, render
from leadbridge.secrets import resolve_secret

_LEAD_KEYS = ("hubspot_id", "salesforce_id", "first_name", "last_name", "email", "company", "score")


class Mailer:
    """Sends notification e-mails through the configured SMTP server."""

    def __init__(self, *, settings: WorkflowSettings, texts: Texts, source: str) -> None:
        self.settings = settings
        self.texts = texts
        self.source = source

    def message(self, action: Action, *, lead: Lead, step: Step, now: datetime) -> EmailMessage:
        """The notification e-mail (deterministic Message-ID per key and step)."""
        smtp = self.server()
        recipients = list(action.to) or list(self.settings.inside_sales_recipients)
        if not recipients:
            raise ConfigError(
                "a notify_email action has no recipients",
                source=self.source,
                key="workflows.inside_sales_recipients",
                hint='set inside_sales_recipients = ["name@company"] or the action\'s to',
            )
        locale = self.texts.locale(lead)
        context = self.texts.context(lead, step=step, now=now)
        msg = EmailMessage()
        msg["Subject"] = render(pick_template(action.subject, locale), context)
        msg["From"] = smtp.sender
        msg["To"] = ", ".join(recipients)
        msg["Message-ID"] = f"<{step.key[:40]}.{step.index}@leadbridge>"
        msg["X-Leadbridge-Workflow"] = step.workflow
        msg.set_content(render(pick_template(action.body, locale), context) or msg["Subject"])
        return msg

    def server(self) -> SmtpSettings:
        """The mail server settings, or a ConfigError saying how to add them."""
        if self.settings.smtp is None:
            raise ConfigError(
                "notify_email needs a mail server",
                source=self.source,
                key="workflows.smtp",
                hint="add [workflows.smtp] with host, port and sender",
            )
        return self.settings.smtp

    def send(self, action: Action, *, lead: Lead, step: Step, now: datetime) -> Outcome:
        """Send one notification; say whether it went, provably did not, or may have."""
        smtp = self.server()
        msg = self.message(action, lead=lead, step=step, now=now)
        # Both are checked before connecting: a setup mistake is not a delivery attempt.
        password = self._password(smtp)
        context = self._tls(smtp) if smtp.starttls else None
        try:
            client = smtplib.SMTP(smtp.host, smtp.port, timeout=smtp.timeout_seconds)
        except OSError as exc:
            return Outcome("retry", f"cannot reach the mail server: {exc}")
        try:
            return self._deliver(client, smtp, password, context, msg)
        finally:
            _close(client)

    def _deliver(
        self,
        client: smtplib.SMTP,
        smtp: SmtpSettings,
        password: SecretStr | None,
        context: ssl.SSLContext | None,
        msg: EmailMessage,
    ) -> Outcome:
        try:
            if context is not None:
                client.starttls(context=context)
            if smtp.username and password is not None:
                client.login(smtp.username, password.get_secret_value())
        except ssl.SSLCertVerificationError as exc:
            return Outcome(
                "retry",
                f"the mail server's certificate is not trusted: {exc.verify_message} "
                "(set [workflows.smtp] ca_file for a private CA)",
            )
        except (smtplib.SMTPException, OSError) as exc:
            # Nothing was handed over yet; the server's reply never echoes the password.
            return Outcome("retry", f"mail server refused the session: {exc}")
        try:
            client.send_message(msg)
        except (
            smtplib.SMTPRecipientsRefused,
            smtplib.SMTPSenderRefused,
            smtplib.SMTPDataError,
        ) as exc:
            # The server said no: nothing was accepted, so a later try cannot double-send.
            return Outcome("retry", f"mail server rejected the message: {exc}")
        except (smtplib.SMTPException, OSError) as exc:
            return Outcome("unknown", f"the connection broke while sending: {exc}")
        return Outcome("done", f"e-mail {msg['Message-ID']} to {msg['To']}")

    def _password(self, smtp: SmtpSettings) -> SecretStr | None:
        ref = smtp.password_ref()
        if not smtp.username or ref is None:
            return None
        return resolve_secret(ref, key="workflows.smtp.password", source=self.source)

    def _tls(self, smtp: SmtpSettings) -> ssl.SSLContext:
        try:
            return ssl.create_default_context(
                cafile=str(smtp.ca_file) if smtp.ca_file is not None else None
            )
        except (OSError, ssl.SSLError) as exc:
            raise ConfigError(
                f"cannot read the CA certificate {smtp.ca_file}: {exc}",
                source=self.source,
                key="workflows.smtp.ca_file",
                hint="point ca_file at a PEM file (relative to the config file), or remove it",
            ) from None


def _close(client: smtplib.SMTP) -> None:
    # QUIT after a sent message may fail (server gone): the message is already accepted.
    try:
        client.quit()
    except (smtplib.SMTPException, OSError):
        client.close()


class WebhookPoster:
    """POSTs a JSON notification with an Idempotency-Key header."""

    def __init__(self, *, texts: Texts, timeout_seconds: float = 10.0) -> None:
        self.texts = texts
        self.timeout_seconds = timeout_seconds

    def post(self, action: Action, *, lead: Lead, step: Step, now: datetime) -> Outcome:
        """Send one webhook; say whether it went, provably did not, or may have."""
        context = self.texts.context(lead, step=step, now=now)
        payload = {
            "text": render(pick_template(action.body, self.texts.locale(lead)), context),
            "workflow": step.workflow,
            "reason": step.reason,
            "idempotency_key": step.key,
            "lead": {k: context[k] for k in _LEAD_KEYS},
        }
        headers = {"Idempotency-Key": f"{step.key}.{step.index}"}
        try:
            answer = requests.post(
                action.url, json=payload, headers=headers, timeout=self.timeout_seconds
            )
        except (requests.ConnectTimeout, requests.exceptions.InvalidURL) as exc:
            return Outcome("retry", f"cannot reach {action.url}: {exc}")
        except requests.ConnectionError as exc:
            if "NewConnectionError" in repr(exc) or "refused" in str(exc).lower():
                return Outcome("retry", f"cannot reach {action.url}: connection refused")
            return Outcome("unknown", f"the connection broke during the POST: {exc}")
        except requests.RequestException as exc:
            return Outcome("unknown", f"no answer to the POST: {exc}")
        if 200 <= answer.status_code < 300:
            return Outcome("done", f"POST {action.url}: {answer.status_code}")
        if answer.status_code == 429 or answer.status_code >= 500:
            return Outcome("retry", f"POST {action.url}: {answer.status_code}")
        return Outcome("failed", f"POST {action.url} refused: {answer.status_code}")
