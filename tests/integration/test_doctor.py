"""`exmado doctor` against a private Redis and the sandbox: one line per check, a fix for
each ✗, exit 1 when anything is wrong."""

from __future__ import annotations

import json
from pathlib import Path

import pytest
import redis

from exmado_tui.cli import main
from exmado_tui.sandbox import SandboxServer
from exmado_tui.services.localredis import RedisServer, free_port
from exmado_tui.services.queue import WORKER_KEY_PREFIX
from exmado_tui.store.migrations import LATEST

CHECKS = [
    "configuration",
    "data folder",
    "job store",
    "Redis",
    "workers",
    "DocuWare",
    "output folder",
    "drop folder",
    "profiles",
]


@pytest.fixture
def healthy(tmp_path: Path, redis_url: str, sandbox: SandboxServer, monkeypatch) -> Path:
    """Everything in place but a worker."""
    drop = tmp_path / "drop"
    (drop / "invoices").mkdir(parents=True)
    values = {
        "EXMADO_DATA_DIR": str(tmp_path / "data"),
        "EXMADO_OUTPUT_ROOT": str(tmp_path / "out"),
        "EXMADO_DROP_FOLDER": str(drop),
        "REDIS_URL": redis_url,
        "DOCUWARE_URL": sandbox.url,
        "DOCUWARE_PASSWORD": "demo",
    }
    for name, value in values.items():
        monkeypatch.setenv(name, value)
    return tmp_path


def doctor(capsys, *argv: str) -> tuple[int, dict[str, dict]]:
    code = main(["doctor", "--json", *argv])
    return code, {c["name"]: c for c in json.loads(capsys.readouterr().out)}


def test_all_well_but_no_worker(healthy, capsys):
    code = main(["doctor"])
    lines = capsys.readouterr().out.splitlines()
    assert code == 1
    # The tests' private Redis has no password: a warning, not a failure.
    assert [line[0] for line in lines if not line.startswith(" ")] == list("✓✓✓!✗✓✓✓✓")
    redis_line = next(line for line in lines if line.startswith("! Redis: "))
    assert redis_line.endswith(
        "answers without a password: whoever reaches it can read or wipe the queue"
    )
    assert "✗ workers: no worker is alive" in lines
    assert "    fix: start them with `exmado up` (or `exmado worker` in the foreground)" in lines
    assert any(line.startswith("✓ DocuWare: ") and "signed in as 'demo'" in line for line in lines)
    assert any(line.startswith("✓ drop folder: ") and "invoices" in line for line in lines)


def test_a_live_worker_makes_it_all_well(healthy, redis_url, capsys):
    redis.Redis.from_url(redis_url).set(WORKER_KEY_PREFIX + "host:1", "{}", ex=30)
    assert main(["jobs", "list", "--json"]) == 0  # the store exists from here on
    capsys.readouterr()
    code, checks = doctor(capsys)
    assert checks["job store"]["detail"].endswith(f"exmado.db, schema {LATEST} of {LATEST}")
    assert list(checks) == CHECKS
    assert code == 0 and all(c["ok"] and (not c["fix"] or c["warning"]) for c in checks.values())
    assert checks["workers"]["detail"] == "1 alive"


def test_a_broken_setting_is_the_first_finding(healthy, capsys, monkeypatch):
    monkeypatch.setenv("MAX_CONCURRENT_JOBS", "many")
    code = main(["doctor"])
    out, err = capsys.readouterr()
    assert (code, err) == (1, "")
    assert out.startswith("✗ configuration: ") and "MAX_CONCURRENT_JOBS" in out
    assert len(out.splitlines()) == 2  # the line and its fix; nothing else can be checked


def test_redis_out_of_reach_and_no_docuware_password(healthy, capsys, monkeypatch):
    monkeypatch.setenv("REDIS_URL", f"redis://127.0.0.1:{free_port()}/0")
    monkeypatch.delenv("DOCUWARE_PASSWORD")
    code, checks = doctor(capsys)
    assert code == 1
    assert "workers" not in checks
    assert checks["Redis"]["detail"].startswith("cannot reach redis://127.0.0.1:")
    assert "exmado up" in checks["Redis"]["fix"]
    assert checks["DocuWare"]["detail"].startswith("No DocuWare password is configured")
    assert "DOCUWARE_PASSWORD" in checks["DocuWare"]["fix"]


def test_a_refused_sign_in_is_fixed_by_hand_not_by_restarting_the_workers(
    healthy, capsys, monkeypatch
):
    monkeypatch.setenv("DOCUWARE_PASSWORD", "wrong")
    code, checks = doctor(capsys)
    line = checks["DocuWare"]
    assert code == 1 and not line["ok"]
    assert line["detail"].startswith("DocuWare refused the sign-in of 'demo' at ")
    assert line["fix"] == ("check DOCUWARE_PASSWORD and the user name")
    assert "worker" not in json.dumps(line) and "retry" not in json.dumps(line)


def test_redis_that_wants_a_password(healthy, tmp_path, capsys, monkeypatch):
    server = RedisServer(tmp_path / "redis").start()
    try:
        redis.Redis.from_url(server.url).config_set("requirepass", "s3cret")
        monkeypatch.setenv("REDIS_URL", server.url)
        code, checks = doctor(capsys)
        assert code == 1 and not checks["Redis"]["ok"]
        assert "REDIS_PASSWORD" in checks["Redis"]["fix"]
        monkeypatch.setenv("REDIS_PASSWORD", "s3cret")
        code, checks = doctor(capsys)
        assert checks["Redis"]["ok"] and "s3cret" not in json.dumps(checks)
        assert not checks["Redis"]["warning"]
    finally:
        server.stop()


def test_folders_that_cannot_be_used(healthy, tmp_path, capsys, monkeypatch):
    blocker = tmp_path / "a-file"
    blocker.write_text("")
    monkeypatch.setenv("EXMADO_DATA_DIR", str(blocker / "data"))
    monkeypatch.setenv("EXMADO_OUTPUT_ROOT", str(blocker / "out"))
    monkeypatch.setenv("EXMADO_DROP_FOLDER", str(tmp_path / "no-drop"))
    code, checks = doctor(capsys)
    assert code == 1
    assert checks["data folder"]["detail"] == (
        f"{blocker / 'data'} cannot be written ({blocker} is not a folder)"
    )
    assert not checks["output folder"]["ok"]
    assert checks["drop folder"]["detail"] == f"{tmp_path / 'no-drop'} does not exist"
    assert checks["drop folder"]["fix"].startswith(f"mkdir -p {tmp_path / 'no-drop'}/PROFILE")


def test_a_profile_file_that_cannot_be_read_is_found(healthy, tmp_path, capsys, monkeypatch):
    """Before a workbook dropped for it is refused: the file and what is wrong with it."""
    mine = tmp_path / "my-profiles"
    mine.mkdir()
    (mine / "badp.toml").write_text('cabinet = "Invoices\n')
    monkeypatch.setenv("EXMADO_USER_PROFILES_DIR", str(mine))
    code, checks = doctor(capsys)
    assert code == 1
    assert not checks["profiles"]["ok"]
    assert checks["profiles"]["detail"].startswith(
        f"Profile file {mine / 'badp.toml'} is not valid"
    )
    assert checks["profiles"]["fix"] == "correct that file, or remove it"


def test_metrics_set_but_not_served_is_a_warning_naming_the_address(
    healthy, redis_url, capsys, monkeypatch
):
    redis.Redis.from_url(redis_url).set(WORKER_KEY_PREFIX + "host:1", "{}", ex=30)
    listen = f"127.0.0.1:{free_port()}"
    code, checks = doctor(capsys)
    assert "metrics" not in checks  # off unless set: no line
    monkeypatch.setenv("EXMADO_METRICS_LISTEN", listen)
    code, checks = doctor(capsys)
    metrics = checks["metrics"]
    assert code == 0 and metrics["ok"] and metrics["warning"]
    assert metrics["detail"].startswith(f"nothing answers at http://{listen}/metrics (")
    assert metrics["fix"] == "this host's workers serve them: `exmado up` (or `exmado worker`)"
