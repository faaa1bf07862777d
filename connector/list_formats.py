"""Column formatting for the projects list (the field's CustomFormatter JSON, SharePoint Online
and SharePoint Server 2019+): the météo as an icon and a coloured pill, slippage coloured past
the [rules] thresholds, rates as data bars, alerts as a count with the text on hover.

Generated from [rules] and the reports' traffic-light colours, so list and reports agree. Every
pill keeps its word (colour only supports it) and a transparent border that high-contrast
themes draw."""

from __future__ import annotations

import json

from connector.model import MANUAL_WEATHERS, Weather
from connector.rules import RulesConfig

SCHEMA = "https://developer.microsoft.com/json-schemas/sp/v2/column-formatting.schema.json"
MARKER = "copil-format"  # class on the root element: how copil knows a format is its own
ICONS = {Weather.SOLEIL: "Sunny", Weather.NUAGEUX: "CloudWeather", Weather.ORAGE: "Thunderstorms"}  # Fluent UI
NEUTRAL = "#0F6CBD"


def _chain(values: dict[str, str], default: str) -> str:
    """`=if(@currentField == 'a', 'x', if(…, default))` over the météo words."""
    out = f"'{default}'"
    for word, value in reversed(list(values.items())):
        out = f"if(@currentField == '{word}', '{value}', {out})"
    return "=" + out


def _pill(background: str, colour: str, **more) -> dict:
    """A rounded label, hidden when the cell is empty; the transparent border is what
    high-contrast themes draw around it."""
    return {
        "display": "=if(@currentField == '', 'none', 'inline-flex')",
        "align-items": "center",
        "padding": "1px 10px",
        "border-radius": "12px",
        "border": "1px solid transparent",
        "background-color": background,
        "color": colour,
        **more,
    }


def weather() -> dict:
    colours = {str(w): w.color for w in MANUAL_WEATHERS}
    return {
        "$schema": SCHEMA,
        "elmType": "div",
        "attributes": {"class": MARKER},
        "children": [
            {
                "elmType": "span",
                "style": _pill(_chain(colours, Weather.INDETERMINE.color), "#FFFFFF", **{"font-weight": "600"}),
                "attributes": {"title": "=if(@currentField == '', '', 'Météo : ' + @currentField)"},
                "children": [
                    {
                        "elmType": "span",
                        "style": {"padding-right": "6px"},
                        "attributes": {"iconName": _chain({str(w): i for w, i in ICONS.items()}, "Unknown")},
                    },
                    {"elmType": "span", "txtContent": "@currentField"},
                ],
            }
        ],
    }


def slippage(rules: RulesConfig) -> dict:
    """`+120 j` in red from the storm threshold, orange from the cloudy one (the rule is ≥)."""
    storm, cloudy = rules.slippage_storm_days, rules.slippage_cloudy_days
    colour = (
        f"=if(@currentField >= {storm}, '{Weather.ORAGE.color}', "
        f"if(@currentField >= {cloudy}, '{Weather.NUAGEUX.color}', ''))"
    )
    return {
        "$schema": SCHEMA,
        "elmType": "div",
        "attributes": {"class": MARKER},
        "style": {
            "color": "=if(@currentField == '', '', " + colour[1:] + ")",
            "font-weight": f"=if(@currentField >= {cloudy}, '600', '400')",
        },
        "children": [
            {
                "elmType": "span",
                "style": {"padding-right": "4px", "display": f"=if(@currentField >= {storm}, 'inline', 'none')"},
                "attributes": {"iconName": "Warning"},
            },
            {
                "elmType": "span",
                "txtContent": "=if(@currentField == '', '', if(@currentField > 0, '+', '') + @currentField + ' j')",
                "attributes": {
                    "title": f"=if(@currentField == '', '', 'Seuils : {Weather.NUAGEUX} à {cloudy} j, {Weather.ORAGE} à {storm} j')"
                },
            },
        ],
    }


def rate_bar(limit: float | None = None) -> dict:
    """A data bar (capped at 100 %) with the rate as text; red beyond `limit` when given."""
    # compared at the printed precision (0.1 point), as the rule compares it
    over = f"floor(@currentField * 1000 + 0.5) > {round(limit * 1000)}" if limit is not None else "false"
    return {
        "$schema": SCHEMA,
        "elmType": "div",
        "attributes": {"class": MARKER},
        "style": {"display": "=if(@currentField == '', 'none', 'flex')", "align-items": "center", "width": "100%"},
        "children": [
            {
                "elmType": "div",
                "style": {
                    "flex-grow": "1",
                    "height": "10px",
                    "margin-right": "6px",
                    "background-color": "#E6E6E6",
                    "border": "1px solid transparent",
                },
                "children": [
                    {
                        "elmType": "div",
                        "style": {
                            "height": "100%",
                            "width": "=if(@currentField >= 1, '100%', if(@currentField <= 0, '0%', "
                            "toString(@currentField * 100) + '%'))",
                            "background-color": f"=if({over}, '{Weather.ORAGE.color}', '{NEUTRAL}')",
                        },
                    }
                ],
            },
            {
                "elmType": "span",
                "style": {
                    "min-width": "44px",
                    "text-align": "right",
                    "color": f"=if({over}, '{Weather.ORAGE.color}', '')",
                },
                "txtContent": "=floor(@currentField * 100 + 0.5) + ' %'",
            },
        ],
    }


def alerts() -> dict:
    """`⚠ 2 alertes`, the alerts themselves in the tooltip. Lines are counted with an
    expression object: a newline inside an Excel-style string is fragile."""
    count = {"operator": "length", "operands": [{"operator": "split", "operands": ["@currentField", "\n"]}]}
    return {
        "$schema": SCHEMA,
        "elmType": "div",
        "attributes": {"class": MARKER},
        "children": [
            {
                "elmType": "span",
                "style": _pill("#FCE5C8", "#5C2E00"),
                "attributes": {"title": "@currentField"},
                "children": [
                    {"elmType": "span", "style": {"padding-right": "4px"}, "attributes": {"iconName": "Warning"}},
                    {
                        "elmType": "span",
                        "txtContent": {
                            "operator": "+",
                            "operands": [
                                count,
                                {
                                    "operator": "?",
                                    "operands": [{"operator": ">", "operands": [count, 1]}, " alertes", " alerte"],
                                },
                            ],
                        },
                    },
                ],
            }
        ],
    }


def formats(rules: RulesConfig) -> dict[str, str]:
    """Logical column -> CustomFormatter JSON text."""
    out = {
        "computed_weather": weather(),
        "manual_weather": weather(),
        "slippage_days": slippage(rules),
        "cp_execution_rate": rate_bar(),
        "commitment_rate": rate_bar(),
        "ap_consumption": rate_bar(rules.ap_overrun_storm),
        "alerts": alerts(),
    }
    return {k: json.dumps(v, ensure_ascii=False, sort_keys=True) for k, v in out.items()}


def is_ours(text: str) -> bool:
    """A format copil wrote (its class on the root): it may replace it; any other it leaves."""
    try:
        return MARKER in str((json.loads(text).get("attributes") or {}).get("class", ""))
    except (ValueError, AttributeError):
        return False
