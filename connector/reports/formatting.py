"""French formats for the reports: long dates, amounts, percentages, signed day counts."""
from __future__ import annotations

from datetime import date, datetime

from babel.dates import format_date

from connector.formatting import _missing, fr_amount, fr_date, fr_number, fr_percent  # noqa: F401

SYMBOLS = {"Soleil": "☀", "Nuageux": "☁", "Orage": "⚡", "Indéterminé": "?"}
# Okabe-Ito, readable by colour-blind readers and in grey print.
COLORS = {"Soleil": "#E69F00", "Nuageux": "#56B4E9", "Orage": "#D55E00", "Indéterminé": "#999999"}


def long_date(v) -> str:
    """`22 novembre 2026`."""
    if _missing(v):
        return "–"
    if isinstance(v, datetime):
        v = v.date()
    return format_date(v, format="d MMMM y", locale="fr_FR")


def days(v) -> str:
    """Signed slippage: `+120 j`, `0 j`, `–15 j`."""
    if _missing(v):
        return "–"
    n = int(v)
    return f"+{n}\u00a0j" if n > 0 else (f"–{-n}\u00a0j" if n < 0 else "0\u00a0j")


def short_date(v) -> str:
    return fr_date(v)


def text(v) -> str:
    return "" if _missing(v) else str(v)


def as_date(v):
    if _missing(v):
        return None
    if isinstance(v, str):
        try:
            return date.fromisoformat(v[:10])
        except ValueError:
            return None
    return v
