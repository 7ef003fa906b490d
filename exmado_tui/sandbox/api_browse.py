"""Navigation endpoints: organizations, file cabinets (and the basket), dialogs."""

from __future__ import annotations

from exmado_tui.sandbox import schema, views
from exmado_tui.sandbox.state import State
from exmado_tui.sandbox.wire import HttpError, Request, Response, json_response


def organizations(state: State, req: Request) -> Response:
    """GET Organizations."""
    return json_response({"Organization": [views.organization(state.config)]})


def organization(state: State, req: Request) -> Response:
    """GET Organizations/{org}."""
    _require_org(state, req.params["org"])
    return json_response(views.organization(state.config, full=True))


def file_cabinets(state: State, req: Request) -> Response:
    """GET FileCabinets[?orgid=]: cabinets and the basket."""
    org = req.query.get("orgid")
    if org:
        _require_org(state, org)
    items = [views.cabinet(c) for c in schema.CABINETS] + [views.basket()]
    return json_response({"FileCabinet": items})


def file_cabinet(state: State, req: Request) -> Response:
    """GET FileCabinets/{fc}: the cabinet with its Fields (or the basket)."""
    fc = req.params["fc"]
    if fc.lower() == schema.BASKET_ID.lower():
        return json_response(views.basket(full=True))
    return json_response(views.cabinet(require_cabinet(fc), full=True))


def dialogs(state: State, req: Request) -> Response:
    """GET FileCabinets/{fc}/Dialogs[?dialogType=Search]."""
    cab = require_cabinet(req.params["fc"])
    kind = req.query.get("dialogtype", "")
    found = [d for d in cab.dialogs if not kind or d.type.lower() == kind.lower()]
    return json_response({"Dialog": [views.dialog_info(cab, d) for d in found]})


def dialog(state: State, req: Request) -> Response:
    """GET FileCabinets/{fc}/Dialogs/{dialog}: the full dialog."""
    cab = require_cabinet(req.params["fc"])
    found = cab.dialog(req.params["dialog"])
    if found is None:
        raise HttpError(
            404, f"Dialog '{req.params['dialog']}' not found in file cabinet '{cab.name}'."
        )
    return json_response(views.dialog(cab, found))


def require_cabinet(cabinet_id: str, status: int = 404) -> schema.CabinetDef:
    """The cabinet or an HttpError (404 for GET by id, 422 for searches)."""
    cab = schema.cabinet(cabinet_id)
    if cab is None:
        message = (
            f"'{cabinet_id}' is not valid cabinet id."
            if status == 422
            else f"File cabinet '{cabinet_id}' not found."
        )
        raise HttpError(status, message)
    return cab


def _require_org(state: State, org: str) -> None:
    if org.lower() not in (schema.ORG_ID, schema.ORG_GUID, state.config.organization.lower()):
        raise HttpError(404, f"Organization '{org}' not found.")
