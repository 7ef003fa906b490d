"""`exmado docuware …` run in-process against the sandbox: what a user sees on screen."""

import json
import os
import re
import subprocess
import sys
from dataclasses import replace
from types import SimpleNamespace

import pytest

from exmado_tui.config.settings import DocuWareSettings, JobsSettings, Secret
from exmado_tui.docuware.cli import build_parser, run


@pytest.fixture
def settings(sandbox) -> DocuWareSettings:
    return DocuWareSettings(
        url=sandbox.url,
        username="demo",
        password=Secret("demo"),
        auth="auto",
        timeout_s=10,
        max_attempts=3,
        throttle_default_wait_s=1,
    )


def cli(settings, capsys, *argv: str) -> tuple[int, str, str]:
    code = run(build_parser().parse_args(["docuware", *argv]), settings)
    captured = capsys.readouterr()
    return code, captured.out, captured.err


def test_check(settings, capsys):
    code, out, err = cli(settings, capsys, "check")
    assert code == 0 and err == ""
    assert "DocuWare 7.10" in out
    assert "Signed in as 'demo' using oauth" in out
    assert "File cabinets visible (2): Invoices, Personnel" in out


def test_check_json_with_cookie(settings, capsys):
    code, out, _ = cli(replace(settings, auth="cookie"), capsys, "check", "--json")
    report = json.loads(out)
    assert code == 0
    assert list(report) == [
        "auth_mode",
        "cabinets",
        "url",
        "user",
        "version",
        "worker_signins_last_hour",
    ]
    assert report["auth_mode"] == "cookie" and report["cabinets"] == ["Invoices", "Personnel"]
    # No broker in these settings, so nobody counted the workers' sign-ins: null, not 0.
    assert report["worker_signins_last_hour"] is None


def test_cabinets_dialogs_fields(settings, capsys):
    code, out, _ = cli(settings, capsys, "cabinets", "--json")
    assert code == 0 and [c["name"] for c in json.loads(out)] == ["Invoices", "Personnel"]
    code, out, _ = cli(settings, capsys, "dialogs", "invoices")
    assert code == 0 and "Invoice search" in out and "True" in out
    code, out, _ = cli(settings, capsys, "fields", "Invoices")
    lines = out.splitlines()
    assert code == 0 and lines[0].split() == ["DB_NAME", "LABEL", "TYPE"]
    assert any(line.split()[:2] == ["SUPPLIER", "Supplier"] for line in lines)


def test_search_table(settings, capsys):
    code, out, err = cli(settings, capsys, "search", "Invoices", "SUPPLIER=A*", "--limit", "5")
    lines = out.splitlines()
    assert code == 0 and err == ""
    assert lines[0].split() == ["ID", "TITLE", "SUPPLIER"]
    assert lines[-1] == "5 document(s)"
    assert len(lines) == 7


def test_search_json_range_or_and_labels(settings, capsys):
    code, out, _ = cli(
        settings,
        capsys,
        "search",
        "Invoices",
        "Amount=..100",
        "STATUS=EMPTY()",
        "--or",
        "--json",
        "--limit",
        "3",
    )
    docs = json.loads(out)
    assert code == 0 and 1 <= len(docs) <= 3
    for doc in docs:
        assert set(doc) == {
            "cabinet_id",
            "content_type",
            "fields",
            "file_size",
            "id",
            "section_count",
            "title",
        }
        amount, status = doc["fields"].get("AMOUNT"), doc["fields"].get("STATUS")
        assert (amount is not None and float(amount) <= 100) or status in (None, "")


def test_download_never_overwrites(settings, capsys, tmp_path):
    code, out, _ = cli(settings, capsys, "download", "Invoices", "1", str(tmp_path))
    assert code == 0 and out.startswith(f"Saved {tmp_path}/")
    code, out2, _ = cli(
        settings, capsys, "download", "Invoices", "1", str(tmp_path), "--format", "pdf"
    )
    assert code == 0
    files = sorted(p.name for p in tmp_path.iterdir())
    assert len(files) == 2 and not any(name.endswith(".part") for name in files)
    assert all(p.read_bytes()[:5] == b"%PDF-" for p in tmp_path.iterdir())


@pytest.mark.parametrize(
    ("argv", "expected"),
    [
        (["dialogs", "Payroll"], "No file cabinet named 'Payroll' is visible"),
        (["download", "Invoices", "987654", "TMP"], "Document 987654 not found"),
        (["search", "Invoices", "SUPPLIER"], "must look like FIELD=VALUE"),
    ],
)
def test_errors_are_one_sentence(settings, capsys, tmp_path, argv, expected):
    code, out, err = cli(settings, capsys, *(str(tmp_path) if a == "TMP" else a for a in argv))
    assert code == 1 and out == ""
    assert expected in err and err.count("\n") == 1 and "Traceback" not in err
    assert not list(tmp_path.iterdir())


def test_bad_password(settings, capsys):
    """Checked by hand, the advice is to check the password where it was set, not the
    workers' (restart them, then retry the job)."""
    wrong = replace(settings, password=Secret("nope", "DOCUWARE_PASSWORD"))
    code, _, err = cli(wrong, capsys, "check")
    assert code == 1
    assert "refused the sign-in of 'demo'" in err and "nope" not in err
    assert err.endswith(
        ": invalid_username_or_password. Check DOCUWARE_PASSWORD and the user name, then run "
        "the command again.\n"
    ), err


def test_check_with_an_app_registration_names_its_client_id(settings, capsys):
    secret = Secret("demo")
    app = replace(settings, auth="client_credentials", client_id="demo", client_secret=secret)
    code, out, _ = cli(app, capsys, "check")
    assert (
        code == 0
        and "Signed in as the app registration (client id 'demo') using client_credentials" in out
    )
    code, out, _ = cli(app, capsys, "check", "--json")
    assert json.loads(out)["user"] == "the app registration (client id 'demo')"


def test_a_download_over_max_document_mb_is_cut(settings, capsys, tmp_path):
    both = SimpleNamespace(docuware=settings, jobs=JobsSettings(max_document_mb=0.0001))
    code = run(
        build_parser().parse_args(["docuware", "download", "Invoices", "1", f"{tmp_path}/"]), both
    )
    err = capsys.readouterr().err
    assert code == 1
    assert re.search(r"came to [\d.]+ KB over \[jobs\] max_document_mb = 0.0001; it was cut", err)
    assert list(tmp_path.iterdir()) == []


def test_download_keeps_a_title_with_a_slash_whole(settings, capsys, tmp_path):
    code, out, _ = cli(settings, capsys, "search", "Invoices", "SUPPLIER=A/B Corp", "--json")
    doc = json.loads(out)[0]
    assert code == 0 and "A/B Corp" in doc["title"]
    code, out, _ = cli(settings, capsys, "download", "Invoices", str(doc["id"]), str(tmp_path))
    (saved,) = tmp_path.iterdir()
    assert code == 0 and saved.name.startswith(doc["title"].replace("/", "_"))


def test_download_into_a_folder_that_does_not_exist_yet(settings, capsys, tmp_path):
    code, out, err = cli(settings, capsys, "download", "Invoices", "1", f"{tmp_path}/new/")
    assert code == 0, err
    folder = tmp_path / "new"
    [saved] = list(folder.iterdir())
    assert folder.is_dir() and out.startswith(f"Saved {saved} (")
    code, out, _ = cli(settings, capsys, "download", "Invoices", "1", str(tmp_path / "one.pdf"))
    assert code == 0 and (tmp_path / "one.pdf").is_file()


@pytest.mark.parametrize("below", ["a-file", "/proc"])
def test_download_into_a_folder_that_cannot_be_made_says_so(settings, capsys, tmp_path, below):
    """The system's words named only the path ('No such file or directory (/proc/x).')."""
    (tmp_path / "a-file").write_text("")
    folder = tmp_path / below / "x"  # below a file, or where no folder can be made
    code, out, err = cli(settings, capsys, "download", "Invoices", "1", f"{folder}/")
    assert code == 1 and out == "" and err.count("\n") == 1, err
    assert err.startswith(f"exmado: Cannot make the folder {folder} ("), err


def test_download_formats_are_the_profiles_names(settings, capsys, tmp_path):
    code, _, err = cli(
        settings, capsys, "download", "Invoices", "1", str(tmp_path), "--format", "original"
    )
    assert code == 0, err
    with pytest.raises(SystemExit) as usage:
        build_parser().parse_args(
            ["docuware", "download", "Invoices", "1", "x", "--format", "auto"]
        )
    assert usage.value.code == 2
    assert "--format {original,pdf,zip}" in capsys.readouterr().err


def test_a_search_piped_into_head_ends_quietly(sandbox, tmp_path):
    env = {**os.environ, "DOCUWARE_URL": sandbox.url, "DOCUWARE_PASSWORD": "demo"}
    env["EXMADO_DATA_DIR"] = str(tmp_path / "data")
    argv = ["docuware", "search", "Invoices", "SUPPLIER=*", "--limit", "0"]
    process = subprocess.Popen(
        [sys.executable, "-m", "exmado_tui.cli", *argv],
        stdout=subprocess.PIPE,
        stderr=subprocess.PIPE,
        env=env,
    )
    assert process.stdout.readline().split() == [b"ID", b"TITLE", b"SUPPLIER"]
    process.stdout.close()  # `| head -1`: the reader is gone, 2,000 lines still to write
    err = process.stderr.read().decode()
    process.wait(timeout=60)
    assert err == ""
