"""Settings: layers, environment names, secrets and one-sentence errors."""

from __future__ import annotations

import argparse
import os
from pathlib import Path

import pytest

from exmado_tui.commands.context import Context
from exmado_tui.commands.doctor import show_config
from exmado_tui.config.loading import DEFAULTS_FILE, load_settings
from exmado_tui.config.settings import Secret, mask_url, masked
from exmado_tui.errors import SettingsError


def test_defaults_file_documents_every_key():
    settings = load_settings(environ={})
    assert settings.timezone == ""  # the machine's zone
    assert settings.broker.url == "redis://127.0.0.1:6379/0"
    assert settings.jobs.max_concurrent_jobs == 3
    assert settings.jobs.job_timeout_s == 7200
    assert settings.docuware.auth == "auto"
    assert settings.database_url.startswith("sqlite:///")
    assert settings.database_url.endswith("exmado.db")
    assert settings.profiles_dir == DEFAULTS_FILE.parent / "profiles"
    user_profiles = Path("~/.config/exmado/profiles").expanduser()
    assert settings.profile_dirs == (user_profiles, settings.profiles_dir)
    text = DEFAULTS_FILE.read_text()
    for key in ("data_dir", "max_concurrent_jobs", "row_concurrency", "stable_s", "verify_tls"):
        line = next(i for i, ln in enumerate(text.splitlines()) if ln.startswith(key))
        assert text.splitlines()[line - 1].startswith("#"), f"{key} has no comment above it"


def test_host_file_overrides_defaults_and_environment_overrides_both(tmp_path: Path):
    host = tmp_path / "host.toml"
    host.write_text(
        "[jobs]\nmax_concurrent_jobs = 5\nrow_concurrency = 4\n"
        '[docuware]\nurl = "https://dw.example.com/"\n'
    )
    settings = load_settings(host, environ={"MAX_CONCURRENT_JOBS": "7"})
    assert settings.jobs.max_concurrent_jobs == 7
    assert settings.jobs.row_concurrency == 4
    assert settings.docuware.url == "https://dw.example.com"
    assert str(host) in settings.sources


def test_exmado_config_variable_names_the_host_file(tmp_path: Path):
    host = tmp_path / "host.toml"
    host.write_text('timezone = "Europe/Berlin"\n')
    assert load_settings(environ={"EXMADO_CONFIG": str(host)}).timezone == "Europe/Berlin"


def test_relative_paths_are_taken_from_the_file_that_sets_them(tmp_path: Path):
    host = tmp_path / "host.toml"
    host.write_text('data_dir = "state"\n[jobs]\noutput_root = "out"\n')
    settings = load_settings(host, environ={})
    assert settings.data_dir == tmp_path / "state"
    assert settings.jobs.output_root == tmp_path / "out"


def test_old_system_redis_variables_build_the_broker_url():
    env = {"REDIS_HOST": "queue.local", "REDIS_PORT": "6380", "REDIS_DB": "2"}
    assert load_settings(environ=env).broker.url == "redis://queue.local:6380/2"
    env["REDIS_URL"] = "redis://other:1/0"
    assert load_settings(environ=env).broker.url == "redis://other:1/0"


def test_old_system_names_for_limits_and_docuware():
    env = {
        "JOB_TIMEOUT": "60",
        "DOCUWARE_URL": "https://x.docuware.cloud",
        "DOCUWARE_USERNAME": "ana",
        "DOCUWARE_ORGANIZATION": "Peters",
        "EXMADO_DB_URL": "postgresql://exmado@db/exmado",
    }
    settings = load_settings(environ=env)
    assert settings.jobs.job_timeout_s == 60
    assert settings.docuware.username == "ana"
    assert settings.docuware.organization == "Peters"
    assert settings.database_url == "postgresql://exmado@db/exmado"


@pytest.mark.parametrize(
    ("content", "expected"),
    [
        ("[jobs]\nmax_concurrent_jobs = 0\n", "[jobs] max_concurrent_jobs in"),
        ('[jobs]\nrow_concurrency = "many"\n', "must be a whole number"),
        ('[docuware]\nauth = "kerberos"\n', "must be one of auto, oauth, cookie"),
        ('[docuware]\nurl = "dw.local"\n', "must be an http(s) URL"),
        ('[broker]\nurl = "amqp://x"\n', "must be a redis:// URL"),
        ('timezone = "Mars/Olympus"\n', "not a known time zone"),
        ("[docuware]\nverify_tls = 3\n", "must be true or false"),
        ("[jobs\n", "is not valid TOML"),
    ],
)
def test_a_wrong_setting_is_one_sentence_naming_key_and_file(tmp_path, content, expected):
    host = tmp_path / "host.toml"
    host.write_text(content)
    with pytest.raises(SettingsError) as caught:
        load_settings(host, environ={})
    message = str(caught.value)
    assert expected in message
    assert str(host) in message
    assert "\n" not in message


def test_a_docuware_url_with_a_password_in_it_is_refused_without_showing_it(tmp_path):
    """It would be shown wherever the server is named (the budget's label, `exmado workers`)
    and aiohttp refuses it beside a sign-in's header: one sentence, the password masked."""
    host = tmp_path / "host.toml"
    host.write_text('[docuware]\nurl = "http://demo:Zebra-Pass-7731@dw.local:8765"\n')
    with pytest.raises(SettingsError) as caught:
        load_settings(host, environ={})
    message = str(caught.value)
    assert "must not hold a user name or password" in message and "DOCUWARE_PASSWORD" in message
    assert "Zebra-Pass-7731" not in message and str(host) in message and "\n" not in message


@pytest.mark.parametrize(
    "url",
    [
        "https://x.docuware.cloud/DocuWare/Platform",
        "https://x.docuware.cloud/docuware/platform/",
        "https://x.docuware.cloud/",
    ],
)
def test_a_docuware_url_copied_with_the_platform_s_path_names_the_server(url):
    settings = load_settings(environ={"DOCUWARE_URL": url})
    assert settings.docuware.url == "https://x.docuware.cloud"


def test_a_wrong_environment_value_names_the_variable():
    with pytest.raises(SettingsError, match=r"from environment MAX_CONCURRENT_JOBS"):
        load_settings(environ={"MAX_CONCURRENT_JOBS": "-2"})


def test_missing_host_file_is_reported(tmp_path: Path):
    with pytest.raises(SettingsError, match="does not exist"):
        load_settings(tmp_path / "nope.toml", environ={})


def test_a_password_in_a_config_file_is_refused(tmp_path: Path):
    host = tmp_path / "host.toml"
    host.write_text('[docuware]\npassword = "hunter2"\n')
    with pytest.raises(SettingsError, match="must not hold a password; set DOCUWARE_PASSWORD"):
        load_settings(host, environ={})


def test_passwords_come_from_environment_or_an_owner_only_file(tmp_path: Path):
    secret_file = tmp_path / "dw.pass"
    secret_file.write_text("s3cret\n")
    os.chmod(secret_file, 0o600)
    host = tmp_path / "host.toml"
    host.write_text(f'[docuware]\npassword_file = "{secret_file}"\n')
    assert load_settings(host, environ={}).docuware.password.reveal() == "s3cret"
    env = {"DOCUWARE_PASSWORD": "fromenv", "REDIS_PASSWORD": "r3d"}
    settings = load_settings(host, environ=env)
    assert settings.docuware.password.reveal() == "fromenv"
    assert settings.broker.password.reveal() == "r3d"


def test_a_password_file_others_can_read_is_refused(tmp_path: Path):
    secret_file = tmp_path / "dw.pass"
    secret_file.write_text("s3cret")
    os.chmod(secret_file, 0o644)
    host = tmp_path / "host.toml"
    host.write_text(f'[docuware]\npassword_file = "{secret_file}"\n')
    with pytest.raises(SettingsError, match="chmod 600"):
        load_settings(host, environ={})


def test_serve_token_comes_from_the_environment_or_an_owner_only_file_beside_the_config(
    tmp_path: Path,
):
    (tmp_path / "serve.token").write_text("a-token-of-serve-0123456789\n")
    os.chmod(tmp_path / "serve.token", 0o600)
    host = tmp_path / "host.toml"
    host.write_text('[serve]\ntoken_file = "serve.token"\nsessions = 5\n')
    settings = load_settings(host, environ={})
    assert settings.serve.token.reveal() == "a-token-of-serve-0123456789"
    assert settings.serve.sessions == 5
    env = {"EXMADO_SERVE_TOKEN": "the-environment-s-token-0123"}
    assert load_settings(host, environ=env).serve.token.reveal() == env["EXMADO_SERVE_TOKEN"]
    assert not load_settings(environ={}).serve.token  # then serve makes a fresh one


@pytest.mark.parametrize(
    ("toml", "env", "sentence"),
    [
        ('token = "abcdefghijklmnopqrstuvwxyz"', {}, "must not hold a token; set EXMADO_SERVE"),
        ("", {"EXMADO_SERVE_TOKEN": "short"}, "EXMADO_SERVE_TOKEN holds a token of 5 characters"),
        ("sessions = 0", {}, r"\[serve\] sessions in .* must be a whole number ≥ 1, got 0"),
    ],
)
def test_a_weak_or_misplaced_serve_token_is_refused(tmp_path: Path, toml, env, sentence):
    host = tmp_path / "host.toml"
    host.write_text(f"[serve]\n{toml}\n")
    with pytest.raises(SettingsError, match=sentence):
        load_settings(host, environ=env)


def test_secrets_never_show_themselves():
    settings = load_settings(
        environ={"DOCUWARE_PASSWORD": "hunter2", "REDIS_URL": "redis://:pw123@host:6379/0"}
    )
    assert "hunter2" not in repr(settings)
    assert "hunter2" not in str(Secret("hunter2"))
    shown = str(masked(settings))
    assert "hunter2" not in shown
    assert "pw123" not in shown
    assert masked(settings)["docuware"]["password"] == "***"
    assert mask_url("redis://:pw123@host:6379/0") == "redis://:***@host:6379/0"


APP_SECRET = "cs-Zq8!vR2#unmistakable"


def app_registration(tmp_path: Path, body: str = "") -> Path:
    host = tmp_path / "host.toml"
    host.write_text('[docuware]\nauth = "client_credentials"\nclient_id = "exmado-export"\n' + body)
    return host


def test_client_credentials_secret_from_environment_or_an_owner_only_file(tmp_path: Path):
    secret_file = tmp_path / "dw.secret"
    secret_file.write_text(APP_SECRET + "\n")
    os.chmod(secret_file, 0o600)
    host = app_registration(tmp_path, f'client_secret_file = "{secret_file}"\n')
    settings = load_settings(host, environ={}).docuware
    assert settings.auth == "client_credentials" and settings.client_id == "exmado-export"
    assert settings.client_secret.reveal() == APP_SECRET
    from_env = load_settings(host, environ={"DOCUWARE_CLIENT_SECRET": "other"}).docuware
    assert from_env.client_secret.reveal() == "other"


def test_client_id_from_environment():
    env = {
        "DOCUWARE_AUTH": "client_credentials",
        "DOCUWARE_CLIENT_ID": "app-7",
        "DOCUWARE_CLIENT_SECRET": APP_SECRET,
    }
    assert load_settings(environ=env).docuware.client_id == "app-7"


def test_a_client_secret_in_a_config_file_is_refused(tmp_path: Path):
    host = app_registration(tmp_path, f'client_secret = "{APP_SECRET}"\n')
    with pytest.raises(SettingsError) as caught:
        load_settings(host, environ={})
    assert str(caught.value) == (
        f"[docuware] client_secret in {host} must not hold a client secret; "
        "set DOCUWARE_CLIENT_SECRET or client_secret_file instead."
    )


def test_a_client_secret_file_others_can_read_is_refused(tmp_path: Path):
    secret_file = tmp_path / "dw.secret"
    secret_file.write_text(APP_SECRET)
    os.chmod(secret_file, 0o644)
    host = app_registration(tmp_path, f'client_secret_file = "{secret_file}"\n')
    with pytest.raises(SettingsError, match=r"\[docuware\] client_secret_file in .*chmod 600"):
        load_settings(host, environ={})


def test_client_credentials_without_a_secret_is_refused(tmp_path: Path):
    host = app_registration(tmp_path)
    with pytest.raises(SettingsError) as caught:
        load_settings(host, environ={})
    assert str(caught.value) == (
        f"[docuware] auth in {host} is client_credentials, which needs [docuware] "
        "client_secret: set DOCUWARE_CLIENT_SECRET or client_secret_file."
    )


@pytest.mark.parametrize(
    ("env", "where"),
    [
        ({}, f"[docuware] client_id in {DEFAULTS_FILE} is DocuWare's built-in public client"),
        (
            {"DOCUWARE_CLIENT_ID": "docuware.platform.net.client"},
            "[docuware] client_id (from environment DOCUWARE_CLIENT_ID) is DocuWare's built-in",
        ),
    ],
)
def test_client_credentials_with_the_public_client_id_is_refused(env, where):
    env = {**env, "DOCUWARE_AUTH": "client_credentials", "DOCUWARE_CLIENT_SECRET": APP_SECRET}
    with pytest.raises(SettingsError) as caught:
        load_settings(environ=env)
    message = str(caught.value)
    assert message.startswith(where)
    assert message.endswith(
        "but auth = client_credentials needs the client id of your DocuWare app registration."
    )
    assert APP_SECRET not in message and "\n" not in message


def test_client_credentials_needs_no_username(tmp_path: Path):
    host = app_registration(tmp_path, 'username = ""\n')
    settings = load_settings(host, environ={"DOCUWARE_CLIENT_SECRET": APP_SECRET})
    assert settings.docuware.username == ""


def test_client_secret_never_shows_itself(tmp_path: Path, capsys):
    settings = load_settings(
        app_registration(tmp_path), environ={"DOCUWARE_CLIENT_SECRET": APP_SECRET}
    )
    assert APP_SECRET not in repr(settings) and APP_SECRET not in str(settings.docuware)
    assert masked(settings)["docuware"]["client_secret"] == "***"
    context = Context(settings)
    show_config(argparse.Namespace(json=False), context)
    show_config(argparse.Namespace(json=True), context)
    shown = capsys.readouterr().out
    assert "client_secret = '***'" in shown and '"client_secret": "***"' in shown
    assert APP_SECRET not in shown


@pytest.mark.parametrize("value", ["10", "14.9"])
def test_a_docuware_timeout_below_the_throttle_delay_is_refused(tmp_path: Path, value: str):
    host = tmp_path / "host.toml"
    host.write_text(f"[docuware]\ntimeout_s = {value}\n")
    with pytest.raises(SettingsError) as caught:
        load_settings(host, environ={})
    assert str(caught.value) == (
        f"[docuware] timeout_s in {host} must be at least 15 s, got {value}, "
        "because DocuWare answers a throttled request after about 10 s."
    )
    host.write_text("[docuware]\ntimeout_s = 15\n")
    assert load_settings(host, environ={}).docuware.timeout_s == 15
