"""French and sloppy values as staff type them."""

from datetime import date

import pytest

from connector.parse import parse_amount, parse_date, parse_percent


@pytest.mark.parametrize(
    "raw,expected",
    [
        ("1 234 567,89 €", 1234567.89),
        ("1\u202f234\u202f567,89\u00a0€", 1234567.89),
        ("1.234.567,89", 1234567.89),
        ("12 000,50 €", 12000.5),
        ("12 k€", 12000.0),
        ("1,2 M€", 1200000.0),
        ("3M", 3e6),
        ("1250000", 1250000.0),
        ("1 250 000,00", 1250000.0),
        ("12 000 € HT", 12000.0),
        ("1.250", 1250.0),
        (1200, 1200.0),
        ("2 Mds €", 2e9),
        ("", None),
        (None, None),
        ("-", None),
    ],
)
def test_amounts(raw, expected):
    value, problem = parse_amount(raw)
    assert value == expected and problem is None


def test_approximate_amount_is_used_and_flagged():
    value, problem = parse_amount("env. 3M")
    assert value == 3e6 and "approximatif" in problem


@pytest.mark.parametrize("raw", ["à définir", "n.c.", "?", "trois millions", "12,5,3 €"])
def test_unusable_amounts(raw):
    value, problem = parse_amount(raw)
    assert value is None and raw in problem


@pytest.mark.parametrize(
    "raw,expected",
    [
        ("45 %", 0.45),
        ("45%", 0.45),
        ("45", 0.45),
        ("0,45", 0.45),
        (45, 0.45),
        (0.45, 0.45),
        ("100 %", 1.0),
        ("0 %", 0.0),
    ],
)
def test_percentages(raw, expected):
    assert parse_percent(raw) == (pytest.approx(expected), None)


@pytest.mark.parametrize("raw", ["120 %", "moitié", "-5 %"])
def test_bad_percentages(raw):
    value, problem = parse_percent(raw)
    assert value is None and problem


@pytest.mark.parametrize(
    "raw,expected",
    [
        ("22/11/2026", date(2026, 11, 22)),
        ("22/11/26", date(2026, 11, 22)),
        ("2026-11-22", date(2026, 11, 22)),
        ("22.11.2026", date(2026, 11, 22)),
        ("22 novembre 2026", date(2026, 11, 22)),
        ("1er juillet 2026", date(2026, 7, 1)),
        # SharePoint date-only value: Paris midnight stored as the previous day in UTC
        ("2026-03-31T22:00:00Z", date(2026, 4, 1)),
        ("2026-11-30T23:00:00Z", date(2026, 12, 1)),
    ],
)
def test_dates(raw, expected):
    assert parse_date(raw) == (expected, None)


def test_date_in_another_time_zone():
    assert parse_date("2026-03-31T22:00:00Z", tz="Pacific/Noumea") == (date(2026, 4, 1), None)
    assert parse_date("2026-03-31T10:00:00Z", tz="Pacific/Noumea") == (date(2026, 3, 31), None)


@pytest.mark.parametrize(
    "raw,fragment", [("31/02/2025", "inexistante"), ("le 3 mars", "illisible"), ("bientôt", "jj/mm/aaaa")]
)
def test_bad_dates(raw, fragment):
    value, problem = parse_date(raw)
    assert value is None and fragment in problem and raw in problem


def test_rich_text_columns_become_plain_text():
    from connector.parse import parse_text

    raw = '<div class="ExternalClass1">Valider l&#39;avenant n°2<br>Arbitrer A &amp; B</div><div>&#160;</div>'
    assert parse_text(raw) == "Valider l'avenant n°2\nArbitrer A & B"
    assert parse_text("Voirie & réseaux <lot 2> {{ x }}") == "Voirie & réseaux <lot 2> {{ x }}"  # not HTML
