"""The same portfolio on 6 December and on 7 January, nothing edited: the calendar alone moves no
météo. The January météo of an operation changes only for a fact dated between the two runs (a
milestone that passed its date unreached, a deadline that passed), never because the new year's
CP are not paid yet (the issue saw running operations in Orage go from 5 to 11 for that)."""

from __future__ import annotations

import io
from datetime import date

import pytest
from docx import Document

from connector.pipeline import build_portfolio
from tests.support.sync_helpers import config, seeded

DECEMBER, JANUARY = date(2026, 12, 6), date(2027, 1, 7)
DATED = ("jalon dépassé", "jalons dépassés", "caduque", "requis avant le")  # reasons a date passing explains


@pytest.fixture(scope="module")
def runs(tmp_path_factory):
    from emulator.server import start

    srv = start()
    try:
        seeded(srv)
        tmp = tmp_path_factory.mktemp("year")
        dec, *_ = build_portfolio(config(srv, tmp), as_of=DECEMBER)
        jan, *_ = build_portfolio(config(srv, tmp), as_of=JANUARY)
    finally:
        srv.stop()
    return dec, jan


def test_no_weather_moves_with_the_calendar_alone(runs):
    dec, jan = runs
    moved = []
    for code in dec.projects.index:
        a, b = dec.projects.loc[code], jan.projects.loc[code]
        if a["weather"] == b["weather"]:
            continue
        new = [r for r in b["weather_reasons"] if r not in a["weather_reasons"]]
        moved.append(code)
        assert new and all(any(w in r for w in DATED) for r in new), (code, a["weather"], b["weather"], new)
    assert len(moved) <= 3, moved  # a few milestones pass their date in a month, not a third of the portfolio
    running = lambda pf: pf.projects[pf.projects["running"]]  # noqa: E731
    storms = [int((running(pf)["weather"] == "Orage").sum()) for pf in (dec, jan)]
    assert storms[1] == storms[0], storms


def test_january_reasons_never_judge_the_new_year_s_cp(runs):
    _, jan = runs
    texts = [r for rs in jan.projects["weather_reasons"] for r in rs] + [a for al in jan.projects["alerts"] for a in al]
    assert not [t for t in texts if "CP 2027" in t and "mandatés" in t], "the year's CP judged in January"
    # the year's CP are projected from July only (cp_projection_from_month): nothing on 7 January
    assert not [f for fs in jan.projects["forecasts"] for f in fs if f["kind"] == "cp_non_consommes"]


def test_in_january_the_november_export_is_said_to_be_old(runs):
    """The sample's export is dated 23/11/2026: 13 days old on 6 December, 45 on 7 January — a
    finding then, and the figures it feeds say so."""
    from connector.reports.context import finance_note, project_context

    dec, jan = runs
    assert dec.finance_source["age_days"] == 13 and not dec.finance_source["stale"]
    assert jan.finance_source["age_days"] == 45 and jan.finance_source["stale"]
    assert not [f for f in dec.findings if "export financier du" in f.message]
    assert [f for f in jan.findings if "vieux de 45 jours" in f.message]
    # a fresh export is dated, not aged: its note reads the same every night until it is stale
    assert "« Export_AP_CP_2026-11-23.xlsx » du 23/11/2026 ;" in finance_note(dec)
    assert "vieux de 45 jours, plus de 30" in finance_note(jan)
    # a figure taken from the export, in a project report: PPI-2024-002's 2026 payments
    ctx = project_context(jan, "PPI-2024-002", collectivite="X", copil_date=JANUARY, previous=None)
    sources = {row["year"]: row["source"] for row in ctx["budget"]}
    assert sources["2026"] == "export financier du 23/11/2026 (ancien)"


def test_page_one_reads_the_closing_in_january_and_too_early_after_it(runs):
    """January's page 1 opens on how 2026 ended (from the export of 23/11/2026, before the year
    end: provisional); once the closing view is over (after 15 April) and before July, the year's
    CP are said too early to project, never « pas de crédits non consommés »."""
    import dataclasses

    from connector.reports.synthesis import money_messages

    dec, jan = runs
    assert dec.closing is None and money_messages(dec)[0].startswith("CP 2026 : environ ")
    assert jan.closing is not None and jan.closing.year == 2026 and jan.closing.until == date(2027, 4, 15)
    assert money_messages(jan)[0].startswith("Exercice 2026 (provisoire, export du 23/11/2026) : ")
    april = dataclasses.replace(jan, as_of=date(2027, 4, 20), closing=None)
    assert money_messages(april)[0] == (
        "CP 2027 : trop tôt dans l’exercice pour projeter les crédits non consommés au 31 décembre "
        "(projection à partir de juillet)."
    )


def test_january_closing_adds_up_from_the_export_and_the_lists(runs):
    """The closing's per-operation figures are the year 2026 rows of the budget table (the export
    for engaged/paid where it has the row, the lists for CP), and the synthesis totals are their
    sums; nothing of it in December."""
    from connector.reports.context import portfolio_context, project_context

    dec, jan = runs
    b = jan.budget[jan.budget["year"] == 2026].groupby("project_code")[["cp_planned", "paid", "engaged"]].sum()
    pr = jan.projects
    shown = pr[pr["closing_cp"].notna()]
    assert len(shown) == len(b[b["cp_planned"] > 0])
    for code, p in shown.iterrows():
        cp, paid, engaged = b.loc[code, "cp_planned"], b.loc[code, "paid"], b.loc[code, "engaged"]
        assert p["closing_unpaid"] == pytest.approx(max(cp - paid, 0))
        assert p["closing_rar"] == pytest.approx(max(engaged - paid, 0))
        expected = max(max(cp - paid, 0) - max(engaged - paid, 0), 0) if p["running"] else 0
        assert p["closing_revote"] == pytest.approx(expected), code
    port = portfolio_context(jan, collectivite="X", copil_date=JANUARY, previous=None)
    nb = lambda v: f"{v:,.0f}".replace(",", "\u202f") + "\u00a0€"  # noqa: E731
    assert port["closing"]["total"]["revote"] == nb(shown["closing_revote"].sum())
    assert port["closing"]["total"]["rar"] == nb(shown["closing_rar"].sum())
    assert len(port["closing"]["rows"]) == len(shown)
    # PPI-2024-001 by hand: CP 400 000, paid 240 000 and engaged 350 000 in the export
    rows = {
        r["label"]: r["value"]
        for r in project_context(jan, "PPI-2024-001", collectivite="X", copil_date=JANUARY, previous=None)["closing"][
            "rows"
        ]
    }
    assert rows["Non mandatés"] == nb(160_000) and rows["CP à réinscrire au budget 2027"] == nb(50_000)
    assert portfolio_context(dec, collectivite="X", copil_date=DECEMBER, previous=None)["closing"]["rows"] == []


def _january_documents(runs):
    from pathlib import Path

    from connector.pipeline import snapshot
    from connector.reports.render import render_portfolio, render_project

    dec, jan = runs
    templates = Path(__file__).resolve().parents[2] / "docx_templates"
    syn = render_portfolio(
        jan,
        template_path=templates / "synthese_portefeuille.docx",
        collectivite="Belcourt",
        copil_date=JANUARY,
        previous=snapshot(dec),
        previous_date=DECEMBER,
    )
    proj = render_project(
        jan,
        "PPI-2024-001",
        template_path=templates / "rapport_copil.docx",
        collectivite="Belcourt",
        copil_date=JANUARY,
        previous=snapshot(dec)["PPI-2024-001"],
        previous_date=DECEMBER,
    )
    return Document(io.BytesIO(syn)), Document(io.BytesIO(proj))


def test_january_documents_carry_the_closing(runs):
    """In the .docx a reader opens: the synthesis' « Clôture de l’exercice 2026 » table with its
    total row, and the project report's closing table, each with the basis of its figures."""
    syn, proj = _january_documents(runs)
    heads = [p.text for p in syn.paragraphs if p.style.name.startswith("Heading")]
    assert "Clôture de l’exercice 2026" in heads
    assert heads.index("Clôture de l’exercice 2026") < heads.index("AP/CP pluriannuel du PPI")
    table = next(t for t in syn.tables if t.rows[0].cells[-1].text == "CP à réinscrire")
    assert table.rows[-1].cells[0].text == "Total"
    texts = "\n".join(p.text for p in syn.paragraphs)
    assert "antérieure au 31/12/2026 : chiffres provisoires" in texts
    kv = {r.cells[0].text: r.cells[1].text for t in proj.tables if len(t.columns) == 2 for r in t.rows}
    assert kv["CP 2026 votés"] == "400\u202f000\u00a0€" and kv["CP à réinscrire au budget 2027"] == "50\u202f000\u00a0€"


@pytest.mark.pdf
@pytest.mark.skipif(
    not (__import__("shutil").which("soffice") and __import__("shutil").which("pdftotext")),
    reason="LibreOffice or poppler-utils absent (make render-tools installs them)",
)
def test_january_page_one_holds_the_closing_when_printed(runs, tmp_path):
    """Printed, January's page 1 still ends with its last money message, the closing first."""
    import re

    from jobs.render import page_texts, to_pdf

    syn, _ = _january_documents(runs)
    syn.save(str(tmp_path / "syn.docx"))
    (pdf,) = to_pdf([tmp_path / "syn.docx"], tmp_path / "pdf")
    flat = lambda s: re.sub(r"\s+", " ", s.replace("\u202f", " ").replace("\u00a0", " "))  # noqa: E731
    pages = [flat(p) for p in page_texts(pdf)]
    assert "Exercice 2026 (provisoire, export du 23/11/2026)" in pages[0]
    assert "Besoin de financement estimé au-delà des AP" in pages[0] and "DETR/DSIL" in pages[0], pages[0][-500:]
    assert "Météo du portefeuille" in pages[1][:200]


def test_a_closed_operation_with_an_approximate_ap_reads_the_same_everywhere(runs):
    """PPI-2023-004 (closed, AP typed « env. 3M », 6 110 500 € paid, AP affectée 6 400 000 € in the
    export): the synthesis' closed operations table says the overrun stands on an AP to confirm
    and within the AP affectée, as its report does; its closing has nothing to cancel."""
    from connector.reports.context import project_context
    from connector.reports.synthesis import closed

    _, jan = runs
    row = next(r for r in closed(jan) if r["code"] == "PPI-2023-004")
    assert row["ap_voted"] == "≈ 3\u202f000\u202f000\u00a0€ (à confirmer)"
    assert row["balance"] == (
        "dépassement de 3\u202f110\u202f500\u00a0€ (sur l’AP à confirmer) ; dans l’AP affectée (6\u202f400\u202f000\u00a0€)"
    )
    ctx = project_context(jan, "PPI-2023-004", collectivite="X", copil_date=JANUARY, previous=None)
    assert "AP dépassée de 3\u202f110\u202f500\u00a0€ (sur l’AP à confirmer)" in ctx["figures"]["remaining_to_pay"]
    rows = {r["label"]: r["value"] for r in ctx["closing"]["rows"]}
    assert rows["CP à réinscrire au budget 2027"] == "– (opération close)"
    # a closed operation with a balance: « à annuler » in the closing as in the closed table
    other = next(r for r in closed(jan) if r["balance"].endswith("à annuler"))
    ctx = project_context(jan, other["code"], collectivite="X", copil_date=JANUARY, previous=None)
    if ctx["closing"]["rows"]:
        rows = {r["label"]: r["value"] for r in ctx["closing"]["rows"]}
        assert rows["CP à réinscrire au budget 2027"] == "– (opération close : solde de l’AP à annuler)"
