"""Notifications by e-mail through a real SMTP server (aiosmtpd) that demands STARTTLS before
the login: our mail goes over TLS (its certificate checked against the target's ca_bundle), logs
in with the password from an owner-only file, and a failures-only target skips a clean finish."""

from __future__ import annotations

import subprocess
from collections.abc import Iterator
from email import message_from_bytes, policy
from pathlib import Path
from typing import Any

import pytest
from aiosmtpd.controller import Controller
from aiosmtpd.smtp import AuthResult, LoginPassword

from exmado_tui.job.status import JobStatus
from exmado_tui.job.transitions import transition
from exmado_tui.notify.delivery import Deliverer
from exmado_tui.notify.targets import DeliveryState
from exmado_tui.store.db import open_database
from exmado_tui.store.models import NotifyDelivery
from tests.environment import make_settings
from tests.factories import insert_job
from tests.webhook_receiver import free_port

PASSWORD = "s3cret-smtp"


class Inbox:
    def __init__(self) -> None:
        self.mails: list[Any] = []
        self.logins: list[str] = []

    async def handle_DATA(self, server: Any, session: Any, envelope: Any) -> str:
        self.mails.append(message_from_bytes(envelope.original_content, policy=policy.default))
        return "250 OK"

    def authenticate(self, server: Any, session: Any, envelope: Any, mechanism: str, data: Any):
        ok = isinstance(data, LoginPassword) and data.password.decode() == PASSWORD
        if ok:
            self.logins.append(data.login.decode())
        return AuthResult(success=ok, handled=False)  # aiosmtpd then answers 535 itself


def certificate(folder: Path) -> tuple[Path, Path]:
    cert, key = folder / "cert.pem", folder / "key.pem"
    subprocess.run(
        ["openssl", "req", "-x509", "-newkey", "ec", "-pkeyopt", "ec_paramgen_curve:prime256v1",
         "-nodes", "-keyout", str(key), "-out", str(cert), "-days", "1", "-subj", "/CN=127.0.0.1",
         "-addext", "subjectAltName=IP:127.0.0.1"],
        check=True, capture_output=True,
    )  # fmt: skip
    return cert, key


@pytest.fixture
def smtp(tmp_path: Path) -> Iterator[tuple[Inbox, int, Path]]:
    import ssl

    cert, key = certificate(tmp_path)
    context = ssl.create_default_context(ssl.Purpose.CLIENT_AUTH)
    context.load_cert_chain(cert, key)
    inbox, port = Inbox(), free_port()
    controller = Controller(
        inbox, hostname="127.0.0.1", port=port, tls_context=context, require_starttls=True,
        authenticator=inbox.authenticate, auth_required=True,
    )  # fmt: skip
    controller.start()
    yield inbox, port, cert
    controller.stop()


def test_a_failure_is_mailed_over_starttls_with_the_login_from_a_secret_file(
    tmp_path: Path, smtp: tuple[Inbox, int, Path]
):
    inbox, port, cert = smtp
    secret = tmp_path / "smtp-password"
    secret.write_text(PASSWORD)
    secret.chmod(0o600)
    host = tmp_path / "host.toml"
    host.write_text(
        f'[[notify]]\nname = "mail"\ntype = "email"\nhost = "127.0.0.1"\nport = {port}\n'
        f'username = "bot@example.com"\npassword_file = "{secret.name}"\n'
        f'ca_bundle = "{cert}"\nfrom = "bot@example.com"\nto = ["ops@example.com"]\n'
        "failures_only = true\n"
    )
    settings = make_settings(tmp_path, EXMADO_CONFIG=str(host))
    open_database(settings.database_url)
    for job_id, status in (("a" * 32, JobStatus.COMPLETED), ("b" * 32, JobStatus.FAILED)):
        insert_job(job_id, "RUNNING", name=f"job {job_id[0]}")
        transition(job_id, status, last_error="The workbook is gone.")

    assert Deliverer(settings.notify).tick() == 1
    [mail] = inbox.mails
    assert inbox.logins == ["bot@example.com"]
    assert mail["Subject"] == "Éxmado: Job job b (bbbbbbbb) failed."
    assert mail["To"] == "ops@example.com"
    text = mail.get_content()
    assert "The workbook is gone." in text and "exmado jobs show bbbbbbbb" in text
    assert PASSWORD not in text
    [delivery] = NotifyDelivery.select()
    assert delivery.state == DeliveryState.DELIVERED


def test_a_wrong_password_is_a_failed_delivery_that_names_the_login(
    tmp_path: Path, smtp: tuple[Inbox, int, Path], monkeypatch: pytest.MonkeyPatch
):
    inbox, port, cert = smtp
    host = tmp_path / "host.toml"
    host.write_text(
        f'[[notify]]\nname = "mail"\ntype = "email"\nhost = "127.0.0.1"\nport = {port}\n'
        'username = "bot@example.com"\npassword_env = "SMTP_PASSWORD"\n'
        f'ca_bundle = "{cert}"\nfrom = "bot@example.com"\nto = "ops@example.com"\n'
    )
    settings = make_settings(tmp_path, EXMADO_CONFIG=str(host), SMTP_PASSWORD="wrong-one")
    open_database(settings.database_url)
    insert_job("c" * 32, "RUNNING")
    transition("c" * 32, JobStatus.COMPLETED)

    Deliverer(settings.notify).tick()
    [delivery] = NotifyDelivery.select()
    assert delivery.state == DeliveryState.PENDING and delivery.attempts == 1
    assert "refused the login of 'bot@example.com' (535)" in delivery.last_error
    assert "wrong-one" not in delivery.last_error and inbox.mails == []
