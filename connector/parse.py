"""Parsers for the values staff type: French and sloppy amounts, percentages and dates.

Each returns (value, problem). problem is None for a clean value (or an empty cell); a message
with value None means unusable; a message with a value means "used, but check it" (an
approximate amount such as `env. 3M`)."""

from __future__ import annotations

import html
import math
import re
from datetime import date, datetime, timezone
from zoneinfo import ZoneInfo

from connector.formatting import fr_amount
from connector.model import is_missing

_SPACES = re.compile(r"[\s\u00a0\u202f\u2009']")
# Digits separated by spaces must be thousands groups: "1 234 567" is a number, "1 2 3" is not.
_GROUPS = re.compile(r"[0-9]+(?:[\s\u00a0\u202f\u2009'][0-9]+)+")


def _grouped(text: str) -> bool:
    for m in _GROUPS.finditer(text):
        parts = _SPACES.split(m.group())
        if len(parts[0]) > 3 or any(len(p) != 3 for p in parts[1:]):
            return False
    return True


_EMPTY = {"", "-", "–", "—"}
UNKNOWN = {"n.c.", "nc", "n/c", "?", "??", "à définir", "a definir", "à venir", "tbd", "inconnu", "néant", "xxx"}
_MULT = {"k": 1e3, "m": 1e6, "md": 1e9, "mds": 1e9, "mrd": 1e9}
_AMOUNT = re.compile(
    r"^(?P<num>[+-]?[\d.,]+)(?P<mult>k|md|mds|mrd|m)?"
    r"(?P<cur>€|eur|euros?|xpf|fcfp|cfp|francscfp|francs|franc|f)?(?P<tax>ht|ttc)?$",
    re.I,
)
_EURO = {"€", "eur", "euro", "euros"}
_WORDS = tuple(
    (f"{w} {de}", short)
    for w, short in (("millions", "m"), ("million", "m"), ("milliards", "md"), ("milliard", "md"), ("milliers", "k"))
    for de in ("de ", "d'", "d’")
) + (
    ("millions", "m"),
    ("million", "m"),
    ("milliards", "md"),
    ("milliard", "md"),
    ("milliers", "k"),
    ("millier", "k"),
    ("mille", "k"),
)
MONTHS = {
    "janvier": 1,
    "février": 2,
    "fevrier": 2,
    "mars": 3,
    "avril": 4,
    "mai": 5,
    "juin": 6,
    "juillet": 7,
    "août": 8,
    "aout": 8,
    "septembre": 9,
    "octobre": 10,
    "novembre": 11,
    "décembre": 12,
    "decembre": 12,
    "janv": 1,
    "févr": 2,
    "fevr": 2,
    "avr": 4,
    "juil": 7,
    "sept": 9,
    "oct": 10,
    "nov": 11,
    "déc": 12,
    "dec": 12,
}


# Values outside these bounds are typing errors, never used: a forecast end in 1900 would be a
# slippage of -47,000 days, an AP of 1e308 an execution rate of 0 %.
MAX_AMOUNT = {"EUR": 1e11, "XPF": 1.2e13}
FIRST_YEAR, LAST_YEAR = 1970, 2100


def _is_empty(raw) -> bool:
    return is_missing(raw) or (isinstance(raw, str) and raw.strip().lower() in _EMPTY)


def _number(text: str) -> float | None:
    """French or English digits with thousands separators: 1.234.567,89 / 1,234,567.89 / 1234,5."""
    t = text
    if "," in t and "." in t:
        if t.rfind(",") > t.rfind("."):
            t = t.replace(".", "").replace(",", ".")
        else:
            t = t.replace(",", "")
    elif "," in t:
        parts = t.split(",")
        if len(parts) > 2 and not all(len(p) == 3 for p in parts[1:]):
            return None
        t = t.replace(",", "") if len(parts) > 2 else t.replace(",", ".")
    elif t.count(".") > 1:
        if not all(len(p) == 3 for p in t.split(".")[1:]):
            return None
        t = t.replace(".", "")
    elif "." in t and re.fullmatch(r"\d{1,3}\.\d{3}", t.lstrip("+-")):
        t = t.replace(".", "")  # 1.250 in a French amount is a thousands separator
    if not re.fullmatch(r"[+-]?([0-9]+\.?[0-9]*|\.[0-9]+)(e[+-]?[0-9]+)?", t, re.I):
        return None  # "nan", "inf", "infinity" are not numbers a person typed
    value = float(t)
    return value if math.isfinite(value) else None


def parse_amount(raw, currency: str = "EUR", negative: bool = False) -> tuple[float | None, str | None]:
    """`12 000,50 €`, `1.2M`, `env. 3M`; in XPF also `300 MF`, `300 MF CFP`, `300 millions de F`.
    An amount written in the other currency is refused rather than silently mixed; a negative
    amount (unless `negative`, as for an amendment that lowers a contract) or an implausibly
    large one is refused."""
    value, problem = _amount(raw, currency)
    if value is None:
        return value, problem
    if value < 0 and not negative:
        return None, f"montant négatif « {raw} » : non retenu"
    if abs(value) > MAX_AMOUNT.get(currency, 1e11):
        return None, f"montant invraisemblable « {raw} » : non retenu"
    return value, problem


def _amount(raw, currency: str) -> tuple[float | None, str | None]:
    if _is_empty(raw):
        return None, None
    if isinstance(raw, bool):
        return None, f"montant illisible : « {raw} »"
    if isinstance(raw, (int, float)):
        if not math.isfinite(float(raw)):
            return None, f"montant illisible : « {raw} »"
        return float(raw), None
    text = str(raw).strip()
    low = text.lower()
    if low in UNKNOWN:
        return None, f"montant non renseigné : « {text} »"
    approx = False
    for prefix in ("env.", "env", "environ", "~", "≈", "ca.", "approx.", "approx"):
        if low.startswith(prefix):
            low = low[len(prefix) :].strip()
            approx = True
            break
    for word, short in _WORDS:
        low = low.replace(word, short)
    if not _grouped(low.split(",")[0]):
        return None, f"montant illisible : « {text} »"
    m = _AMOUNT.match(_SPACES.sub("", low))
    if not m:
        return None, f"montant illisible : « {text} »"
    value = _number(m.group("num"))
    if value is None:
        return None, f"montant illisible : « {text} »"
    cur = (m.group("cur") or "").lower()
    if cur and (cur in _EURO) != (currency == "EUR"):
        return None, (
            f"montant en {'euros' if cur in _EURO else 'francs CFP'} « {text} » alors que la "
            f"collectivité tient ses comptes en {currency} : montant non retenu"
        )
    value *= _MULT.get((m.group("mult") or "").lower(), 1)
    if approx:  # usable, but staff should replace it with the voted figure
        return (
            value,
            f"montant approximatif « {text} » retenu pour {fr_amount(value, currency)} ; saisir le montant exact",
        )
    return value, None


def parse_percent(raw) -> tuple[float | None, str | None]:
    """A fraction: 45 %, 45, 0,45 and 0.45 all give 0.45; above 100 % is refused."""
    if _is_empty(raw):
        return None, None
    if isinstance(raw, (int, float)) and not isinstance(raw, bool):
        value = float(raw)
        text = str(raw)
        if not math.isfinite(value):
            return None, f"pourcentage illisible : « {text} »"
    else:
        text = str(raw).strip()
        if text.count("%") > 1 or not _grouped(text):
            return None, f"pourcentage illisible : « {text} »"
        compact = _SPACES.sub("", text).rstrip("%").strip()
        value = _number(compact) if compact else None
        if value is None:
            return None, f"pourcentage illisible : « {text} »"
        if "%" in text:
            value /= 100
        elif value > 1:
            value /= 100
    if isinstance(raw, (int, float)) and value > 1:
        value /= 100
    if value < 0 or value > 1:
        return None, f"pourcentage hors limites (0 à 100 %) : « {text} »"
    return value, None


_DMY = re.compile(r"^(\d{1,2})[/.\-](\d{1,2})[/.\-](\d{2}|\d{4})$")
_ISO_DATE = re.compile(r"^(\d{4})-(\d{2})-(\d{2})$")
_TEXT_DATE = re.compile(r"^(?:le\s+)?(\d{1,2})(?:er)?\s+([a-zéûè\.]+)\s+(\d{4})$", re.I)


def parse_date(raw, tz: str = "Europe/Paris") -> tuple[date | None, str | None]:
    """dd/mm/yyyy, ISO dates, SharePoint UTC datetimes (converted to the site time zone, so a
    date-only value stored as the previous day 22:00Z comes back as the right day), and
    `22 novembre 2026`; a date outside 1970-2100 is a typing error, reported and not used."""
    value, problem = _date(raw, tz)
    if value is not None and not (FIRST_YEAR <= value.year <= LAST_YEAR):
        return (
            None,
            f"date invraisemblable « {raw if not isinstance(raw, date) else value.strftime('%d/%m/%Y')} » : non retenue",
        )
    return value, problem


def _date(raw, tz: str) -> tuple[date | None, str | None]:
    if _is_empty(raw):
        return None, None
    if isinstance(raw, datetime):
        if raw.tzinfo is not None:
            return raw.astimezone(ZoneInfo(tz)).date(), None
        return raw.date(), None
    if isinstance(raw, date):
        return raw, None
    text = str(raw).strip()
    if "T" in text and re.match(r"^\d{4}-\d{2}-\d{2}T", text):
        try:
            dt = datetime.fromisoformat(text.replace("Z", "+00:00"))
        except ValueError:
            return None, f"date illisible : « {text} »"
        if dt.tzinfo is None:
            dt = dt.replace(tzinfo=timezone.utc)
        return dt.astimezone(ZoneInfo(tz)).date(), None
    for rx, order in ((_DMY, "dmy"), (_ISO_DATE, "ymd")):
        m = rx.match(text)
        if m:
            a, b, c = (int(x) for x in m.groups())
            d, mo, y = (a, b, c) if order == "dmy" else (c, b, a)
            if y < 100:
                y += 2000
            try:
                return date(y, mo, d), None
            except ValueError:
                return None, f"date inexistante : « {text} »"
    m = _TEXT_DATE.match(text)
    if m:
        month = MONTHS.get(m.group(2).lower().rstrip("."))
        if month:
            try:
                return date(int(m.group(3)), month, int(m.group(1))), None
            except ValueError:
                return None, f"date inexistante : « {text} »"
    return None, f"date illisible : « {text} » (format attendu : jj/mm/aaaa)"


def parse_number(raw) -> tuple[float | None, str | None]:
    if _is_empty(raw):
        return None, None
    if isinstance(raw, (int, float)) and not isinstance(raw, bool):
        if not math.isfinite(float(raw)):
            return None, f"nombre illisible : « {raw} »"
        return float(raw), None
    value = _number(_SPACES.sub("", str(raw))) if _grouped(str(raw)) else None
    if value is None:
        return None, f"nombre illisible : « {raw} »"
    return value, None


# Characters Word's XML cannot hold (and a report must never choke on): C0 controls but tab and
# line breaks, lone surrogates, U+FFFE/U+FFFF.
_UNPRINTABLE = re.compile("[\x00-\x08\x0b\x0c\x0e-\x1f\x7f\ud800-\udfff\ufffe\uffff]")
_TAG = re.compile(r"(?i)</?\s*(div|p|br|span|ul|ol|li|strong|b|em|i|u|a|font|table|tr|td|th|tbody|h[1-6])\b[^>]*>")
_BLOCK = re.compile(r"(?i)<\s*(br|/p|/div|/li)\b[^>]*>")


def parse_text(raw) -> str | None:
    """Plain text; rich-text columns (`<div>...</div>`, common on SharePoint Note columns) are
    reduced to their text with line breaks kept, so reports never show HTML tags."""
    if _is_empty(raw):
        return None
    text = _UNPRINTABLE.sub("", str(raw))
    if "<" in text and _TAG.search(text):
        text = _BLOCK.sub("\n", text)
        text = html.unescape(_TAG.sub("", text)).replace("\u200b", "")
        text = "\n".join(line.strip() for line in text.splitlines() if line.strip())
    return text.strip() or None


def parse_choice(raw, choices: tuple[str, ...]) -> tuple[str | None, str | None]:
    """One of `choices`, whatever its case and surrounding spaces; anything else is reported
    (a fill-in value the rules would otherwise misread, e.g. a risk status "en cours")."""
    text = parse_text(raw)
    if text is None:
        return None, None
    for c in choices:
        if text.casefold() == c.casefold():
            return c, None
    return None, f"valeur inattendue « {text} » (valeurs possibles : {', '.join(choices)})"
