"""French formats for the reports: long dates, amounts, percentages, signed day counts, the
météo as a traffic light, French typography."""

from __future__ import annotations

from datetime import date, datetime
from typing import Any

from babel.dates import format_date

from connector.formatting import MINUS, fr_amount, fr_date, fr_number, fr_percent  # noqa: F401  (re-exported)
from connector.formatting import signed_days as days  # noqa: F401  (re-exported)
from connector.model import Weather
from connector.model import is_missing as _missing

# A marker every font has (☀ ☁ ⚡ depend on font fallback and printed as a snowflake). The word
# is always printed beside it: colour only supports it (colour-blind readers, grey print).
MARKER = "●"


def symbol(weather: Any) -> str:
    return MARKER if Weather.of(weather) else ""


def label(weather: Any) -> str:
    """The météo's word as the list holds it; `–` when none."""
    w = Weather.of(weather)
    return w.label if w else (text(weather) or "–")


def color(weather: Any, tint: bool = False) -> str:
    """Hex without `#`, as Word's shading wants it; grey for anything but a météo."""
    w = Weather.of(weather) or Weather.INDETERMINE
    return (w.tint if tint else w.color).lstrip("#")


def long_date(v) -> str:
    """`22 novembre 2026`."""
    if _missing(v):
        return "–"
    if isinstance(v, datetime):
        v = v.date()
    return format_date(v, format="d MMMM y", locale="fr_FR")


def short_date(v) -> str:
    return fr_date(v)


def text(v) -> str:
    return "" if _missing(v) else str(v)


def typeset(value, skip=("url", "link", "color", "tint")):
    """French typography on every text of a context: typographic apostrophe. Links and colours
    are left alone; what a person typed is shown, never changed in SharePoint."""
    if isinstance(value, str):
        return value.replace("'", "’")
    if isinstance(value, dict):
        return {k: (v if k in skip else typeset(v, skip)) for k, v in value.items()}
    if isinstance(value, list):
        return [typeset(v, skip) for v in value]
    return value


def as_date(v):
    if _missing(v):
        return None
    if isinstance(v, str):
        try:
            return date.fromisoformat(v[:10])
        except ValueError:
            return None
    return v
