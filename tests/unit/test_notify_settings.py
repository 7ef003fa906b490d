"""[[notify]] entries: secrets only from a named variable or an owner-only file, mistakes in one
sentence naming the entry and the file, and secrets masked in `exmado config show`."""

from __future__ import annotations

from pathlib import Path

import pytest

from exmado_tui.config.loading import load_settings
from exmado_tui.config.settings import masked
from exmado_tui.errors import SettingsError
from tests.cli_runner import run
from tests.webhook_receiver import SECRET

HOOK = '[[notify]]\nname = "ops"\ntype = "webhook"\nurl = "https://hooks.example.com/x"\n'


def host(tmp_path: Path, text: str) -> Path:
    path = tmp_path / "host.toml"
    path.write_text(text, encoding="utf-8")
    return path


def refused(tmp_path: Path, text: str, environ: dict[str, str] | None = None) -> str:
    with pytest.raises(SettingsError) as caught:
        load_settings(host(tmp_path, text), environ=environ or {})
    message = str(caught.value)
    assert message.endswith(".") and "\n" not in message and SECRET not in message
    return message


@pytest.mark.parametrize(
    ("text", "environ", "expected"),
    [
        (HOOK, {}, "[[notify]] 'ops' in {host} needs a signing secret"),
        (HOOK + f'secret = "{SECRET}"\n', {}, "secret of [[notify]] 'ops' in {host} must not"),
        (HOOK + 'secret_env = "HOOK"\n', {}, "secret_env of [[notify]] 'ops' in {host} names HOOK"),
        (HOOK + 'secret_env = "HOOK"\n', {"HOOK": "whsec_c2hvcnQ="}, "from HOOK is not whsec_"),
        (HOOK + 'secret_env = "HOOK"\nretries = 3\n', {"HOOK": SECRET}, "unknown key retries"),
        ('[[notify]]\ntype = "pager"\n', {}, "type of [[notify]] 'notify-1' in {host} must be"),
        (
            '[[notify]]\nname = "m"\ntype = "email"\nhost = "smtp.example.com"\nfrom = "a@b.c"\n',
            {},
            "to of [[notify]] 'm' in {host} must be an address",
        ),
        (
            '[[notify]]\nname = "m"\ntype = "email"\nhost = "h"\nfrom = "a@b.c"\nto = "d@e.f"\n'
            'username = "bot"\n',
            {},
            "username of [[notify]] 'm' in {host} is set, but no password",
        ),
    ],
)
def test_mistakes_are_one_sentence_naming_the_entry(tmp_path, text, environ, expected):
    assert expected.format(host=tmp_path / "host.toml") in refused(tmp_path, text, environ)


def test_a_secret_file_others_can_read_is_refused(tmp_path: Path):
    secret = tmp_path / "hook"
    secret.write_text(SECRET)
    secret.chmod(0o644)
    message = refused(tmp_path, HOOK + 'secret_file = "hook"\n')
    assert f"names {secret}, which others can read; run chmod 600 {secret}." in message


def test_secrets_are_masked_in_config_show(tmp_path: Path, capsys, monkeypatch):
    path = host(tmp_path, HOOK + 'secret_env = "HOOK"\n')
    monkeypatch.setenv("HOOK", SECRET)
    settings = load_settings(path, environ={"HOOK": SECRET})
    [target] = settings.notify.targets
    assert target.secret.reveal() == SECRET and len(target.key) == 24
    assert masked(settings)["notify"]["targets"][0]["secret"] == "***"
    code, out, err = run(capsys, "--config", str(path), "config", "show")
    assert code == 0 and "hooks.example.com" in out and SECRET not in out + err


def test_a_webhook_urls_path_and_query_are_not_shown(tmp_path: Path):
    """Slack-style webhook URLs carry their token in the path: config show names the host."""
    url = "https://bot@hooks.example.com:8443/services/T0K3N?key=K3Y"
    text = HOOK.replace("https://hooks.example.com/x", url) + 'secret_env = "HOOK"\n'
    settings = load_settings(host(tmp_path, text), environ={"HOOK": SECRET})
    [target] = settings.notify.targets
    assert target.url == url
    assert masked(settings)["notify"]["targets"][0]["url"] == "https://hooks.example.com:8443/…"
