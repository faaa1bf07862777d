"""Routes: list fields (read, create every type the connector needs, rename, index, delete)."""

from __future__ import annotations

import re
import xml.etree.ElementTree as ET

from emulator import changelog, errors
from emulator.models import KIND_BY_NUMBER, Field
from emulator.responses import Response, collection, entity, meta, string_collection
from emulator.routing import Target, handler, nav


def entity_property_name(f: Field) -> str:
    """Names starting with an underscore get SharePoint's OData_ prefix on the wire."""
    return ("OData_" + f.internal_name) if f.internal_name.startswith("_") else f.internal_name


def wire_name(f: Field) -> str:
    n = entity_property_name(f)
    return n + "Id" if f.kind in ("Lookup", "User") else n


@nav("list", "fields")
def _fields(t, seg):
    fields = Target("fields", t.obj, t)
    if seg.args:
        return _by_id(fields, seg)
    return fields


@nav("fields", "getbytitle")
def _by_title(t, seg):
    return Target("field", t.obj.field_by_title(str(seg.arg())), t)


@nav("fields", "getbyinternalnameortitle")
def _by_name(t, seg):
    f = t.obj.field(str(seg.arg()), missing_ok=True)
    if f is None:
        raise errors.bad_request(
            f"Column '{seg.arg()}' does not exist. It may have been deleted by another user.",
            "-2147024809",
            "System.ArgumentException",
        )
    return Target("field", f, t)


@nav("fields", "getbyid")
def _by_id(t, seg):
    key = str(seg.arg()).strip("{}").lower()
    for f in t.obj.fields.values():
        if f.id == key:
            return Target("field", f, t)
    raise errors.bad_request("Invalid field id.", "-2147024809", "System.ArgumentException")


@nav("fields", "addfield")
def _addfield(t, seg):
    return Target("op:addfield", t.obj, t)


@nav("fields", "createfieldasxml")
def _asxml(t, seg):
    return Target("op:createfieldasxml", t.obj, t)


def field_json(ctx, lst, f: Field) -> dict:
    uri = ctx.api(f"Web/Lists(guid'{lst.id}')/Fields(guid'{f.id}')")
    kind_type = {
        "Text": "SP.FieldText",
        "Note": "SP.FieldMultiLineText",
        "Number": "SP.FieldNumber",
        "Currency": "SP.FieldCurrency",
        "DateTime": "SP.FieldDateTime",
        "Choice": "SP.FieldChoice",
        "MultiChoice": "SP.FieldMultiChoice",
        "Boolean": "SP.Field",
        "Lookup": "SP.FieldLookup",
        "User": "SP.FieldUser",
        "URL": "SP.FieldUrl",
    }.get(f.kind, "SP.Field")
    d = {
        "__metadata": meta(uri, kind_type),
        "Id": f.id,
        "Title": f.title,
        "InternalName": f.internal_name,
        "StaticName": f.internal_name,
        "EntityPropertyName": entity_property_name(f),
        "TypeAsString": f.kind,
        "FieldTypeKind": f.kind_number,
        "Indexed": f.indexed,
        "Hidden": f.hidden,
        "ReadOnlyField": f.read_only,
        "Required": False,
        "CanBeDeleted": not f.builtin,
        "FromBaseType": f.builtin,
        "Sealed": f.builtin,
        "CustomFormatter": f.custom_formatter or None,
    }
    if f.kind in ("Choice", "MultiChoice"):
        d["Choices"] = string_collection(f.choices)
    if f.kind in ("Lookup", "User"):
        d["LookupList"] = (
            "{" + f.lookup_list_id + "}" if f.lookup_list_id else ("" if f.kind == "Lookup" else "UserInfo")
        )
        d["LookupField"] = f.lookup_field if f.kind == "Lookup" else "ImnName"
        d["AllowMultipleValues"] = False
    return d


@handler("fields", "GET")
def fields_get(ctx, t):
    out = [field_json(ctx, t.obj, f) for f in t.obj.fields.values()]
    flt = ctx.query.get("$filter")
    if flt:  # the common provisioning filters: Hidden eq false, InternalName eq 'x', Title eq 'x'
        m = re.fullmatch(r"\s*(\w+)\s+eq\s+('(?:[^']|'')*'|true|false)\s*", flt)
        if not m:
            raise errors.not_implemented("GET", "fields?$filter=" + flt)
        key, raw = m.group(1), m.group(2)
        val = raw[1:-1].replace("''", "'") if raw.startswith("'") else raw == "true"
        out = [
            d
            for d in out
            if (
                d.get(key).lower() == val.lower()
                if isinstance(val, str) and isinstance(d.get(key), str)
                else d.get(key) == val
            )
        ]
    return collection(out)


@handler("field", "GET")
def field_get(ctx, t):
    return entity(field_json(ctx, t.parent.obj, t.obj))


def _create(
    ctx, lst, *, title, kind_number=None, kind=None, choices=(), lookup_list=None, indexed=False, internal=None
):
    kind = kind or KIND_BY_NUMBER.get(int(kind_number or 0))
    if kind is None:
        raise errors.bad_request(f"FieldTypeKind {kind_number} is not supported by the emulator.")
    if kind == "Lookup" and lookup_list:
        lookup_list = ctx.site.list_by_id(lookup_list).id
    f = lst.add_field(title, kind, choices=choices, lookup_list_id=lookup_list, indexed=indexed, internal_name=internal)
    return Response(201, entity(field_json(ctx, lst, f)))


def _choices(v):
    if isinstance(v, dict):
        return tuple(v.get("results", []))
    return tuple(v or ())


@handler("fields", "POST", role="manage")
def fields_add(ctx, t):
    b = ctx.json()
    if not b.get("Title"):
        raise errors.bad_request("The field title is required.")
    return _create(
        ctx,
        t.obj,
        title=b["Title"],
        kind_number=b.get("FieldTypeKind"),
        choices=_choices(b.get("Choices")),
        lookup_list=b.get("LookupList"),
        indexed=bool(b.get("Indexed")),
    )


@handler("op:addfield", "POST", role="manage")
def addfield(ctx, t):
    p = ctx.json().get("parameters") or {}
    if not p.get("Title"):
        raise errors.bad_request("The field title is required.")
    return _create(
        ctx,
        t.obj,
        title=p["Title"],
        kind_number=p.get("FieldTypeKind"),
        choices=_choices(p.get("Choices")),
        lookup_list=p.get("LookupListId"),
    )


@handler("op:createfieldasxml", "POST", role="manage")
def createfieldasxml(ctx, t):
    p = ctx.json().get("parameters") or {}
    try:
        el = ET.fromstring(p.get("SchemaXml") or "")
    except ET.ParseError as e:
        raise errors.bad_request(f"Invalid field schema XML: {e}")
    kind = el.get("Type")
    title = el.get("DisplayName") or el.get("Name")
    choices = tuple(c.text or "" for c in el.iter("CHOICE"))
    return _create(
        ctx,
        t.obj,
        title=title,
        kind=kind,
        choices=choices,
        lookup_list=el.get("List"),
        indexed=(el.get("Indexed") or "").upper() == "TRUE",
        internal=el.get("Name") or None,
    )


@handler("field", "MERGE", role="manage")
def field_merge(ctx, t):
    b = {k: v for k, v in ctx.json().items() if k != "__metadata"}
    f = t.obj
    unknown = sorted(k for k in b if k not in ("Title", "Indexed", "Choices", "CustomFormatter"))
    if unknown:  # strict: a property the emulator would drop must not look saved
        raise errors.not_implemented("MERGE", "field property " + ", ".join(unknown))
    if "CustomFormatter" in b:
        if b["CustomFormatter"] is not None and not isinstance(b["CustomFormatter"], str):
            raise errors.bad_request("Cannot convert a primitive value to the expected type 'Edm.String'.")
        f.custom_formatter = b["CustomFormatter"] or ""
    if "Title" in b:  # the internal name never changes on rename
        f.title = str(b["Title"])
    if "Indexed" in b:
        f.indexed = bool(b["Indexed"])
    if "Choices" in b:
        f.choices = _choices(b["Choices"])
    ctx.site.log_change("field", changelog.UPDATE, t.parent.obj.id, field_id=f.id)
    ctx.site.backend.touch()
    return Response(204, None)


@handler("field", "DELETE", role="manage")
def field_delete(ctx, t):
    if t.obj.builtin:
        raise errors.bad_request("You cannot delete a built-in column.")
    lst = t.parent.obj
    lst.fields.pop(t.obj.internal_name, None)
    ctx.site.log_change("field", changelog.DELETE, lst.id, field_id=t.obj.id)
    ctx.site.backend.touch()
    return Response(200, None)
