"""Rows of a DataFrame as plain dicts, fast. `DataFrame.to_dict("records")` boxes every cell one by
one (with pandas' string arrays, a method call per cell): at 10,000 projects it was a third of
consolidation's time. A column's `tolist()` converts it in one pass; the values are the same
(Python numbers, Timestamps, NaN for what is missing)."""

from __future__ import annotations

import pandas as pd


def records(frame: pd.DataFrame) -> list[dict]:
    if frame.empty:
        return []
    cols = list(frame.columns)
    return [dict(zip(cols, row)) for row in zip(*(frame[c].tolist() for c in cols))]
