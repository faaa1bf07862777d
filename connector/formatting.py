"""Short French formats for values copil writes into SharePoint and messages staff read."""
from __future__ import annotations

import math
from datetime import date, datetime
from decimal import ROUND_HALF_UP, Decimal

from babel.numbers import format_decimal

LOCALE = "fr_FR"

# Traffic lights as readers expect them, in the reports and in the list's column formatting:
# green / orange / red, grey when unknown. A strong colour carries white bold text (contrast
# ≥ 4.5:1), a tint is a cell background under black text.
COLORS = {"Soleil": "#1B7A3A", "Nuageux": "#B35C00", "Orage": "#B71C1C", "Indéterminé": "#5F6368"}
TINTS = {"Soleil": "#D9F0DF", "Nuageux": "#FCE5C8", "Orage": "#F6D4D4", "Indéterminé": "#E6E6E6"}


def _missing(v) -> bool:
    return v is None or (isinstance(v, float) and math.isnan(v)) or str(v) in ("NaT", "nan")


def rounded(v, digits: int = 0) -> Decimal:
    """Half-up rounding of the value as written (repr), not of the binary float behind it:
    0.24999999999999994 is 0.25, and 2.5 gives 3 (Python's round() would give 2)."""
    return Decimal(repr(float(v))).quantize(Decimal(1).scaleb(-digits), ROUND_HALF_UP)


def points(v, digits: int = 1) -> Decimal:
    """A fraction as percentage points at the precision copil prints: rules compare this, so a
    share printed as 20 % is never judged below a 20 % minimum."""
    return rounded(float(v) * 100, digits) if abs(float(v)) < 1e12 else Decimal(repr(float(v) * 100))


def fr_number(v, digits: int = 0) -> str:
    if _missing(v):
        return "–"
    fmt = "#,##0" + ("." + "0" * digits if digits else "")
    return format_decimal(rounded(v, digits), format=fmt, locale=LOCALE).replace("-", "\u2212")


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


def fr_points(p: Decimal, unit: str = "%") -> str:
    """Percentage points from `points()`: `25 %`, `24,6 %` (one decimal only when there is one)."""
    text = format_decimal(p, format="#,##0.#", locale=LOCALE).replace("-", "\u2212")
    return f"{text}\u202f{unit}"


def fr_date(v) -> str:
    if _missing(v):
        return "–"
    if isinstance(v, datetime):
        v = v.date()
    if hasattr(v, "date") and not isinstance(v, date):
        v = v.date()
    return v.strftime("%d/%m/%Y")
