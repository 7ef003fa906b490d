"""A notice to a webhook: its JSON body POSTed with the three Standard Webhooks headers.

`webhook-signature` is `v1,` and the base64 HMAC-SHA256, under the secret's key, of
`{webhook-id}.{webhook-timestamp}.{body}` (standardwebhooks.com). The few lines of hmac here
rather than the `standardwebhooks` package: it adds nothing to them, and the tests check these
signatures with that package, so the signer and the checker are not the same code.
"""

from __future__ import annotations

import base64
import hashlib
import hmac
import time

import httpx

from exmado_tui.errors import DeliveryError
from exmado_tui.notify.targets import WebhookTarget


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


def post(target: WebhookTarget, message_id: str, body: bytes, timeout_s: float) -> None:
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
