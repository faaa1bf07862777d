"""One notion of a missing value.

A value is missing when nobody typed it or copil could not read it: None, NaN (what pandas puts
in an empty float cell), NaT (an empty date cell) and their text forms, which reach the reports
when a frame is turned into strings. Everything that asks « is there a value? » asks here."""

from __future__ import annotations

import math
from datetime import date, datetime
from typing import Any, TypeGuard, TypeVar

T = TypeVar("T")

_MISSING_TEXT = ("NaT", "nan", "<NA>")  # pd.NaT, numpy NaN, pd.NA


_NEVER_MISSING = (int, bool, date, datetime)  # exact types, tested first: this is called millions of times


def is_missing(v: Any) -> bool:
    if v is None:
        return True
    kind = type(v)
    if kind is float:
        return bool(v != v)
    if kind is str:
        return v in _MISSING_TEXT
    if kind in _NEVER_MISSING:
        return False
    if isinstance(v, float):
        return math.isnan(v)
    # pd.NaT, pd.NA and numpy NaN are not Python floats; their text is what they share
    return str(v) in _MISSING_TEXT


def present(v: T | None) -> TypeGuard[T]:
    """The opposite of is_missing; a type checker then knows the value is there (TypeGuard, not
    TypeIs: a NaN float is absent without being another type)."""
    return not is_missing(v)


def clean(v: Any) -> Any:
    """None for a missing value, the value otherwise (pandas records -> plain records)."""
    kind = type(v)
    if kind is float:
        return None if v != v else v
    if kind is str:
        return None if v in _MISSING_TEXT else v
    if kind in _NEVER_MISSING:
        return v
    return None if is_missing(v) else v


def number(v: Any) -> float | None:
    """A float, or None when missing or not a number."""
    if is_missing(v):
        return None
    try:
        return float(v)
    except (TypeError, ValueError):
        return None


def zero_if_missing(v: Any) -> float:
    """For sums where an amount nobody typed adds nothing."""
    n = number(v)
    return 0.0 if n is None else n
