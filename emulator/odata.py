"""OData query options on list items: $filter (parse + evaluate), $orderby, $select/$expand."""

from __future__ import annotations

import re
from datetime import datetime, timezone
from urllib.parse import unquote_plus

from emulator import errors

_TOKEN = re.compile(
    r"""\s*(?:
    (?P<str>'(?:[^']|'')*')
  | (?P<dt>datetime'[^']*')
  | (?P<num>-?\d+(?:\.\d+)?(?:[mMdDlL])?)(?![\w/])
  | (?P<op>\(|\)|,)
  | (?P<name>[A-Za-z_][\w]*(?:/[A-Za-z_][\w]*)?)
)""",
    re.X,
)
COMPARISONS = {"eq", "ne", "gt", "ge", "lt", "le"}
FUNCTIONS = {"startswith", "substringof", "endswith"}


def parse_query(qs: str) -> dict:
    """A query string as SharePoint reads it, in one place: « + » is a space (URLSearchParams,
    PnPjs), then percent-decoding; the request's query, a $batch part's and a paging token's."""
    out = {}
    for part in qs.split("&") if qs else []:
        if not part:
            continue
        k, _, v = part.partition("=")
        out[unquote_plus(k)] = unquote_plus(v)
    return out


def _tokens(text: str) -> list[tuple[str, str]]:
    out, pos = [], 0
    text = text.strip()
    while pos < len(text):
        m = _TOKEN.match(text, pos)
        if not m or m.end() == pos:
            raise errors.bad_request(f'The expression "{text}" is not valid (at position {pos}).')
        kind = m.lastgroup
        out.append((kind, m.group(kind)))
        pos = m.end()
        while pos < len(text) and text[pos].isspace():
            pos += 1
    return out


def parse_datetime(s: str) -> datetime:
    s = s.strip()
    if s.endswith("Z"):
        s = s[:-1] + "+00:00"
    dt = datetime.fromisoformat(s)
    if dt.tzinfo is None:
        dt = dt.replace(tzinfo=timezone.utc)
    return dt.astimezone(timezone.utc)


class _Parser:
    def __init__(self, text: str):
        self.text = text
        self.toks = _tokens(text)
        self.i = 0

    def peek(self):
        return self.toks[self.i] if self.i < len(self.toks) else (None, None)

    def take(self, value=None):
        tok = self.peek()
        if tok[0] is None or (value is not None and tok[1].lower() != value):
            raise errors.bad_request(f'Syntax error in $filter "{self.text}": expected {value or "more"}.')
        self.i += 1
        return tok

    def parse(self):
        node = self.or_()
        if self.i != len(self.toks):
            raise errors.bad_request(f"Syntax error in $filter \"{self.text}\" near '{self.peek()[1]}'.")
        return node

    def or_(self):
        node = self.and_()
        while self.peek()[0] == "name" and self.peek()[1].lower() == "or":
            self.take()
            node = ("or", node, self.and_())
        return node

    def and_(self):
        node = self.not_()
        while self.peek()[0] == "name" and self.peek()[1].lower() == "and":
            self.take()
            node = ("and", node, self.not_())
        return node

    def not_(self):
        if self.peek()[0] == "name" and self.peek()[1].lower() == "not":
            self.take()
            return ("not", self.not_())
        return self.comparison()

    def comparison(self):
        if self.peek() == ("op", "("):
            self.take()
            node = self.or_()
            self.take(")")
            return node
        left = self.operand()
        kind, val = self.peek()
        if kind == "name" and val.lower() in COMPARISONS:
            self.take()
            return ("cmp", val.lower(), left, self.operand())
        if left[0] == "call":
            return left
        raise errors.bad_request(f'Syntax error in $filter "{self.text}": a comparison is expected.')

    def operand(self):
        kind, val = self.take()
        if kind == "str":
            return ("lit", val[1:-1].replace("''", "'"))
        if kind == "dt":
            try:
                return ("lit", parse_datetime(val[9:-1]))
            except ValueError:
                raise errors.bad_request(f"Invalid datetime literal {val}.")
        if kind == "num":
            v = val.rstrip("mMdDlL")
            return ("lit", float(v) if "." in v else int(v))
        if kind == "name":
            low = val.lower()
            if low in ("true", "false"):
                return ("lit", low == "true")
            if low == "null":
                return ("lit", None)
            if low in FUNCTIONS and self.peek() == ("op", "("):
                self.take()
                a = self.operand()
                self.take(",")
                b = self.operand()
                self.take(")")
                return ("call", low, a, b)
            if self.peek() == ("op", "("):
                raise errors.SPError(
                    501,
                    "-1",
                    "System.NotImplementedException",
                    f"The $filter function '{val}' is not supported by the emulator.",
                )
            return ("ref", val)
        raise errors.bad_request(f"Syntax error in $filter \"{self.text}\" near '{val}'.")


def parse_filter(text: str):
    return _Parser(text).parse()


def referenced_fields(node) -> set[str]:
    """Root names of the fields a filter uses (for the list view threshold check)."""
    if node[0] == "ref":
        return {node[1].split("/")[0]}
    out: set[str] = set()
    for child in node[1:]:
        if isinstance(child, tuple):
            out |= referenced_fields(child)
    return out


def _norm(v):
    if isinstance(v, str):
        if re.match(r"^\d{4}-\d{2}-\d{2}T", v):
            try:
                return parse_datetime(v)
            except ValueError:
                pass
        return v.casefold()
    if isinstance(v, bool):
        return v
    if isinstance(v, int):
        return float(v)
    return v


def _compare(op: str, a, b) -> bool:
    a, b = _norm(a), _norm(b)
    if op == "eq":
        return a == b
    if op == "ne":
        return a != b
    if a is None or b is None:
        return False
    try:
        return {"gt": a > b, "ge": a >= b, "lt": a < b, "le": a <= b}[op]
    except TypeError:
        return False


def evaluate(node, resolve) -> bool:
    """`resolve(path)` returns the item's value for a field reference."""
    tag = node[0]
    if tag == "or":
        return evaluate(node[1], resolve) or evaluate(node[2], resolve)
    if tag == "and":
        return evaluate(node[1], resolve) and evaluate(node[2], resolve)
    if tag == "not":
        return not evaluate(node[1], resolve)
    if tag == "cmp":
        return _compare(node[1], _value(node[2], resolve), _value(node[3], resolve))
    if tag == "call":
        a, b = _value(node[2], resolve), _value(node[3], resolve)
        if node[1] == "substringof":
            return isinstance(b, str) and isinstance(a, str) and a.casefold() in b.casefold()
        if node[1] == "startswith":
            return isinstance(a, str) and isinstance(b, str) and a.casefold().startswith(b.casefold())
        return isinstance(a, str) and isinstance(b, str) and a.casefold().endswith(b.casefold())
    raise errors.bad_request("Invalid $filter.")


def _value(node, resolve):
    if node[0] == "lit":
        return node[1]
    if node[0] == "ref":
        return resolve(node[1])
    if node[0] == "call":
        return evaluate(node, resolve)
    raise errors.bad_request("Invalid $filter operand.")


def parse_orderby(text: str) -> list[tuple[str, bool]]:
    """[(field, descending)]"""
    out = []
    for part in [p.strip() for p in text.split(",") if p.strip()]:
        bits = part.split()
        desc = len(bits) > 1 and bits[1].lower() == "desc"
        out.append((bits[0], desc))
    return out


def split_list(text: str | None) -> list[str]:
    return [p.strip() for p in (text or "").split(",") if p.strip()]
