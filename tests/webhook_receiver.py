"""A webhook receiver for tests: a real HTTP server on 127.0.0.1 that checks each request's
Standard Webhooks signature with the `standardwebhooks` package (not our signer) and keeps
what it got. It can be down (nothing listens on its port) and come up later on the same port.
"""

from __future__ import annotations

import socket
import threading
from dataclasses import dataclass, field
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from typing import Any

from standardwebhooks import Webhook

# A Standard Webhooks secret for tests: whsec_ and the base64 of 24 bytes.
SECRET = "whsec_OoHjS2fNOWtrRQ1SkHdW5d4Fs2UIzrbK"


def free_port() -> int:
    with socket.socket() as probe:
        probe.bind(("127.0.0.1", 0))
        return int(probe.getsockname()[1])


@dataclass
class Receiver:
    secret: str
    port: int = field(default_factory=free_port)
    received: list[tuple[str, dict[str, Any]]] = field(default_factory=list)  # (id, body)
    refused: list[str] = field(default_factory=list)  # why a request's signature failed
    _server: ThreadingHTTPServer | None = None

    @property
    def url(self) -> str:
        return f"http://127.0.0.1:{self.port}/hook"

    def ids(self) -> list[str]:
        return [msg_id for msg_id, _ in self.received]

    def start(self) -> Receiver:
        receiver, verifier = self, Webhook(self.secret)

        class Handler(BaseHTTPRequestHandler):
            def do_POST(self) -> None:
                raw = self.rfile.read(int(self.headers["content-length"]))
                try:
                    body = verifier.verify(raw, dict(self.headers.items()))
                except Exception as exc:
                    receiver.refused.append(str(exc))
                    self.send_response(401)
                else:
                    receiver.received.append((self.headers["webhook-id"], body))
                    self.send_response(204)
                self.end_headers()

            def log_message(self, *args: Any) -> None:
                pass

        ThreadingHTTPServer.allow_reuse_address = True
        self._server = ThreadingHTTPServer(("127.0.0.1", self.port), Handler)
        threading.Thread(target=self._server.serve_forever, daemon=True).start()
        return self

    def stop(self) -> None:
        if self._server is not None:
            self._server.shutdown()
            self._server.server_close()
            self._server = None
