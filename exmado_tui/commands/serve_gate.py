"""Who may use `exmado serve`: a browser that brought the token, on the server's own page.

The address `exmado serve` prints carries the token (`/?token=…`, as Jupyter's does). The first
page load trades it for an HttpOnly, SameSite=Strict cookie, and every later request (the
page's websocket, a download, an upload) must carry that cookie; the websocket and the upload
must also come from the server's own origin, so another site's page open in the same browser
cannot drive the dashboard even if it guessed the port.
"""

from __future__ import annotations

import hmac
import secrets
from collections.abc import Mapping
from dataclasses import dataclass
from urllib.parse import urlencode

from exmado_tui.config.settings import Secret

TOKEN_PARAM = "token"


def fresh_token() -> Secret:
    return Secret(secrets.token_urlsafe(32))


@dataclass(frozen=True)
class Gate:
    token: Secret
    host: str
    port: int

    @property
    def origin(self) -> str:
        """The only origin whose pages may open the websocket or upload."""
        return f"http://{self.host}:{self.port}"

    @property
    def cookie(self) -> str:
        """The cookie's name: a browser shares cookies across ports, so each port has its own."""
        return f"exmado-serve-{self.port}"

    def address(self, *, with_token: bool) -> str:
        """The address to open; the token in it only for a terminal, never for a log file."""
        query = f"?{urlencode({TOKEN_PARAM: self.token.reveal()})}" if with_token else ""
        return f"{self.origin}/{query}"

    def admits(self, presented: str | None) -> bool:
        """`presented` is the token; compared in constant time, so timing tells nothing."""
        if not presented:
            return False
        return hmac.compare_digest(presented.encode(), self.token.reveal().encode())

    def signed_in(self, cookies: Mapping[str, str]) -> bool:
        return self.admits(cookies.get(self.cookie))

    def same_origin(self, headers: Mapping[str, str]) -> bool:
        """A browser always sends Origin with a websocket or a form post; a page of another
        site sends its own, which is refused here."""
        return headers.get("Origin") == self.origin
