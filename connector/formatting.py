"""French formats for values copil writes into SharePoint and messages staff read, and the one
wording of each figure (a delay, a signed slippage): rules, write-back and reports all word a
figure through here, so « 4 mois » and « +120 j » never disagree."""

from __future__ import annotations

from datetime import date, datetime
from decimal import ROUND_HALF_UP, Decimal
from functools import lru_cache
from typing import Any

from babel import Locale
from babel.numbers import NumberPattern, parse_pattern

from connector.model import is_missing as _missing

LOCALE = "fr_FR"
MINUS = "\u2212"
_LOCALE = Locale.parse(LOCALE)


@lru_cache(maxsize=16)
def _pattern(fmt: str) -> NumberPattern:
    return parse_pattern(fmt)


def format_decimal(v, format: str, locale: str = LOCALE) -> str:
    """babel's format_decimal with the pattern and the locale parsed once (it parsed both at each
    of the tens of thousands of figures a night words)."""
    return _pattern(format).apply(v, _LOCALE if locale == LOCALE else Locale.parse(locale))


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


def day_count(n: Any) -> str:
    """« 1 jour », « 45 jours »."""
    n = int(n)
    return f"{n} jour{'s' if abs(n) > 1 else ''}"


def delay(n: Any) -> str:
    """A delay as a reader says it: « 4 mois » from 60 days on, days below."""
    n = int(n)
    return f"{round(n / 30.44)} mois" if n >= 60 else day_count(n)


def signed_days(v: Any, at_least: bool = False) -> str:
    """Signed slippage in a table cell: `+120 j`, `0 j`, `−15 j`; `≥ +71 j` while an overdue
    milestone is still open."""
    if _missing(v):
        return "–"
    n = int(v)
    out = f"+{n}\u00a0j" if n > 0 else (f"{MINUS}{-n}\u00a0j" if n < 0 else "0\u00a0j")
    return f"≥\u00a0{out}" if at_least else out


def milestone_when(when: Any, late_days: Any = 0) -> str:
    """When a milestone falls, as every reader sees it: « 15/01/2027 », or for one still not
    reached after its date « en retard depuis le 04/12/2026 ». The lateness is said from its date,
    not counted in days: a count would rewrite the list item and the reports every night with
    nothing else changed."""
    late = not _missing(late_days) and int(late_days) > 0
    return f"en retard depuis le {fr_date(when)}" if late else fr_date(when)


def of(words: str) -> str:
    """« de » before a word, elided before a vowel or a mute h: « d'achèvement », « de démarrage »."""
    return f"d'{words}" if words[:1].lower() in "aeiouyhâàéèêîïôûœ" else f"de {words}"


def fr_share(v: Any) -> str:
    """A share a rule judges, printed at the precision it was judged (`points`): « 19,9 % » for a
    self-funding share judged below 20 %, never a rounded « 20 % » beside the alert."""
    return "–" if _missing(v) else fr_points(points(v))
