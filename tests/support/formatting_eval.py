"""A small evaluator of SharePoint column-formatting expressions (the Excel-style `=…` strings
and operator/operands objects copil generates), so tests check what a cell shows at exact
thresholds. Unknown functions raise: the test fails instead of SharePoint rendering nothing."""

from __future__ import annotations

import math
import re

FUNCTIONS = {
    "if",
    "floor",
    "ceiling",
    "abs",
    "toString",
    "Number",
    "length",
    "split",
    "join",
    "indexOf",
    "toLowerCase",
    "toUpperCase",
    "substring",
    "trim",
    "pow",
}
_TOKEN = re.compile(
    r"\s*(?:(?P<num>\d+(?:\.\d+)?)|(?P<str>'[^']*')|(?P<field>@currentField|\[\$\w+\])"
    r"|(?P<name>[A-Za-z_]\w*)|(?P<op>==|!=|>=|<=|&&|\|\||[-+*/<>(),?:%]))"
)


def tokens(text: str) -> list[tuple[str, str]]:
    out, pos = [], 0
    text = text.strip()
    while pos < len(text):
        m = _TOKEN.match(text, pos)
        if not m or m.end() == pos:
            raise ValueError(f"unexpected text at {pos}: {text[pos : pos + 20]!r}")
        kind = m.lastgroup
        out.append((kind, m.group(kind)))
        pos = m.end()
    return out


class _Parser:
    PREC = {
        "||": 1,
        "&&": 2,
        "==": 3,
        "!=": 3,
        "<": 4,
        ">": 4,
        "<=": 4,
        ">=": 4,
        "+": 5,
        "-": 5,
        "*": 6,
        "/": 6,
        "%": 6,
    }

    def __init__(self, toks, value):
        self.t, self.i, self.value = toks, 0, value

    def peek(self):
        return self.t[self.i] if self.i < len(self.t) else (None, None)

    def take(self, want=None):
        tok = self.peek()
        if want and tok[1] != want:
            raise ValueError(f"expected {want}, got {tok}")
        self.i += 1
        return tok

    def expr(self, min_prec=0):
        left = self.atom()
        while True:
            kind, op = self.peek()
            if kind != "op" or op not in self.PREC or self.PREC[op] < min_prec:
                return left
            self.take()
            right = self.expr(self.PREC[op] + 1)
            left = binary(op, left, right)

    def atom(self):
        kind, tok = self.take()
        if kind == "num":
            return float(tok)
        if kind == "str":
            return tok[1:-1]
        if kind == "field":
            return self.value
        if kind == "op" and tok == "(":
            v = self.expr()
            self.take(")")
            return v
        if kind == "op" and tok == "-":
            return -self.atom()
        if kind == "name":
            if tok in ("true", "false"):
                return tok == "true"
            if tok not in FUNCTIONS:
                raise ValueError(f"unknown function {tok}()")
            self.take("(")
            args = []
            if self.peek()[1] != ")":
                args.append(self.expr())
                while self.peek()[1] == ",":
                    self.take()
                    args.append(self.expr())
            self.take(")")
            return call(tok, args)
        raise ValueError(f"unexpected token {tok!r}")


def _as_number(v):  # SharePoint formatting's coercion: "" is 0 (not copil's notion of missing)
    if v == "" or v is None:
        return 0.0
    return float(v) if not isinstance(v, bool) else float(v)


def _text(v):
    if isinstance(v, float) and v.is_integer():
        return str(int(v))
    return "" if v is None else str(v)


def binary(op, a, b):
    if op == "+":
        if isinstance(a, str) or isinstance(b, str):
            return _text(a) + _text(b)
        return _as_number(a) + _as_number(b)
    if op in ("-", "*", "/", "%"):
        a, b = _as_number(a), _as_number(b)
        return {"-": a - b, "*": a * b, "/": a / b if b else math.inf, "%": a % b if b else math.nan}[op]
    if op in ("==", "!="):
        eq = (_text(a) == _text(b)) if (isinstance(a, str) or isinstance(b, str)) else (a == b)
        return eq if op == "==" else not eq
    if op in ("&&", "||"):
        return (bool(a) and bool(b)) if op == "&&" else (bool(a) or bool(b))
    a, b = _as_number(a), _as_number(b)  # SharePoint compares an empty number as 0
    return {"<": a < b, ">": a > b, "<=": a <= b, ">=": a >= b}[op]


def call(name, args):
    if name == "if":
        return args[1] if args[0] else args[2]
    if name == "floor":
        return float(math.floor(_as_number(args[0])))
    if name == "ceiling":
        return float(math.ceil(_as_number(args[0])))
    if name == "abs":
        return abs(_as_number(args[0]))
    if name == "toString":
        return _text(args[0])
    if name == "Number":
        return _as_number(args[0])
    if name == "length":
        return float(len(args[0]))
    if name == "split":
        return str(args[0]).split(args[1])
    raise ValueError(f"{name}() not evaluated by the test evaluator")


def evaluate(expr, value):
    """The value an expression gives for a cell holding `value` ("" when empty)."""
    if isinstance(expr, dict):
        op, ops = expr["operator"], [evaluate(o, value) for o in expr["operands"]]
        if op == "?":
            return ops[1] if ops[0] else ops[2]
        if op in _Parser.PREC:
            return binary(op, ops[0], ops[1])
        return call(op, ops)
    if isinstance(expr, str):
        if expr == "@currentField":
            return value
        if expr.startswith("="):
            p = _Parser(tokens(expr[1:]), value)
            out = p.expr()
            if p.i != len(p.t):
                raise ValueError(f"trailing tokens in {expr!r}")
            return out
    return expr


def render(element: dict, value) -> dict:
    """Each element's evaluated style, attributes and text, depth first: what SharePoint draws."""
    out = {
        "style": {k: evaluate(v, value) for k, v in (element.get("style") or {}).items()},
        "attributes": {k: evaluate(v, value) for k, v in (element.get("attributes") or {}).items()},
        "text": evaluate(element["txtContent"], value) if "txtContent" in element else None,
        "children": [render(c, value) for c in element.get("children") or []],
    }
    return out


def visible_text(tree: dict) -> str:
    if tree["style"].get("display") == "none":
        return ""
    return (_text(tree["text"]) if tree["text"] is not None else "") + "".join(
        visible_text(c) for c in tree["children"]
    )


def walk(tree: dict):
    yield tree
    for c in tree["children"]:
        yield from walk(c)
