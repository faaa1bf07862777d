"""Response shapes: handlers build odata=verbose payloads (entities, collections, function
results); `shape` turns them into JSON light (nometadata, minimalmetadata) when the request's
Accept header asks for it, as SharePoint Online does."""

from __future__ import annotations

import json
from dataclasses import dataclass, field
from datetime import datetime, timezone


def iso(dt: datetime) -> str:
    return dt.astimezone(timezone.utc).strftime("%Y-%m-%dT%H:%M:%SZ")


def now() -> datetime:
    return datetime.now(timezone.utc).replace(microsecond=0)


def meta(uri: str, type_: str, etag: str | None = None, id_: str | None = None) -> dict:
    m = {"id": id_ or uri, "uri": uri, "type": type_}
    if etag is not None:
        m["etag"] = etag
    return m


def entity(body: dict) -> dict:
    return {"d": body}


def collection(results: list, next_url: str | None = None) -> dict:
    d: dict = {"results": results}
    if next_url:
        d["__next"] = next_url
    return {"d": d}


def function_result(name: str, value) -> dict:
    return {"d": {name: value}}


def string_collection(values) -> dict:
    return {"__metadata": {"type": "Collection(Edm.String)"}, "results": list(values)}


def deferred(uri: str) -> dict:
    return {"__deferred": {"uri": uri}}


def dumps(payload) -> bytes:
    return json.dumps(payload, ensure_ascii=False, separators=(",", ":")).encode("utf-8")


@dataclass
class Response:
    status: int = 200
    payload: object = None  # dict -> JSON; bytes -> raw; None -> empty
    headers: dict = field(default_factory=dict)
    content_type: str = "application/json;odata=verbose;charset=utf-8"


# -- JSON light -------------------------------------------------------------------------
VERBOSE, MINIMAL, NOMETA = "verbose", "minimalmetadata", "nometadata"
CONTENT_TYPES = {
    MINIMAL: "application/json;odata=minimalmetadata;streaming=true;charset=utf-8",
    NOMETA: "application/json;odata=nometadata;streaming=true;charset=utf-8",
}


def wanted_format(accept: str | None) -> str:
    """odata=verbose when asked (or for no JSON preference: the emulator does not speak Atom);
    JSON light for `application/json;odata=nometadata|minimalmetadata|fullmetadata` and for a
    plain `application/json`, which SharePoint Online answers in minimal metadata."""
    a = (accept or "").lower().replace(" ", "")
    if "odata=verbose" in a or "application/json" not in a:
        return VERBOSE
    if "odata=nometadata" in a or "odata.metadata=none" in a:
        return NOMETA
    return MINIMAL


def shape(resp: "Response", accept: str | None, service: str = "") -> "Response":
    fmt = wanted_format(accept)
    if fmt == VERBOSE or not isinstance(resp.payload, dict) or "json" not in resp.content_type:
        return resp
    body = resp.payload
    if "error" in body and len(body) == 1:
        out = {"odata.error": body["error"]}
    elif "d" in body:
        out = _top(body["d"], fmt, service)
    else:
        return resp
    return Response(resp.status, out, resp.headers, CONTENT_TYPES[fmt])


def _top(d, fmt: str, service: str) -> dict:
    if isinstance(d, dict) and "__metadata" in d:
        return _entity(d, fmt, service, top=True)
    if isinstance(d, dict) and "results" in d and "__metadata" not in d:
        out = {"odata.metadata": f"{service}/$metadata"} if fmt == MINIMAL else {}
        out["value"] = [_value(x, fmt, service) for x in d["results"]]
        if d.get("__next"):
            out["odata.nextLink"] = d["__next"]
        return out
    if isinstance(d, dict) and len(d) == 1:  # a function's result: {"Name": value}
        (value,) = d.values()
        if isinstance(value, dict) and "__metadata" in value and "results" not in value:
            return _entity(value, fmt, service, top=True)  # a complex value: its properties
        out = {"odata.metadata": f"{service}/$metadata"} if fmt == MINIMAL else {}
        out["value"] = _value(value, fmt, service)
        return out
    return {"value": _value(d, fmt, service)}


def _entity(d: dict, fmt: str, service: str, top: bool = False) -> dict:
    m = d.get("__metadata") or {}
    out: dict = {}
    if fmt == MINIMAL:
        if top:
            out["odata.metadata"] = f"{service}/$metadata#{m.get('type', '')}"
        if m.get("type"):
            out["odata.type"] = m["type"]
        if m.get("id"):
            out["odata.id"] = m["id"]
        if m.get("uri"):
            out["odata.editLink"] = m["uri"].split("/_api/", 1)[-1]
        if m.get("etag"):
            out["odata.etag"] = m["etag"]
    for k, v in d.items():
        if k == "__metadata" or (isinstance(v, dict) and "__deferred" in v):
            continue  # JSON light leaves navigation links out: they are computed from the type
        out[k] = _value(v, fmt, service)
    return out


def _value(v, fmt: str, service: str):
    if isinstance(v, list):
        return [_value(x, fmt, service) for x in v]
    if not isinstance(v, dict):
        return v
    if "results" in v and set(v) <= {"results", "__metadata", "__next"}:  # collection value or expansion
        return [_value(x, fmt, service) for x in v["results"]]
    if "__metadata" in v:
        return _entity(v, fmt, service)
    return {k: _value(x, fmt, service) for k, x in v.items()}
