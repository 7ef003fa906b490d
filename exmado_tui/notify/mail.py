"""A notice by e-mail: a plain-text mail through the target's SMTP server, STARTTLS before the
login (the server's certificate checked, against `ca_bundle` when set)."""

from __future__ import annotations

import json
import smtplib
import ssl
from email.message import EmailMessage
from typing import Any

from exmado_tui.errors import DeliveryError
from exmado_tui.notify.targets import EmailTarget

SUBJECT_CHARS = 200  # one line; the body says it whole


def message(target: EmailTarget, message_id: str, body: dict[str, Any]) -> EmailMessage:
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


def send(target: EmailTarget, message_id: str, body: dict[str, Any], timeout_s: float) -> None:
    mail = message(target, message_id, body)
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
