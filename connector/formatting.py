"""Short French formats for values copil writes into SharePoint and messages staff read."""
from __future__ import annotations

import math
from datetime import date, datetime

from babel.numbers import format_decimal

LOCALE = "fr_FR"


def _missing(v) -> bool:
    return v is None or (isinstance(v, float) and math.isnan(v)) or str(v) in ("NaT", "nan")


def fr_number(v, digits: int = 0) -> str:
    if _missing(v):
        return "–"
    fmt = "#,##0" + ("." + "0" * digits if digits else "")
    return format_decimal(round(float(v), digits), format=fmt, locale=LOCALE)


def fr_amount(v, currency: str = "EUR") -> str:
    """`1 234 567 €` (no decimals: steering figures), `1 234 567 XPF`."""
    if _missing(v):
        return "–"
    return f"{fr_number(v)}\u00a0{'€' if currency == 'EUR' else currency}"


def fr_percent(v, digits: int = 0) -> str:
    """A fraction as `95 %` (narrow no-break space, French typography)."""
    if _missing(v):
        return "–"
    return f"{fr_number(float(v) * 100, digits)}\u202f%"


def fr_date(v) -> str:
    if _missing(v):
        return "–"
    if isinstance(v, datetime):
        v = v.date()
    if hasattr(v, "date") and not isinstance(v, date):
        v = v.date()
    return v.strftime("%d/%m/%Y")
