"""The Workers screen says how notifications go, as `exmado doctor` does: a target whose
receiver is down is red with what it answered."""

from __future__ import annotations

from pathlib import Path

from exmado_tui.job.status import JobStatus
from exmado_tui.job.transitions import transition
from exmado_tui.notify.delivery import Deliverer
from exmado_tui.store.db import open_database
from exmado_tui.ui.app import make_app
from exmado_tui.ui.screens.workers import WorkersScreen
from tests.environment import NO_REDIS, make_settings
from tests.factories import insert_job
from tests.tui.pilot_steps import SIZE, open_screen, wait_for
from tests.webhook_receiver import SECRET, free_port


async def test_a_failing_target_is_shown_red_with_its_error(tmp_path: Path):
    port = free_port()  # nothing listens there: the receiver is down
    host = tmp_path / "host.toml"
    host.write_text(
        f'[[notify]]\nname = "ops"\ntype = "webhook"\nurl = "http://127.0.0.1:{port}/h"\n'
        'secret_env = "HOOK"\n'
    )
    settings = make_settings(tmp_path, EXMADO_CONFIG=str(host), HOOK=SECRET, REDIS_URL=NO_REDIS)
    db = open_database(settings.database_url)
    try:
        insert_job("a" * 32, "RUNNING")
        transition("a" * 32, JobStatus.FAILED)
        assert Deliverer(settings.notify).tick() == 1
        async with make_app(settings).run_test(size=SIZE) as pilot:
            screen = await open_screen(pilot, "w", WorkersScreen)
            facts = screen.query_one("#notify-facts")
            await wait_for(pilot, lambda: "ops" in str(facts.render()))
            text = str(facts.render())
        assert text.startswith(f"✖ ops (webhook): 1 failing — http://127.0.0.1:{port} did not")
    finally:
        db.close()
