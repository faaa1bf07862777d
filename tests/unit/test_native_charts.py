"""The chart parts are built from values people typed: any title, any amount, any currency
gives a chart whose XML parses and whose categories say what was typed (control characters
dropped, long titles cut), never an exception that would cost the project its report."""

from __future__ import annotations

from datetime import date, timedelta

from hypothesis import given, settings
from hypothesis import strategies as st
from lxml import etree

from connector.model import MilestoneStatus
from connector.reports import charts

C = {"c": "http://schemas.openxmlformats.org/drawingml/2006/chart"}
titles = st.one_of(st.none(), st.text(max_size=120))
amounts = st.one_of(st.none(), st.just(float("nan")), st.floats(-1e13, 1e13, allow_nan=False))
days = st.dates(date(1990, 1, 1), date(2100, 12, 31))


def _categories(chart) -> list[str]:
    space = etree.fromstring(chart.xml)
    return space.xpath("(//c:ser)[1]/c:cat//c:pt/c:v/text()", namespaces=C)


@settings(max_examples=60, deadline=None)
@given(st.lists(st.tuples(titles, st.one_of(st.none(), days), days, st.booleans()), min_size=1, max_size=12), days)
def test_a_milestone_calendar_from_any_titles_and_dates(rows, as_of):
    milestones = [
        {
            "title": t,
            "baseline": base,
            "forecast": when,
            "actual": when if reached else None,
            "status": MilestoneStatus.REACHED if reached else MilestoneStatus.LATE,
        }
        for t, base, when, reached in rows
    ]
    chart = charts.timeline_chart(milestones, as_of)
    labels = _categories(chart)
    assert len(labels) == len(rows)
    assert all(len(label) <= 40 and "\x0b" not in label for label in labels)
    assert chart.alt.startswith("Calendrier des jalons : ")


@settings(max_examples=60, deadline=None)
@given(st.lists(st.tuples(amounts, amounts, amounts), min_size=1, max_size=6), st.sampled_from(["EUR", "XPF", "USD"]))
def test_budget_and_execution_charts_from_any_amounts(values, currency):
    budget = [{"year": 2024 + i, "cp_planned": a, "engaged": b, "paid": c} for i, (a, b, c) in enumerate(values)]
    chart = charts.budget_chart(budget, currency)
    assert _categories(chart) == [str(r["year"]) for r in budget]
    unit = "millions de F CFP" if currency == "XPF" else None
    if unit:
        assert f"(en {unit})" in chart.xml.decode()
    execution = charts.execution_chart(
        [(f"Direction {i} & <co>", a, c) for i, (a, _, c) in enumerate(values)], currency
    )
    assert _categories(execution) == [f"Direction {i} & <co>" for i in range(len(values))]


def test_a_control_character_pasted_into_a_title_is_dropped():
    chart = charts.timeline_chart(
        [
            {
                "title": "Réception\x0b des\x00 travaux",
                "baseline": date(2026, 1, 1),
                "forecast": None,
                "actual": None,
                "status": MilestoneStatus.AHEAD,
            }
        ],
        date(2026, 1, 1) + timedelta(days=3),
    )
    assert _categories(chart) == ["Réception des travaux"]
