"""Sending one notice to one target: to a webhook, its JSON body POSTed with the three Standard
Webhooks headers (`post_webhook`); by e-mail, a plain-text mail through the target's SMTP
server, STARTTLS before the login, the server's certificate checked, against `ca_bundle` when
set (`send_mail`). Either raises `DeliveryError` when the target did not take it.

`webhook-signature` is `v1,` and the base64 HMAC-SHA256, under the secret's key, of
`{webhook-id}.{webhook-timestamp}.{body}` (standardwebhooks.com). The few lines of hmac here
rather than the `standardwebhooks` package: it adds nothing to them, and the tests check these
signatures with that package, so the signer and the checker are not the same code.
"""

from __future__ import annotations

import base64
import hashlib
import hmac
import json
import smtplib
import ssl
import time
from email.message import EmailMessage
from typing import Any

import httpx

from exmado_tui.errors import DeliveryError
from exmado_tui.notify.targets import EmailTarget, WebhookTarget


def sign(key: bytes, message_id: str, timestamp: int, body: bytes) -> str:
    signed = f"{message_id}.{timestamp}.".encode() + body
    return "v1," + base64.b64encode(hmac.new(key, signed, hashlib.sha256).digest()).decode()


def headers(target: WebhookTarget, message_id: str, body: bytes) -> dict[str, str]:
    """Signed now: a receiver refuses a timestamp far from its clock, so a retry signs again."""
    timestamp = int(time.time())
    return {
        "content-type": "application/json",
        "user-agent": "exmado",
        "webhook-id": message_id,
        "webhook-timestamp": str(timestamp),
        "webhook-signature": sign(target.key, message_id, timestamp, body),
    }


def post_webhook(target: WebhookTarget, message_id: str, body: bytes, timeout_s: float) -> None:
    """POST the body; any answer but 2xx (or no answer) is a DeliveryError."""
    try:
        with httpx.Client(timeout=timeout_s, follow_redirects=False) as client:
            signed = headers(target, message_id, body)
            answer = client.post(target.url, content=body, headers=signed)
    except httpx.HTTPError as exc:
        where = _origin(target.url)
        raise DeliveryError(f"{where} did not answer ({type(exc).__name__}: {exc})") from None
    if not answer.is_success:
        raise DeliveryError(f"{_origin(target.url)} answered {answer.status_code}")


def _origin(url: str) -> str:
    """The URL without its path or query, which may carry a token (Slack's hooks do)."""
    parts = httpx.URL(url)
    return f"{parts.scheme}://{parts.netloc.decode()}"


SUBJECT_CHARS = 200  # one line; the body says it whole


def mail_message(target: EmailTarget, message_id: str, body: dict[str, Any]) -> EmailMessage:
    """The summary as subject, then every fact of the body as `key: value` lines; the
    Message-ID is the notice's, so a mail system can tell a repeat."""
    data = body["data"]
    mail = EmailMessage()
    mail["Subject"] = "Éxmado: " + " ".join(data["summary"].split())[:SUBJECT_CHARS]
    mail["From"] = target.sender
    mail["To"] = ", ".join(target.to)
    mail["Message-ID"] = f"<{message_id}@exmado>"
    lines = [data["summary"], ""]
    for key, value in data.items():
        if key != "summary" and value not in ("", None, [], {}):
            shown = value if isinstance(value, str) else json.dumps(value, ensure_ascii=False)
            lines.append(f"{key}: {shown}")
    mail.set_content("\n".join(lines) + "\n")
    return mail


def send_mail(target: EmailTarget, message_id: str, body: dict[str, Any], timeout_s: float) -> None:
    mail = mail_message(target, message_id, body)
    where = f"SMTP server {target.host}:{target.port}"
    try:
        with smtplib.SMTP(target.host, target.port, timeout=timeout_s) as smtp:
            if target.starttls:
                context = ssl.create_default_context(cafile=target.ca_bundle or None)
                smtp.starttls(context=context)
            if target.username:
                smtp.login(target.username, target.password.reveal())
            smtp.send_message(mail)
    except smtplib.SMTPAuthenticationError as exc:
        refused = f"{where} refused the login of {target.username!r} ({exc.smtp_code})"
        raise DeliveryError(refused) from None
    except (smtplib.SMTPException, OSError, ssl.SSLError) as exc:
        raise DeliveryError(f"{where}: {type(exc).__name__}: {exc}") from None
