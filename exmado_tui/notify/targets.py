"""Where notifications go and what they tell: the host file's `[[notify]]` entries (a webhook
or an e-mail address list) and the `[notifications]` clocks of their delivery, read and
checked; what a notice is about (`NoticeKind`, of which a `failures_only` target hears all but
a clean finish) and where its delivery to one target stands (`DeliveryState`).

These are the words of notifications, free of the store: the store's tables keep them, and the
settings read the entries.

A secret (the webhook's signing secret, the SMTP password) comes from the environment variable
an entry names (`secret_env`, `password_env`) or from an owner-only file (`secret_file`,
`password_file`), never from the entry itself, as every other secret of Éxmado.
"""

from __future__ import annotations

import base64
import binascii
from collections.abc import Mapping
from dataclasses import dataclass, field
from enum import StrEnum
from pathlib import Path
from typing import Any
from urllib.parse import urlsplit

from exmado_tui.config.layers import PATH_IS_SECRET, LayerReader, Secret, read_secret_file
from exmado_tui.errors import SettingsError

WEBHOOK_SECRET_PREFIX = "whsec_"


class NoticeKind(StrEnum):
    FINISHED = "job.finished"
    FINISHED_WITH_ERRORS = "job.finished_with_errors"
    FAILED = "job.failed"
    NEEDS_ATTENTION = "job.needs_attention"
    REJECTED = "dropfolder.rejected"
    TEST = "test"

    @property
    def is_failure(self) -> bool:
        """What a `failures_only` target hears: all but a clean finish (a test always goes)."""
        return self is not NoticeKind.FINISHED


class DeliveryState(StrEnum):
    PENDING = "pending"  # not sent yet, or failed and waiting for its next try
    DELIVERED = "delivered"
    GIVEN_UP = "given_up"  # still failing `give_up_after_s` after the notice was written


class TargetKind(StrEnum):
    WEBHOOK = "webhook"
    EMAIL = "email"


@dataclass(frozen=True)
class WebhookTarget:
    """A URL that gets each notice as JSON, signed as Standard Webhooks do."""

    name: str
    # Slack-style URLs carry a token in their path: `config show` prints scheme and host only.
    url: str = field(metadata={PATH_IS_SECRET: True})
    secret: Secret
    failures_only: bool = False
    kind: TargetKind = TargetKind.WEBHOOK

    @property
    def key(self) -> bytes:
        """The signing key: the secret's base64 after `whsec_` (checked when it was read)."""
        return signing_key(self.secret.reveal())


@dataclass(frozen=True)
class EmailTarget:
    """Addresses that get each notice as a mail, through an SMTP server (STARTTLS, login)."""

    name: str
    host: str
    sender: str
    to: tuple[str, ...]
    port: int = 587
    starttls: bool = True
    username: str = ""
    password: Secret = field(default_factory=lambda: Secret(""))
    ca_bundle: str = ""
    failures_only: bool = False
    kind: TargetKind = TargetKind.EMAIL


Target = WebhookTarget | EmailTarget


@dataclass(frozen=True)
class NotifySettings:
    """The targets, and how their delivery is paced: the first retry after `retry_first_s`,
    doubling up to `retry_max_s`, given up `give_up_after_s` after the notice was written."""

    targets: tuple[Target, ...] = ()
    poll_s: float = 2
    timeout_s: float = 10
    retry_first_s: float = 30
    retry_max_s: float = 3600
    give_up_after_s: float = 86400
    stalled_after_min: float = 15
    throttled_after_min: float = 15

    def target(self, name: str) -> Target | None:
        return next((t for t in self.targets if t.name == name), None)


def signing_key(secret: str) -> bytes:
    """A Standard Webhooks secret (`whsec_` and base64) as the HMAC key it stands for."""
    text = secret.removeprefix(WEBHOOK_SECRET_PREFIX)
    try:
        key = base64.b64decode(text, validate=True)
    except binascii.Error:
        key = b""
    if len(key) < 16:
        raise ValueError("not whsec_ followed by the base64 of at least 16 bytes")
    return key


def read_notify(reader: LayerReader, env: Mapping[str, str], source: str) -> NotifySettings:
    """`[notifications]` and the `[[notify]]` entries (which only a host file, `source`, sets)."""
    s = ("notifications",)
    entries = reader.merged.get("notify", [])
    if not isinstance(entries, list) or not all(isinstance(e, dict) for e in entries):
        raise SettingsError(f"notify in {source} must be [[notify]] tables.")
    targets = tuple(_target(Entry(e, i, source), env) for i, e in enumerate(entries))
    names = [t.name for t in targets]
    if twice := sorted({n for n in names if names.count(n) > 1}):
        raise SettingsError(f"[[notify]] in {source} names {twice[0]!r} twice; names must differ.")
    return NotifySettings(
        targets=targets,
        poll_s=reader.number(s, "poll_s", positive=True),
        timeout_s=reader.number(s, "timeout_s", positive=True),
        retry_first_s=reader.number(s, "retry_first_s", positive=True),
        retry_max_s=reader.number(s, "retry_max_s", positive=True),
        give_up_after_s=reader.number(s, "give_up_after_s", positive=True),
        stalled_after_min=reader.number(s, "stalled_after_min"),
        throttled_after_min=reader.number(s, "throttled_after_min"),
    )


# `secret` and `password` are listed so that `Entry.secret` refuses them with its own sentence.
WEBHOOK_KEYS = {"name", "type", "url", "secret", "secret_env", "secret_file", "failures_only"}
EMAIL_KEYS = {"name", "type", "host", "port", "starttls", "username", "password", "password_env"}
EMAIL_KEYS |= {"password_file", "from", "to", "ca_bundle", "failures_only"}


@dataclass(frozen=True)
class Entry:
    """One `[[notify]]` table, with the words that name it in a sentence."""

    values: dict[str, Any]
    index: int
    source: str

    def where(self, key: str) -> str:
        return f"{key} of [[notify]] {self.name!r} in {self.source}"

    @property
    def name(self) -> str:
        return str(self.values.get("name") or f"notify-{self.index + 1}")

    def text(self, key: str, default: str | None = None) -> str:
        value = self.values.get(key, default)
        if value is None or (default is None and value == ""):
            raise SettingsError(f"{self.where(key)} is missing.")
        if not isinstance(value, str):
            raise SettingsError(f"{self.where(key)} must be text, got {value!r}.")
        return value

    def flag(self, key: str, default: bool) -> bool:
        value = self.values.get(key, default)
        if not isinstance(value, bool):
            raise SettingsError(f"{self.where(key)} must be true or false, got {value!r}.")
        return value

    def path(self, key: str) -> Path | None:
        """A file setting, relative to the host file's folder."""
        text = self.text(key, "")
        if not text:
            return None
        path = Path(text).expanduser()
        return path if path.is_absolute() else Path(self.source).parent / path

    def secret(self, env: Mapping[str, str], key: str) -> Secret:
        """From the variable `<key>_env` names, else the owner-only file `<key>_file` names."""
        if key in self.values:
            raise SettingsError(
                f"{self.where(key)} must not hold the {key} itself; name an environment"
                f" variable with {key}_env or an owner-only file with {key}_file."
            )
        variable = self.text(f"{key}_env", "")
        if variable:
            if not env.get(variable):
                raise SettingsError(f"{self.where(key + '_env')} names {variable}, which is unset.")
            return Secret(env[variable], variable)
        path = self.path(f"{key}_file")
        if path is None:
            return Secret("")
        where = self.where(f"{key}_file")
        return Secret(read_secret_file(path, where), where, path)

    def check_keys(self, allowed: set[str]) -> None:
        for key in self.values:
            if key not in allowed:
                known = ", ".join(sorted(allowed - {"secret", "password"}))
                raise SettingsError(
                    f"[[notify]] {self.name!r} in {self.source} has an unknown key {key}; "
                    f"a {self.values.get('type')} takes {known}."
                )


def _target(entry: Entry, env: Mapping[str, str]) -> Target:
    kind = entry.text("type", "")
    if kind == TargetKind.WEBHOOK:
        return _webhook(entry, env)
    if kind == TargetKind.EMAIL:
        return _email(entry, env)
    raise SettingsError(f"{entry.where('type')} must be webhook or email, got {kind!r}.")


def _webhook(entry: Entry, env: Mapping[str, str]) -> WebhookTarget:
    entry.check_keys(WEBHOOK_KEYS)
    url = entry.text("url")
    parts = urlsplit(url)
    if parts.scheme not in ("http", "https") or not parts.hostname:
        raise SettingsError(f"{entry.where('url')} must be an http(s) URL.")
    secret = entry.secret(env, "secret")
    if not secret:
        raise SettingsError(
            f"[[notify]] {entry.name!r} in {entry.source} needs a signing secret: secret_env"
            " (an environment variable) or secret_file (an owner-only file) with a whsec_ one."
        )
    try:
        signing_key(secret.reveal())
    except ValueError as exc:
        raise SettingsError(f"The secret from {secret.origin} is {exc}.") from None
    return WebhookTarget(entry.name, url, secret, entry.flag("failures_only", False))


def _email(entry: Entry, env: Mapping[str, str]) -> EmailTarget:
    entry.check_keys(EMAIL_KEYS)
    to = entry.values.get("to")
    recipients = (to,) if isinstance(to, str) else tuple(to) if isinstance(to, list) else ()
    if not recipients or not all(isinstance(a, str) and "@" in a for a in recipients):
        raise SettingsError(f"{entry.where('to')} must be an address or a list of addresses.")
    port = entry.values.get("port", 587)
    if not isinstance(port, int) or isinstance(port, bool) or not 0 < port < 65536:
        raise SettingsError(f"{entry.where('port')} must be a port number, got {port!r}.")
    username = entry.text("username", "")
    password = entry.secret(env, "password")
    if username and not password:
        raise SettingsError(
            f"{entry.where('username')} is set, but no password: password_env or password_file."
        )
    ca_bundle = entry.path("ca_bundle")
    return EmailTarget(
        name=entry.name,
        host=entry.text("host"),
        sender=entry.text("from"),
        to=recipients,
        port=port,
        starttls=entry.flag("starttls", True),
        username=username,
        password=password,
        ca_bundle=str(ca_bundle or ""),
        failures_only=entry.flag("failures_only", False),
    )
