"""French formats for the reports: long dates, amounts, percentages, signed day counts, the
météo as a traffic light, French typography."""
from __future__ import annotations

from datetime import date, datetime

from babel.dates import format_date

from connector.formatting import COLORS, TINTS, _missing, fr_amount, fr_date, fr_number, fr_percent  # noqa: F401

MINUS = "\u2212"
# The word is always printed: colour only supports it (colour-blind readers, grey print).
LABELS = {"Soleil": "Soleil", "Nuageux": "Nuageux", "Orage": "Orage", "Indéterminé": "Indéterminée"}
# A marker every font has (☀ ☁ ⚡ depend on font fallback and printed as a snowflake).
SYMBOLS = {k: "●" for k in LABELS}


def label(weather) -> str:
    """`Indéterminée` (la météo), the other words unchanged; `–` when none."""
    return LABELS.get(weather, text(weather) or "–")


def color(weather, tint: bool = False) -> str:
    """Hex without `#`, as Word's shading wants it."""
    return (TINTS if tint else COLORS).get(weather, TINTS["Indéterminé"] if tint else COLORS["Indéterminé"]).lstrip("#")


def long_date(v) -> str:
    """`22 novembre 2026`."""
    if _missing(v):
        return "–"
    if isinstance(v, datetime):
        v = v.date()
    return format_date(v, format="d MMMM y", locale="fr_FR")


def days(v, at_least: bool = False) -> str:
    """Signed slippage: `+120 j`, `0 j`, `−15 j`; `≥ +71 j` while an overdue milestone is still open."""
    if _missing(v):
        return "–"
    n = int(v)
    out = f"+{n}\u00a0j" if n > 0 else (f"{MINUS}{-n}\u00a0j" if n < 0 else "0\u00a0j")
    return f"≥\u00a0{out}" if at_least else out


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
