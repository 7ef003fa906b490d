"""A user's mistakes in a config file or the environment: one sentence naming key and source."""

from __future__ import annotations

from pathlib import Path

import pytest

from exmado_tui.cli import main
from exmado_tui.config.loading import load_settings
from exmado_tui.config.settings import mask_url, masked
from exmado_tui.errors import SettingsError


def refused(tmp_path: Path, text: str, environ: dict[str, str] | None = None) -> str:
    host = tmp_path / "host.toml"
    host.write_text(text, encoding="utf-8")
    with pytest.raises(SettingsError) as caught:
        load_settings(host, environ=environ or {})
    message = str(caught.value)
    assert message.endswith(".") and "\n" not in message
    return message


@pytest.mark.parametrize(
    ("text", "expected"),
    [
        ('[jobs]\njob_timeout_s = "nan"\n', "[jobs] job_timeout_s in {host} must be a number"),
        ('[jobs]\njob_timeout_s = "inf"\n', "[jobs] job_timeout_s in {host} must be a number"),
        ("[dropfolder]\nstable_s = nan\n", "[dropfolder] stable_s in {host} must be a number"),
        ("[docuware]\ntimeout_s = inf\n", "[docuware] timeout_s in {host} must be a number"),
        ("[jobs]\njob_timeout_s = 0\n", "[jobs] job_timeout_s in {host} must be a number > 0"),
        ("[jobs]\nheartbeat_s = 0\n", "[jobs] heartbeat_s in {host} must be a number > 0"),
        ("[jobs]\nmax_document_mb = 0\n", "[jobs] max_document_mb in {host} must be a number > 0"),
        ("[docuware]\nmax_json_mb = 0\n", "[docuware] max_json_mb in {host} must be a number > 0"),
        ("[docuware]\nmin_rate_kb_s = -1\n", "[docuware] min_rate_kb_s in {host} must be a number"),
        (
            "[docuware]\nmin_rate_window_s = 0\n",
            "[docuware] min_rate_window_s in {host} must be a number > 0",
        ),
        (
            "[broker]\nheartbeat_timeout_s = 0\n",
            "[broker] heartbeat_timeout_s in {host} must be a number > 0",
        ),
        (
            "[jobs]\nheartbeat_s = 30\nstale_after_s = 20\n",
            "[jobs] stale_after_s in {host} must be more than [jobs] heartbeat_s (30)",
        ),
    ],
)
def test_numbers_that_are_not_finite_or_not_positive_are_refused(tmp_path, text, expected):
    message = refused(tmp_path, text)
    assert message.startswith(expected.format(host=tmp_path / "host.toml"))


@pytest.mark.parametrize(
    ("text", "expected"),
    [
        ('data_dir = ""\n', "data_dir in {host} must name a folder, got ''."),
        ('[jobs]\noutput_root = ""\n', "[jobs] output_root in {host} must name a folder, got ''."),
        ('[profiles]\ndir = ""\n', "[profiles] dir in {host} must name a folder, got ''."),
        ('[dropfolder]\npath = ""\n', "[dropfolder] path in {host} must name a folder, got ''."),
    ],
)
def test_an_empty_path_is_refused_instead_of_meaning_the_current_folder(tmp_path, text, expected):
    assert refused(tmp_path, text) == expected.format(host=tmp_path / "host.toml")


@pytest.mark.parametrize("key", ["archive", "rejected"])
@pytest.mark.parametrize("value", ["", ".", "a/b", "../elsewhere"])
def test_drop_folder_archive_and_rejected_must_be_plain_sub_folder_names(tmp_path, key, value):
    message = refused(tmp_path, f'[dropfolder]\n{key} = "{value}"\n')
    assert message.startswith(f"[dropfolder] {key} in {tmp_path / 'host.toml'} must be the name")


def test_archive_and_rejected_must_differ(tmp_path):
    message = refused(tmp_path, '[dropfolder]\narchive = "done"\nrejected = "done"\n')
    assert "must differ from [dropfolder] archive" in message


@pytest.mark.parametrize(
    ("text", "expected"),
    [
        ("jobs = 3\n", "[jobs] in {host} must be a table, got 3."),
        ('docuware = "x"\n', "[docuware] in {host} must be a table, got 'x'."),
        (
            "[jobs.max_concurrent_jobs]\na = 1\n",
            "[jobs] max_concurrent_jobs in {host} must be a single value, not a table.",
        ),
        (
            "[jobs]\nmax_concurent_jobs = 4\n",
            "{host} has an unknown key [jobs] max_concurent_jobs "
            "(did you mean max_concurrent_jobs?); config/exmado.toml lists every key.",
        ),
        (
            "[job]\nmax_concurrent_jobs = 4\n",
            "{host} has an unknown table [job] (did you mean jobs?); "
            "config/exmado.toml lists every key.",
        ),
        ("timzone = 'UTC'\n", "{host} has an unknown key timzone (did you mean timezone?); "),
        (
            '[notify]\nkind = "webhook"\n',
            "[notify] in {host} is one table, but notify entries are a list of tables: "
            "write each one as [[notify]].",
        ),
        (
            '[schedule]\nprofile = "invoices"\n',
            "[schedule] in {host} is one table, but schedule entries are a list of tables: "
            "write each one as [[schedule]].",
        ),
    ],
)
def test_misplaced_or_unknown_keys_and_tables_are_refused(tmp_path, text, expected):
    message = refused(tmp_path, text, environ={"EXMADO_OUTPUT_ROOT": str(tmp_path)})
    assert message.startswith(expected.format(host=tmp_path / "host.toml"))


def test_a_secret_in_the_file_still_gets_its_own_sentence(tmp_path):
    message = refused(tmp_path, '[docuware]\npassword = "hunter2"\n')
    assert "must not hold a password; set DOCUWARE_PASSWORD" in message
    assert "hunter2" not in message


@pytest.mark.parametrize(
    ("variable", "value", "where"),
    [
        ("REDIS_URL", "redis://:pw@[::1/0", "[broker] url (from environment REDIS_URL)"),
        ("REDIS_URL", "redis://:pw@host:notaport/0", "[broker] url (from environment REDIS_URL)"),
        ("DOCUWARE_URL", "http://[::1", "[docuware] url (from environment DOCUWARE_URL)"),
        ("DOCUWARE_URL", "http://host:99999", "[docuware] url (from environment DOCUWARE_URL)"),
        (
            "EXMADO_DB_URL",
            "mysql://bob:pw@host/db",
            "[database] url (from environment EXMADO_DB_URL)",
        ),
    ],
)
def test_a_malformed_url_names_its_variable_and_hides_its_password(variable, value, where):
    with pytest.raises(SettingsError) as caught:
        load_settings(environ={variable: value})
    message = str(caught.value)
    assert message.startswith(where) and message.endswith(".")
    assert ":pw@" not in message


def test_a_password_in_a_url_query_is_masked():
    assert mask_url("redis://127.0.0.1:6379/0?password=s3cret&db=1") == (
        "redis://127.0.0.1:6379/0?password=***&db=1"
    )
    settings = load_settings(environ={"REDIS_URL": "redis://h/0?password=s3cret"})
    assert "s3cret" not in str(masked(settings))


def test_config_show_with_a_bad_file_prints_one_sentence(tmp_path, capsys):
    host = tmp_path / "host.toml"
    host.write_text("jobs = 3\n")
    assert main(["--config", str(host), "config", "show"]) == 1
    err = capsys.readouterr().err
    assert err == f"exmado: [jobs] in {host} must be a table, got 3.\n"


@pytest.mark.parametrize("listen", ["9464", "localhost", "127.0.0.1:99999", "127.0.0.1:0", "h :1"])
def test_a_metrics_address_that_is_not_host_and_port_is_one_sentence(tmp_path, listen):
    message = refused(tmp_path, f'[metrics]\nlisten = "{listen}"\n')
    host = tmp_path / "host.toml"
    assert message == (
        f"[metrics] listen in {host} must be HOST:PORT, such as 127.0.0.1:9464 (empty: no "
        f"metrics), got {listen!r}."
    )


@pytest.mark.parametrize(
    ("listen", "address"), [("127.0.0.1:9464", ("127.0.0.1", 9464)), ("[::1]:80", ("::1", 80))]
)
def test_a_metrics_address_is_read_as_host_and_port(listen, address):
    settings = load_settings(environ={"EXMADO_METRICS_LISTEN": listen})
    assert settings.metrics.address == address
    assert settings.metrics.url == f"http://{listen}/metrics"
    assert load_settings(environ={}).metrics.listen == ""  # off unless set
