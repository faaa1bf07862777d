"""Finance exports as the finance software produces them (xlsx with title lines, csv in cp1252)."""

from connector import schema
from connector.extract import _read_table, parse_finance_table
from sample.collectivite import generate


def test_xlsx_export_with_title_lines():
    s = generate(3)
    rows, problems = parse_finance_table(
        "x.xlsx", _read_table("x.xlsx", s.finance_export, None), schema.FINANCE_EXPORT_COLUMNS
    )
    assert not problems
    first = rows[0]
    assert first["code"] == "PPI-2024-001" and first["year"] == 2024 and first["_row"] == 5


def test_csv_export_semicolons_cp1252_and_missing_column():
    text = (
        "Export Astre - Ville de Belcourt\r\n\r\nCode opération;Exercice;Engagé;Mandaté\r\n"
        "PPI-2024-001;2026;350 000,00;240 000,00\r\n;;;\r\nPPI-2024-002;2026;1 500 000;1 425 000\r\n"
    )
    rows, problems = parse_finance_table(
        "export.csv", _read_table("export.csv", text.encode("cp1252"), None), schema.FINANCE_EXPORT_COLUMNS
    )
    assert [r["code"] for r in rows] == ["PPI-2024-001", "PPI-2024-002"]
    assert rows[0]["paid"] == "240 000,00" and rows[1]["_row"] == 6
    assert [p.column for p in problems] == ["AP affectée"]


def test_export_without_header_row_is_a_finding():
    rows, problems = parse_finance_table("vide.csv", [["a", "b"], ["1", "2"]], schema.FINANCE_EXPORT_COLUMNS)
    assert rows == [] and "en-tête" in problems[0].message
