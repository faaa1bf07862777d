"""CAML queries (views and `GetItems`): the part of the language list views are made of.

Supported: `<Where>` with And/Or, Eq/Neq/Gt/Geq/Lt/Leq, IsNull/IsNotNull, Contains/BeginsWith,
In; `<Value>` with `<Today OffsetDays=n/>` and `<UserID/>` ([Me]); `LookupId="TRUE"`;
`<OrderBy>`; `<GroupBy>` (groups sort first, as SharePoint returns them); `<RowLimit>`.
Anything else answers 501 naming the element, never a silently wrong result."""

from __future__ import annotations

import xml.etree.ElementTree as ET
from dataclasses import dataclass, field
from datetime import date, datetime, timedelta

from emulator import errors

_COMPARE = {"Eq", "Neq", "Gt", "Geq", "Lt", "Leq"}


@dataclass
class Query:
    where: ET.Element | None = None
    order: list[tuple[str, bool]] = field(default_factory=list)  # (field, descending)
    group: list[str] = field(default_factory=list)
    row_limit: int | None = None
    fields: list[str] = field(default_factory=list)

    def referenced(self) -> set[str]:
        names = {n for n, _ in self.order} | set(self.group)
        if self.where is not None:
            names |= {el.get("Name") for el in self.where.iter("FieldRef") if el.get("Name")}
        return names


def parse(text: str) -> Query:
    """A `<View>` document or a bare view query (`<Where>…</Where><OrderBy>…`)."""
    text = (text or "").strip()
    try:
        root = ET.fromstring(f"<Root>{text}</Root>")
    except ET.ParseError as e:
        raise errors.bad_request(f"The CAML query is not valid XML: {e}")
    view = root.find("View")
    if view is not None:
        query = view.find("Query")
        q = _query(query if query is not None else ET.Element("Query"))
        rl = view.find("RowLimit")
        if rl is not None and (rl.text or "").strip():
            q.row_limit = int(rl.text.strip())
        vf = view.find("ViewFields")
        q.fields = [el.get("Name") for el in (vf if vf is not None else []) if el.get("Name")]
        for child in view:
            if child.tag not in ("Query", "RowLimit", "ViewFields", "QueryOptions", "Aggregations"):
                raise errors.caml_not_supported(child.tag)
        return q
    query = root.find("Query")
    return _query(query if query is not None else root)


def _query(el: ET.Element) -> Query:
    q = Query()
    for child in el:
        if child.tag == "Where":
            if len(child) != 1:
                raise errors.bad_request("A CAML <Where> holds exactly one condition.")
            _check(child[0])
            q.where = child[0]
        elif child.tag == "OrderBy":
            q.order = [(f.get("Name"), (f.get("Ascending") or "TRUE").upper() == "FALSE") for f in child]
        elif child.tag == "GroupBy":
            q.group = [f.get("Name") for f in child]
        else:
            raise errors.caml_not_supported(child.tag)
    return q


def _check(node: ET.Element) -> None:
    tag = node.tag
    if tag in ("And", "Or"):
        if len(node) != 2:
            raise errors.bad_request(f"A CAML <{tag}> holds exactly two conditions.")
        for c in node:
            _check(c)
    elif tag in _COMPARE | {"Contains", "BeginsWith", "IsNull", "IsNotNull", "In"}:
        if node.find("FieldRef") is None:
            raise errors.bad_request(f"A CAML <{tag}> needs a <FieldRef>.")
    else:
        raise errors.caml_not_supported(tag)


@dataclass
class Context:
    """What a comparison needs: the item's value per field name, the field's kind, the user."""

    value: callable  # (name, lookup_id: bool) -> stored value
    kind: callable  # name -> SharePoint kind
    user_id: int
    today: date


def matches(q: Query, ctx: Context) -> bool:
    return q.where is None or _eval(q.where, ctx)


def _eval(node: ET.Element, ctx: Context) -> bool:
    tag = node.tag
    if tag == "And":
        return _eval(node[0], ctx) and _eval(node[1], ctx)
    if tag == "Or":
        return _eval(node[0], ctx) or _eval(node[1], ctx)
    ref = node.find("FieldRef")
    name = ref.get("Name")
    lookup_id = (ref.get("LookupId") or "").upper() == "TRUE"
    kind = ctx.kind(name)
    actual = _norm(ctx.value(name, lookup_id), kind, lookup_id)
    if tag == "IsNull":
        return actual in (None, "")
    if tag == "IsNotNull":
        return actual not in (None, "")
    if tag == "In":
        values = node.find("Values")
        wanted = [_literal(v, kind, lookup_id, ctx) for v in (values if values is not None else [])]
        return actual in wanted
    value_el = node.find("Value")
    if value_el is None:
        raise errors.bad_request(f"A CAML <{tag}> needs a <Value>.")
    wanted = _literal(value_el, kind, lookup_id, ctx)
    if actual in (None, ""):
        return tag == "Neq" and wanted not in (None, "")
    if tag == "Contains":
        return str(wanted).lower() in str(actual).lower()
    if tag == "BeginsWith":
        return str(actual).lower().startswith(str(wanted).lower())
    try:
        return {
            "Eq": actual == wanted,
            "Neq": actual != wanted,
            "Gt": actual > wanted,
            "Geq": actual >= wanted,
            "Lt": actual < wanted,
            "Leq": actual <= wanted,
        }[tag]
    except TypeError:
        return False


def _norm(v, kind: str, lookup_id: bool):
    """Stored value -> comparable: text case-insensitive (SQL collation), numbers as floats,
    dates as dates, lookups/persons by id."""
    if v is None:
        return None
    if kind in ("Number", "Currency", "Integer", "Counter"):
        return float(v)
    if kind == "DateTime":
        return datetime.fromisoformat(str(v).replace("Z", "+00:00")).date()
    if kind == "Boolean":
        return bool(v)
    if kind in ("Lookup", "User"):
        return v
    if kind == "URL":
        return (v.get("Url") or "").lower() if isinstance(v, dict) else str(v).lower()
    if isinstance(v, list):
        return [str(x).lower() for x in v]
    return str(v).lower()


def _literal(el: ET.Element, kind: str, lookup_id: bool, ctx: Context):
    special = list(el)
    if special:
        s = special[0]
        if s.tag == "UserID":
            return ctx.user_id
        if s.tag == "Today":
            return ctx.today + timedelta(days=int(s.get("OffsetDays") or s.get("Offset") or 0))
        raise errors.caml_not_supported(s.tag)
    text = (el.text or "").strip()
    vtype = el.get("Type") or ""
    if kind in ("Lookup", "User"):
        if lookup_id or vtype in ("Integer", "Counter", "Lookup"):
            return int(text) if text.lstrip("-").isdigit() else None
        raise errors.caml_not_supported('Lookup/User comparison by text (use LookupId="TRUE")')
    if kind in ("Number", "Currency", "Integer", "Counter"):
        try:
            return float(text.replace(",", "."))
        except ValueError:
            raise errors.bad_request(f"The CAML value « {text} » is not a number.")
    if kind == "DateTime":
        try:
            return datetime.fromisoformat(text.replace("Z", "+00:00")).date()
        except ValueError:
            raise errors.bad_request(f"The CAML value « {text} » is not a date.")
    if kind == "Boolean":
        return text in ("1", "TRUE", "true")
    return text.lower()


def sort(rows: list, q: Query, ctx_for) -> list:
    """Group fields first, then OrderBy; empty values first ascending, as SharePoint sorts."""
    keys = [(n, False) for n in q.group] + list(q.order)
    for name, desc in reversed(keys):

        def key(item, name=name):
            c = ctx_for(item)
            v = _norm(c.value(name, False), c.kind(name), False)
            return (v is not None, v if v is not None else 0)

        rows = sorted(rows, key=key, reverse=desc)
    return rows
