"""Signing in to the sandbox as its demo user, for tests that speak HTTP to it themselves."""

from __future__ import annotations

import httpx

TOKEN_PATH = "/DocuWare/Identity/connect/token"
PLATFORM_CLIENT_ID = "docuware.platform.net.client"


def password_grant(**changes: str) -> dict[str, str]:
    """The token request's form for demo/demo; `changes` replace or add fields."""
    form = {
        "grant_type": "password",
        "client_id": PLATFORM_CLIENT_ID,
        "scope": "docuware.platform",
        "username": "demo",
        "password": "demo",
    }
    return {**form, **changes}


def sandbox_token(base_url: str, username: str = "demo", password: str = "demo") -> str:
    """An OAuth access token from the sandbox at `base_url`."""
    grant = password_grant(username=username, password=password)
    response = httpx.post(f"{base_url}{TOKEN_PATH}", data=grant)
    response.raise_for_status()
    return str(response.json()["access_token"])


def signed_in_client(base_url: str) -> httpx.Client:
    """An httpx.Client on the sandbox, signed in as demo with a bearer token, asking for JSON."""
    headers = {"Authorization": f"Bearer {sandbox_token(base_url)}", "Accept": "application/json"}
    return httpx.Client(base_url=base_url, headers=headers, timeout=10)
