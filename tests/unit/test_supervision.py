"""What `exmado up` and `status` make of supervisord's programs and their logs."""

from __future__ import annotations

from pathlib import Path

from exmado_tui.services.supervision import Program, ProgramState, first_error, mark_run

S = ProgramState


def test_a_program_fails_unless_it_runs_but_redis_may_stay_stopped():
    assert not Program("worker", S.RUNNING).failed
    assert not Program("worker", S.STARTING, ready=True).failed
    assert Program("worker", S.STARTING).failed
    assert Program("watch", S.FATAL).failed
    assert Program("watch", S.STOPPED).failed
    assert not Program("redis", S.STOPPED).failed
    assert Program("redis", S.BACKOFF).failed


def test_a_program_has_settled_once_it_is_no_longer_trying():
    assert Program("worker", S.RUNNING).settled and Program("watch", S.FATAL).settled
    assert Program("worker", S.STARTING, ready=True).settled
    assert Program("redis", S.STOPPED).settled
    assert not Program("watch", S.BACKOFF).settled
    assert not Program("worker", S.STARTING).settled


def test_the_first_error_line_of_this_run_only(tmp_path: Path):
    log = tmp_path / "watch.log"
    log.write_text("exmado: an earlier run's error\n")
    mark_run(log)
    log.open("a").write(
        "Traceback (most recent call last):\n  File x\n"
        "ValueError: bad\nexmado: The drop folder /x is a file.\n"
    )
    assert first_error(log) == "ValueError: bad"
    mark_run(log)
    log.open("a").write("Watching /x\nstill here\n")
    assert first_error(log) == "still here"
    assert first_error(tmp_path / "missing.log") == ""
