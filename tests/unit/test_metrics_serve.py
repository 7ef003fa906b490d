"""The metrics fork of `exmado worker`: a port already taken is one sentence in its log."""

from __future__ import annotations

import logging
import socket

from workers.metrics import serve


def test_a_taken_port_is_one_sentence_naming_the_setting(env, tmp_path, monkeypatch, caplog):
    with socket.socket() as taken:
        taken.bind(("127.0.0.1", 0))
        taken.listen()
        listen = f"127.0.0.1:{taken.getsockname()[1]}"
        monkeypatch.setenv("EXMADO_METRICS_LISTEN", listen)
        monkeypatch.setenv("PROMETHEUS_MULTIPROC_DIR", str(tmp_path / "counters"))
        with caplog.at_level(logging.ERROR, "exmado.workers"):
            assert serve() == 1
    assert caplog.messages == [
        f"Cannot serve metrics at [metrics] listen = {listen}: Address already in use."
    ]
    assert (tmp_path / "counters").is_dir()
