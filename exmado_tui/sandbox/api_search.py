"""Finding documents: the navigation endpoints (organizations, file cabinets and the basket,
dialogs) and the search endpoints (DialogExpression, DialogExpressionLink, Documents?q=,
paging, counting)."""

from __future__ import annotations

import dataclasses
import time
from collections import Counter
from typing import Any
from urllib.parse import urlencode

from exmado_tui.sandbox import schema, search, wire
from exmado_tui.sandbox.schema import Document
from exmado_tui.sandbox.search import Query, SearchError
from exmado_tui.sandbox.state import State
from exmado_tui.sandbox.wire import HttpError, Request, Response, json_response, link, ms_date


def dialog_expression(state: State, req: Request) -> Response:
    """POST Query/DialogExpression?dialogId=…[&count&start&fields&sortOrder]."""
    cab, query, body = _query_from_body(req)
    count = req.int_param("count", body.get("Count") or search.DEFAULT_COUNT)
    start = req.int_param("start", body.get("Start") or 0)
    return _result(state, req, query, start, count, body.get("CalculateTotalCount", True))


def dialog_expression_link(state: State, req: Request) -> Response:
    """POST Query/DialogExpressionLink: a text/plain relative URL for GET Documents?q=."""
    cab, query, _ = _query_from_body(req)
    params = {"q": search.to_q(query)}
    if query.fields:
        params["fields"] = ",".join(query.fields)
    if query.sort:
        params["sortOrder"] = ",".join(f"{f} {d}" for f, d in query.sort)
    for name in ("count", "start"):
        if req.query.get(name):
            params[name] = req.query[name]
    url = wire.fc_href(cab.id, "/Documents?" + urlencode(params))
    return Response(200, url.encode(), "text/plain; charset=utf-8")


def documents(state: State, req: Request) -> Response:
    """GET FileCabinets/{fc}/Documents[?q&fields&sortOrder&start&count]."""
    cab = require_cabinet(req.params["fc"])
    q = req.query.get("q")
    query = search.from_q(cab, q) if q else Query(cab.id, schema.CUSTOM_DIALOG_ID)
    if q:
        _require_search_dialog(cab, query.dialog_id)
    query = _with_params(cab, req, query)
    count = req.int_param("count", search.DEFAULT_COUNT)
    return _result(state, req, query, req.int_param("start", 0), count, True)


def results(state: State, req: Request) -> Response:
    """GET Query/Results/{token}?start&count — the opaque `next` link of a result."""
    cab = require_cabinet(req.params["fc"])
    query = Query.from_token(req.params["token"])
    if query.cabinet_id != cab.id:
        raise HttpError(404, "This result does not belong to the file cabinet.")
    count = req.int_param("count", search.DEFAULT_COUNT)
    return _result(state, req, query, req.int_param("start", 0), count, True)


def count_expression(state: State, req: Request) -> Response:
    """GET or POST Query/CountExpression?dialogId=…[&fieldName=]: counts, grouped by a field."""
    cab = require_cabinet(req.params["fc"], status=422)
    body = req.json() if req.method == "POST" else None
    body = body if isinstance(body, dict) else {}
    expression = body.get("DialogExpression") or {}
    dialog_id = req.query.get("dialogid") or body.get("DialogId") or schema.CUSTOM_DIALOG_ID
    _require_search_dialog(cab, dialog_id)
    query = search.parse_body(cab, dialog_id, expression)
    docs = state.results.get(state.searcher, query)
    field_name = req.query.get("fieldname") or body.get("FieldName") or ""
    groups = _groups(cab, docs, field_name)
    limit = int(body.get("Limit") or 0)
    return json_response(
        {
            "Group": groups[:limit] if limit > 0 else groups,
            "TimeStamp": ms_date(int(time.time() * 1000)),
            "FileCabinetId": cab.id,
        }
    )


def _groups(cab: schema.CabinetDef, docs: list[Document], field_name: str) -> list[dict[str, Any]]:
    if not field_name:
        return [{"Name": "", "Count": len(docs)}]
    fdef = cab.field(field_name)
    if fdef is None:
        raise SearchError(f"The field '{field_name}' does not exist in file cabinet '{cab.name}'.")
    counts: Counter[str] = Counter()
    for doc in docs:
        value = doc.value(fdef.name)
        for item in value if isinstance(value, list) else [value]:
            counts[_group_name(fdef, item)] += 1
    return [{"Name": name, "Count": n} for name, n in sorted(counts.items())]


def _group_name(fdef: schema.FieldDef, value: Any) -> str:
    if value is None:
        return ""
    if fdef.element in ("Date", "DateTime"):
        return ms_date(value)
    return f"{value:.2f}" if isinstance(value, float) else str(value)


def _query_from_body(req: Request) -> tuple[schema.CabinetDef, Query, dict[str, Any]]:
    cab = require_cabinet(req.params["fc"], status=422)
    dialog_id = req.query.get("dialogid", "")
    _require_search_dialog(cab, dialog_id)
    body = req.json()
    body = body if body is not None else {}
    query = search.parse_body(cab, dialog_id, body)
    return cab, _with_params(cab, req, query), body


def _with_params(cab: schema.CabinetDef, req: Request, query: Query) -> Query:
    extra = [f.strip() for f in req.query.get("fields", "").split(",") if f.strip()]
    fields = tuple(dict.fromkeys(query.fields + tuple(search_field(cab, f) for f in extra)))
    sort_param = req.query.get("sortorder", "")
    sort = search.parse_sort_param(cab, sort_param) if sort_param else query.sort
    return dataclasses.replace(query, fields=fields, sort=sort)


def search_field(cab: schema.CabinetDef, name: str) -> str:
    """The canonical DB name of a field, or SearchError."""
    fdef = cab.field(name)
    if fdef is None:
        raise SearchError(f"The field '{name}' does not exist in file cabinet '{cab.name}'.")
    return fdef.name


def _require_search_dialog(cab: schema.CabinetDef, dialog_id: str) -> None:
    if not dialog_id:
        raise SearchError("The parameter 'dialogId' is required.")
    found = cab.dialog(dialog_id)
    if found is None or found.type != "Search":
        raise SearchError(f"'{dialog_id}' is not a search dialog of file cabinet '{cab.name}'.")


def _result(
    state: State,
    req: Request,
    query: Query,
    start: int | None,
    count: int | None,
    total_wanted: Any,
) -> Response:
    start, count = start or 0, count if count is not None else search.DEFAULT_COUNT
    limit = int(state.faults.now.search_limit)
    if count > limit:
        raise HttpError(422, search.LIMIT_MESSAGE.format(limit=limit), internal_code=1)
    if count < 0 or start < 0:
        raise SearchError("start and count must not be negative.")
    count = count or search.DEFAULT_COUNT
    cab = schema.known_cabinet(query.cabinet_id)
    docs = state.results.get(state.searcher, query)
    page = docs[start : start + count]
    names = list(dict.fromkeys(schema.result_fields(cab) + query.fields))
    total, has_more = len(docs), False
    if total_wanted is False and total > start + count:
        total, has_more = start + count + 1, True
    return json_response(
        {
            "Count": {"Value": total, "HasMore": has_more, "ExceedLimit": False},
            "Items": [wire.document(d, names) for d in page],
            "Links": _page_links(cab, query, start, count, len(docs)),
            "TimeStamp": ms_date(int(time.time() * 1000)),
            "Title": cab.name,
            "FileCabinetId": cab.id,
            "OrganizationGuid": schema.ORG_GUID,
            "LastAccessUser": req.user or "",
        }
    )


def _page_links(
    cab: schema.CabinetDef, query: Query, start: int, count: int, total: int
) -> list[dict[str, str]]:
    base = wire.fc_href(cab.id, f"/Query/Results/{query.to_token()}")
    links = [
        link("self", f"{base}?start={start}&count={count}"),
        link("first", f"{base}?start=0&count={count}"),
    ]
    if start + count < total:
        links.append(link("next", f"{base}?start={start + count}&count={count}"))
    if start > 0:
        links.append(link("prev", f"{base}?start={max(0, start - count)}&count={count}"))
    return links


def organizations(state: State, req: Request) -> Response:
    """GET Organizations."""
    return json_response({"Organization": [wire.organization(state.config)]})


def organization(state: State, req: Request) -> Response:
    """GET Organizations/{org}."""
    _require_org(state, req.params["org"])
    return json_response(wire.organization(state.config, full=True))


def file_cabinets(state: State, req: Request) -> Response:
    """GET FileCabinets[?orgid=]: cabinets and the basket."""
    org = req.query.get("orgid")
    if org:
        _require_org(state, org)
    items = [wire.cabinet(c) for c in schema.CABINETS] + [wire.basket()]
    return json_response({"FileCabinet": items})


def file_cabinet(state: State, req: Request) -> Response:
    """GET FileCabinets/{fc}: the cabinet with its Fields (or the basket)."""
    fc = req.params["fc"]
    if fc.lower() == schema.BASKET_ID.lower():
        return json_response(wire.basket(full=True))
    return json_response(wire.cabinet(require_cabinet(fc), full=True))


def dialogs(state: State, req: Request) -> Response:
    """GET FileCabinets/{fc}/Dialogs[?dialogType=Search]."""
    cab = require_cabinet(req.params["fc"])
    kind = req.query.get("dialogtype", "")
    found = [d for d in cab.dialogs if not kind or d.type.lower() == kind.lower()]
    return json_response({"Dialog": [wire.dialog_info(cab, d) for d in found]})


def dialog(state: State, req: Request) -> Response:
    """GET FileCabinets/{fc}/Dialogs/{dialog}: the full dialog."""
    cab = require_cabinet(req.params["fc"])
    found = cab.dialog(req.params["dialog"])
    if found is None:
        raise HttpError(
            404, f"Dialog '{req.params['dialog']}' not found in file cabinet '{cab.name}'."
        )
    return json_response(wire.dialog(cab, found))


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
