"""Everything the command line says is French (issue 25): every command's help, Typer's own
words (« [obligatoire] », « Afficher ce message et quitter »), its usage errors, the main unhappy
paths, a run's summary and status. A list of English words that must never show."""

from __future__ import annotations

import re
from pathlib import Path

import pytest
import typer
from typer.testing import CliRunner

import jobs.cli as cli
from jobs.output import count, seconds

runner = CliRunner()

ENGLISH = re.compile(
    r"\b(the|and|show|this|exit|required|missing|error|invalid|value|such|command|try|default|partial|"
    r"failed|aborted|input|should|unexpected|extra|got|possible|dead|letters?|running|interrupted|"
    r"none|true|false|null|nan|traceback)\b",
    re.IGNORECASE,
)


def _english(text: str) -> list[str]:
    """English words outside what is code: `keys`, --options, paths and addresses."""
    text = re.sub(r"`[^`]*`", " ", text)
    text = re.sub(r"(?<![\w-])--?[\w-]+", " ", text)
    text = re.sub(r"(?:https?://|/)[^\s»]+", " ", text)
    return sorted({m.group(0) for m in ENGLISH.finditer(text)})


def _out(res) -> str:
    return res.output + (res.stderr or "")


COMMANDS = sorted(typer.main.get_command(cli.app).commands)  # type: ignore[attr-defined]


@pytest.mark.parametrize("args", [["--help"]] + [[name, "--help"] for name in COMMANDS])
def test_every_help_is_french(args):
    res = runner.invoke(cli.app, args, terminal_width=100)
    out = _out(res)
    assert res.exit_code == 0, out
    assert _english(out) == [], out
    assert "Afficher ce message et quitter" in out
    if args != ["--help"] and "--config" in out:
        assert "[obligatoire]" in out, out


@pytest.mark.parametrize(
    "args,expected",
    [
        (["nope"], "Commande inconnue : « nope »"),
        (["sync"], "Option obligatoire manquante : --config / -c"),
        (["sync", "--config", "x.toml", "--workers", "abc"], "un nombre entier est attendu"),
        (["sync", "--config", "x.toml", "--workers", "-1"], "la valeur doit être au moins 0"),
        (["sync", "--bogus"], "Option inconnue : --bogus"),
        (["report", "-c", "x.toml", "--project"], "L'option --project attend une valeur"),
        (["sync", "superflu", "--config", "x.toml"], "Argument(s) en trop : superflu"),
        (["check", "--config", "/nonexistent/copil.toml"], "fichier de configuration introuvable"),
    ],
)
def test_usage_errors_are_french(args, expected):
    res = runner.invoke(cli.app, args, terminal_width=100)
    out = _out(res)
    assert res.exit_code != 0
    assert expected in out, out
    assert _english(out) == [], out


def test_a_wrong_configuration_key_is_said_in_french(tmp_path):
    bad = tmp_path / "c.toml"
    bad.write_text('[sharepoint]\nsite_url = "http://x/sites/p"\nauth = "bearer"\nretries = 3\n', encoding="utf-8")
    res = runner.invoke(cli.app, ["check", "--config", str(bad)], terminal_width=100)
    out = _out(res)
    assert res.exit_code == 2, out
    assert "sharepoint.retries" in out, out
    assert _english(out) == [], out


def test_a_run_s_summary_and_status_are_french(emulator, tmp_path, monkeypatch):
    from tests.support.sync_helpers import seeded

    seeded(emulator, 3)
    cfg = tmp_path / "copil.toml"
    cfg.write_text(
        f'[sharepoint]\nsite_url = "{emulator.site_url("projets")}"\nauth = "bearer"\ntoken_env = "COPIL_FR"\n'
        f'[state]\nurl = "sqlite:///{(tmp_path / "s.db").as_posix()}"\n[reports]\nenabled = false\n',
        encoding="utf-8",
    )
    monkeypatch.setenv("COPIL_FR", emulator.tokens["write"])
    emulator.admin(
        "POST", "faults", json={"error_paths": [{"pattern": r"getItemById\(2\)/ValidateUpdateListItem", "status": 409}]}
    )
    res = runner.invoke(cli.app, ["sync", "--config", str(cfg)], terminal_width=160)
    out = _out(res)
    assert res.exit_code == 5, out
    assert "partielle" in out and "Échecs d'écriture" in out, out
    assert re.search(r"Durée\s+│?\s*\d+,\d s", out), out
    assert _english(out) == [], out
    res = runner.invoke(cli.app, ["status", "--config", str(cfg)], terminal_width=160)
    out = _out(res)
    assert "partielle" in out and _english(out) == [], out


def test_plurals_and_decimals():
    assert count(0, "élément écrit", "éléments écrits") == "0 élément écrit"
    assert count(1, "élément écrit", "éléments écrits") == "1 élément écrit"
    assert count(2, "élément écrit", "éléments écrits") == "2 éléments écrits"
    assert count(3, "anomalie") == "3 anomalies"
    assert seconds(11.26) == "11,3 s"


def test_findings_show_numbers_as_typed_in_french():
    from connector.normalize import _as_typed

    assert _as_typed(-500000.0).replace("\u202f", " ") == "-500 000"
    assert _as_typed(1e308) == "1E308"
    assert _as_typed(12.5) == "12,5"


def test_the_lock_s_time_is_the_collectivite_s(tmp_path, monkeypatch):
    """The lock held message gave UTC while `status` gave local time."""
    import time as time_mod

    from connector.config import from_dict
    from jobs.lock import RunLock, make_engine
    from jobs.nightly import RunInProgress, run_once

    cfg = from_dict(
        {
            "collectivite": {"timezone": "Pacific/Noumea"},
            "sharepoint": {"site_url": "http://127.0.0.1:9/sites/p", "auth": "bearer"},
            "state": {"url": f"sqlite:///{(tmp_path / 's.db').as_posix()}"},
        }
    )
    lock = RunLock(make_engine(cfg.state.url))
    assert lock.acquire("copil:sync")
    monkeypatch.setattr(lock, "release", lambda *a, **k: None)
    with pytest.raises(RunInProgress) as e:
        run_once(cfg, show_progress=False)
    from datetime import datetime
    from zoneinfo import ZoneInfo

    noumea = datetime.fromtimestamp(time_mod.time(), ZoneInfo("Pacific/Noumea")).strftime("%d/%m/%Y %H:")
    assert f"depuis le {noumea}" in str(e.value), str(e.value)
    Path(tmp_path / "s.db").unlink()


def test_one_spelling_of_the_undetermined_weather():
    """« Indéterminé » in the list and the command line, « Indéterminée » in the reports was two
    spellings of one word."""
    from connector.model import Weather

    root = Path(__file__).resolve().parents[2]
    assert all(w.label == w.value for w in Weather)
    for folder in ("connector", "jobs", "docx_templates"):
        for path in (root / folder).rglob("*.py"):
            assert "Indéterminée" not in path.read_text(encoding="utf-8"), path
