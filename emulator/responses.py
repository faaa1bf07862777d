"""odata=verbose formatting: entities, collections, function results."""
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
    payload: object = None          # dict -> JSON; bytes -> raw; None -> empty
    headers: dict = field(default_factory=dict)
    content_type: str = "application/json;odata=verbose;charset=utf-8"
