"""The projects list's views copil creates: what needs attention, by direction, by territory,
mine, data to fix. Queries are CAML on the site's internal names (resolved, never guessed)."""

from __future__ import annotations

from dataclasses import dataclass
from xml.sax.saxutils import escape, quoteattr

from connector.model import Weather


@dataclass(frozen=True)
class ViewSpec:
    title: str
    query: str
    fields: list[str]
    row_limit: int = 100


def _ref(name: str, **attrs) -> str:
    extra = "".join(f" {k}={quoteattr(v)}" for k, v in attrs.items())
    return f"<FieldRef Name={quoteattr(name)}{extra} />"


def views(internal: dict[str, str], choices_type: str = "Choice") -> list[ViewSpec]:
    """`internal`: logical column -> internal name of the projects list (missing ones skipped)."""
    n = internal.get
    base = [
        x
        for x in (
            "LinkTitle",
            n("code"),
            n("computed_weather"),
            n("slippage_days"),
            n("phase"),
            n("next_milestone"),
            n("manager"),
            n("report_link"),
        )
        if x
    ]
    out = []
    if n("computed_weather"):
        w = n("computed_weather")
        eq = lambda word: f"<Eq>{_ref(w)}<Value Type={quoteattr(choices_type)}>{escape(word)}</Value></Eq>"  # noqa: E731
        order = f"<OrderBy>{_ref(n('slippage_days'), Ascending='FALSE')}</OrderBy>" if n("slippage_days") else ""
        out.append(
            ViewSpec(
                "Projets en alerte",
                f"<Where><Or>{eq(Weather.ORAGE)}{eq(Weather.NUAGEUX)}</Or></Where>{order}",
                base + [x for x in (n("weather_reasons"), n("alerts")) if x],
            )
        )
    for title, key in (("Par direction", "direction"), ("Par territoire", "territory")):
        if n(key):
            out.append(
                ViewSpec(
                    title,
                    f'<GroupBy Collapse="TRUE" GroupLimit="100">{_ref(n(key))}</GroupBy>'
                    f"<OrderBy>{_ref('Title')}</OrderBy>",
                    base,
                )
            )
    if n("manager"):
        out.append(
            ViewSpec(
                "Mes projets",
                f"<Where><Eq>{_ref(n('manager'), LookupId='TRUE')}"
                f'<Value Type="Integer"><UserID Type="Integer" /></Value></Eq></Where>'
                f"<OrderBy>{_ref('Title')}</OrderBy>",
                base,
            )
        )
    if n("data_quality"):
        out.append(
            ViewSpec(
                "Données à corriger",
                f"<Where><IsNotNull>{_ref(n('data_quality'))}</IsNotNull></Where><OrderBy>{_ref('Title')}</OrderBy>",
                [x for x in ("LinkTitle", n("code"), n("manager"), n("data_quality")) if x],
            )
        )
    return out
