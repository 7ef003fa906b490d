"""Sandbox-only admin endpoints: read/switch faults, read/reset request statistics."""

from __future__ import annotations

from exmado_tui.sandbox.state import State
from exmado_tui.sandbox.wire import HttpError, Request, Response, json_response


def get_faults(state: State, req: Request) -> Response:
    """GET /_sandbox/faults."""
    return json_response(state.faults.snapshot())


def set_faults(state: State, req: Request) -> Response:
    """POST /_sandbox/faults with any of the fields of `FaultSettings`, or expire_tokens: true."""
    body = req.json()
    if not isinstance(body, dict):
        raise HttpError(400, "Expected a JSON object with the faults to change.")
    try:
        return json_response(state.faults.update(**body))
    except (TypeError, ValueError) as exc:
        raise HttpError(400, str(exc)) from exc


def get_stats(state: State, req: Request) -> Response:
    """GET /_sandbox/stats: request counts per endpoint and status, downloads per document."""
    return json_response(state.stats.snapshot())


def reset_stats(state: State, req: Request) -> Response:
    """DELETE /_sandbox/stats."""
    state.stats.reset()
    return json_response(state.stats.snapshot())
