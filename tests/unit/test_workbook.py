"""The workbook's schema is a contract (docs/workbook.md) and its cells survive whatever people
typed: control characters, huge texts, infinities, dates as timestamps."""

from __future__ import annotations

import io
import math
import re
from datetime import date, datetime
from pathlib import Path

import pandas as pd
import pytest
from hypothesis import given, settings
from hypothesis import strategies as st
from openpyxl import load_workbook
from openpyxl.cell.cell import ILLEGAL_CHARACTERS_RE

from connector import workbook
from connector.portfolio import Finding, Portfolio

ROOT = Path(__file__).resolve().parents[2]


def test_docs_list_every_table_and_column():
    text = (ROOT / "docs" / "workbook.md").read_text(encoding="utf-8")
    assert text.endswith(workbook.schema_markdown()), "regenerate docs/workbook.md from workbook.schema_markdown()"


def test_table_and_column_names_are_valid_and_unique():
    tables = [s.table for s in workbook.SHEETS]
    assert len(set(tables)) == len(tables)
    for s in workbook.SHEETS:
        assert re.fullmatch(r"[A-Za-z_][A-Za-z0-9_]{0,254}", s.table), s.table
        headers = [c.header.casefold() for c in s.columns]
        assert len(set(headers)) == len(headers), s.name
        assert len(s.name) <= 31 and not set(s.name) & set("[]:*?/\\")


def _portfolio(titles: list[str], amounts: list[float]) -> Portfolio:
    rows = [
        {
            "code": f"OP-{i}",
            "title": t,
            "ap_voted": a,
            "start": datetime(2026, 1, 2, 13, 0) if i % 2 else pd.NaT,
            "alerts": [t, "deuxième"],
            "running": bool(i % 2),
            "slippage_days": float("nan"),
        }
        for i, (t, a) in enumerate(zip(titles, amounts))
    ]
    frame = pd.DataFrame(rows).set_index("code", drop=False)
    return Portfolio(
        as_of=date(2026, 12, 7),
        year=2026,
        projects=frame,
        findings=[Finding("Projets", 1, "AP votée", titles[0] if titles else "", "illisible")],
    )


@settings(max_examples=25, deadline=None)
@given(
    titles=st.lists(st.text(max_size=300), min_size=1, max_size=5),
    amounts=st.lists(
        st.floats(allow_nan=True, allow_infinity=True) | st.integers(-(10**12), 10**12).map(float),
        min_size=5,
        max_size=5,
    ),
)
def test_any_typed_value_makes_a_workbook_that_opens(titles, amounts):
    pf = _portfolio(titles, amounts)
    data = workbook.tables(pf)
    wb = load_workbook(io.BytesIO(workbook.build(pf, data)))
    ws = wb["Projets"]
    assert ws.max_row == len(titles) + 1
    (table,) = ws.tables.values()
    assert table.ref.endswith(str(len(titles) + 1))
    head = [c.value for c in ws[1]]
    for r, title, amount in zip(ws.iter_rows(min_row=2, values_only=True), titles, amounts):
        row = dict(zip(head, r))
        if math.isnan(amount) or abs(amount) >= 1e307:
            assert row["AP votée"] is None
        else:  # Excel keeps 15 significant digits
            assert row["AP votée"] == pytest.approx(amount, rel=1e-14)
        clean = ILLEGAL_CHARACTERS_RE.sub("", title)
        assert (row["Intitulé"] or "") == clean[:32000]


def test_the_calendar_alone_does_not_change_the_steady_hash():
    pf = _portfolio(["École"], [1000.0])
    pf.projects = pf.projects.assign(next_milestone_late_days=[3])
    a = workbook.hashes(pf)
    pf.projects = pf.projects.assign(next_milestone_late_days=[4])
    b = workbook.hashes(pf)
    assert a[0] == b[0] and a[1] != b[1]
    pf.projects = pf.projects.assign(weather=["Orage"])
    c = workbook.hashes(pf)
    assert c[0] != b[0]
