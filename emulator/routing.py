"""Route registry. An `/_api/...` path is walked segment by segment from the service root:
each step is a navigation registered per resource kind (web -> lists -> list -> items -> item),
and the final (kind, method) pair selects the handler. Anything unregistered answers 501."""

from __future__ import annotations

import json
import re
from dataclasses import dataclass, field
from typing import Callable
from urllib.parse import unquote

from emulator import errors

NAV: dict[str, dict[str, Callable]] = {}
HANDLERS: dict[tuple[str, str], tuple[Callable, str]] = {}


def nav(kind: str, *segment_names: str):
    """Register how segment `name` (lower case) is resolved from a resource of `kind`."""

    def deco(fn):
        for n in segment_names:
            NAV.setdefault(kind, {})[n.lower()] = fn
        return fn

    return deco


def handler(kind: str, *methods: str, role: str = "read"):
    """Register the handler of `methods` on a resource of `kind`, with the role it needs."""

    def deco(fn):
        for m in methods:
            HANDLERS[(kind, m)] = (fn, role)
        return fn

    return deco


@dataclass
class Target:
    kind: str
    obj: object = None
    parent: "Target | None" = None
    extra: dict = field(default_factory=dict)

    def up(self, kind: str):
        t = self
        while t is not None and t.kind != kind:
            t = t.parent
        return t.obj if t else None


@dataclass
class Segment:
    name: str
    args: list[tuple[str | None, object]] | None  # None: no parentheses

    def arg(self, key: str | None = None, pos: int = 0, default=None):
        if not self.args:
            return default
        if key is not None:
            for k, v in self.args:
                if k is not None and k.lower() == key.lower():
                    return v
        positional = [v for k, v in self.args if k is None]
        return positional[pos] if len(positional) > pos else default


def _split_outside_quotes(text: str, sep: str) -> list[str]:
    out, buf, quoted, depth = [], [], False, 0
    for ch in text:
        if ch == "'":
            quoted = not quoted  # a doubled '' toggles twice: still balanced
        elif not quoted and ch == "(":
            depth += 1
        elif not quoted and ch == ")":
            depth -= 1
        if ch == sep and not quoted and depth == 0:
            out.append("".join(buf))
            buf = []
        else:
            buf.append(ch)
    out.append("".join(buf))
    return out


def _literal(text: str):
    t = text.strip()
    if t.startswith("'") and t.endswith("'") and len(t) >= 2:
        return t[1:-1].replace("''", "'")
    m = re.match(r"^guid'(.*)'$", t, re.I)
    if m:
        return m.group(1)
    if t.lower() in ("true", "false"):
        return t.lower() == "true"
    if t.lower() == "null":
        return None
    if re.match(r"^-?\d+$", t):
        return int(t)
    if t.startswith("@"):
        return ("alias", t[1:])
    return t


def parse_segments(path: str) -> list[Segment]:
    """Split `web/lists/GetByTitle('a/b')/items(3)` into segments; literals unescaped."""
    segs = []
    for raw in _split_outside_quotes(unquote(path), "/"):
        if raw == "":
            continue
        m = re.match(r"^([^(]*)\((.*)\)$", raw, re.S)
        if not m:
            segs.append(Segment(raw, None))
            continue
        args: list = []
        inner = m.group(2)
        if inner.strip():
            for part in _split_outside_quotes(inner, ","):
                kv = re.match(r"^\s*([A-Za-z_]\w*)\s*=(.*)$", part, re.S)
                if kv and not part.strip().startswith("'"):
                    args.append((kv.group(1), _literal(kv.group(2))))
                else:
                    args.append((None, _literal(part)))
        segs.append(Segment(m.group(1), args))
    return segs


def resolve(root: Target, segments: list[Segment], method: str, path: str, query: dict) -> Target:
    target = root
    for seg in segments:
        table = NAV.get(target.kind, {})
        fn = table.get(seg.name.lower())
        if fn is None:
            raise errors.not_implemented(method, "/_api/" + path)
        seg = _apply_aliases(seg, query)
        target = fn(target, seg)
    return target


def _apply_aliases(seg: Segment, query: dict) -> Segment:
    """`GetFolderByServerRelativeUrl(@u)?@u='...'` parameter aliases."""
    if not seg.args:
        return seg
    args = []
    for k, v in seg.args:
        if isinstance(v, tuple) and v[0] == "alias":
            v = _literal(query.get("@" + v[1], "null"))
        args.append((k, v))
    return Segment(seg.name, args)


def body_json(body: bytes) -> dict:
    if not body:
        return {}
    try:
        data = json.loads(body.decode("utf-8"))
    except (UnicodeDecodeError, ValueError):
        raise errors.bad_request(
            "Invalid JSON. A token was not recognized in the JSON content.",
            "-1",
            "Microsoft.SharePoint.Client.InvalidClientQueryException",
        )
    if not isinstance(data, dict):  # an entity or parameters object, as SharePoint requires
        raise errors.bad_request(
            "An unexpected 'StartArray' node was found when reading from the JSON reader. "
            "A 'StartObject' node was expected.",
            "-1",
            "Microsoft.SharePoint.Client.InvalidClientQueryException",
        )
    return data
