"""What a DSI needs to run copil for years (issue 25): the version, what one night did in detail,
the findings as a spreadsheet, a health check for monitoring, a rotated log file, and a README
that lists every command and the sections the service unit refers to."""

from __future__ import annotations

import csv
import io
import re
from pathlib import Path

import pytest
import typer
from typer.testing import CliRunner

import jobs.cli as cli
from connector import __version__

ROOT = Path(__file__).resolve().parents[2]
runner = CliRunner()


def _out(res) -> str:
    return res.output + (res.stderr or "")


@pytest.fixture
def site_config(emulator, tmp_path, monkeypatch):
    from tests.support.sync_helpers import seeded

    seeded(emulator, 5)
    cfg = tmp_path / "copil.toml"
    cfg.write_text(
        f'[sharepoint]\nsite_url = "{emulator.site_url("projets")}"\nauth = "bearer"\ntoken_env = "COPIL_DSI"\n'
        f'[state]\nurl = "sqlite:///{(tmp_path / "s.db").as_posix()}"\n[reports]\nenabled = false\n'
        f'[logging]\nfile = "{(tmp_path / "log" / "copil.log").as_posix()}"\nmax_megabytes = 0.002\nkeep = 3\n',
        encoding="utf-8",
    )
    monkeypatch.setenv("COPIL_DSI", emulator.tokens["write"])
    return cfg


def test_version():
    res = runner.invoke(cli.app, ["--version"])
    assert res.exit_code == 0 and res.output.strip() == f"copil {__version__}"


def test_health_status_run_and_findings_csv(emulator, site_config, tmp_path):
    cfg = str(site_config)
    res = runner.invoke(cli.app, ["health", "--config", cfg])
    assert res.exit_code == 2 and "CRITIQUE" in res.output and "jamais" in res.output, _out(res)

    res = runner.invoke(cli.app, ["sync", "--config", cfg])
    assert res.exit_code == 0, _out(res)
    res = runner.invoke(cli.app, ["health", "--config", cfg, "--max-age", "26h"])
    assert res.exit_code == 0 and res.output.startswith("OK - dernière synchronisation réussie il y a "), _out(res)
    res = runner.invoke(cli.app, ["health", "--config", cfg, "--max-age", "0s"])
    assert res.exit_code == 2, _out(res)
    res = runner.invoke(cli.app, ["health", "--config", cfg, "--max-age", "demain"])
    assert res.exit_code == 2 and "durée illisible « demain »" in _out(res), _out(res)

    res = runner.invoke(cli.app, ["status", "--config", cfg, "--run", "1"], terminal_width=200)
    out = _out(res)
    assert res.exit_code == 0, out
    assert "Exécution n° 1 du " in out and "réussie" in out
    assert "5 éléments écrits dans la liste des projets" in out
    assert re.search(r"PPI-\d{4}-\d{3} \(élément \d+\) : .*Météo calculée", out), out
    assert "computed_weather" not in out, "columns as the list shows them"
    assert "anomalie" in out and "0 erreur." in out, out

    from connector.state import State

    db = State(f"sqlite:///{(tmp_path / 's.db').as_posix()}")
    stored = db.findings(1)
    assert stored, "the sample has findings"
    target = tmp_path / "anomalies.csv"
    res = runner.invoke(cli.app, ["findings", "--config", cfg, "--csv", str(target)])
    assert res.exit_code == 0, _out(res)
    raw = target.read_bytes()
    assert raw.startswith("\ufeff".encode())  # Excel opens it as UTF-8
    rows = list(csv.reader(io.StringIO(raw.decode("utf-8-sig")), delimiter=";"))
    assert rows[0][:6] == ["Exécution", "Liste", "Élément", "Colonne", "Valeur saisie", "Problème"]
    assert len(rows) - 1 == len(stored)
    assert {r[5] for r in rows[1:]} == {f["message"] for f in stored}

    # a partial night: health warns (1), status --run shows the write that failed
    emulator.admin(
        "POST", "faults", json={"error_paths": [{"pattern": r"getItemById\(2\)/ValidateUpdateListItem", "status": 409}]}
    )
    site = emulator.backend.site("projets")
    lst = site.list_by_title("Projets")
    weather = lst.field_by_title("Météo calculée").internal_name
    lst.update_item(lst.items[2], {weather: None}, lst.items[2].editor_id)  # cleared: copil will write it again
    res = runner.invoke(cli.app, ["sync", "--config", cfg])
    assert res.exit_code == 5, _out(res)
    res = runner.invoke(cli.app, ["health", "--config", cfg])
    assert res.exit_code == 1 and res.output.startswith("AVERTISSEMENT - dernière exécution n° 2 : partielle"), _out(
        res
    )
    res = runner.invoke(cli.app, ["status", "--config", cfg, "--run", "2"], terminal_width=200)
    assert "1 erreur" in _out(res) and "élément 2 : " in _out(res), _out(res)
    res = runner.invoke(cli.app, ["status", "--config", cfg, "--run", "99"])
    assert res.exit_code == 2 and "aucune exécution n° 99" in _out(res)

    # a dry run's findings are kept with it
    res = runner.invoke(cli.app, ["sync", "--config", cfg, "--dry-run"])
    assert res.exit_code in (0, 5), _out(res)
    assert {f["message"] for f in db.findings(3)} >= {f["message"] for f in stored}, "dry-run findings are kept"

    # the log file: written, masked, rotated at its size, at most `keep` old files
    logs = sorted((tmp_path / "log").iterdir())
    assert logs[0].name == "copil.log" and 1 < len(logs) <= 4, logs
    text = "".join(p.read_text(encoding="utf-8") for p in logs)
    assert "Synchronisation terminée" in text
    assert emulator.tokens["write"] not in text


def test_the_readme_lists_every_command_and_the_service_sections():
    """sqlite-utils' rule: a command the README does not mention does not exist for its users."""
    readme = (ROOT / "README.md").read_text(encoding="utf-8")
    commands = sorted(typer.main.get_command(cli.app).commands)  # type: ignore[attr-defined]
    missing = [c for c in commands if f"copil {c}" not in readme]
    assert missing == [], missing
    for section in ("## Running as a service", "## Upgrading", "## Removing copil"):
        assert section in readme, section
    unit = (ROOT / "deploy" / "copil.service").read_text(encoding="utf-8")
    assert "Running as a service" in unit
    several = (ROOT / "deploy" / "copil@.service").read_text(encoding="utf-8")
    assert "%i" in several and "copil schedule" in several


def test_a_state_database_nobody_can_write_is_exit_2_naming_it_never_busy(tmp_path, monkeypatch):
    """The probe: `sync` said « une synchronisation est déjà en cours … (?) » (exit 6) while
    `unlock` said there was no lock. A state nobody can write is a configuration error (exit 2)
    naming it: a folder that cannot be written (here under /proc, which even root cannot write),
    and a database file opened read-only (the lock's first write)."""
    from connector.errors import ConfigError
    from connector.state import State
    from jobs.lock import RunLock, make_engine

    cfg = tmp_path / "c.toml"
    cfg.write_text(
        '[sharepoint]\nsite_url = "http://127.0.0.1:9/sites/p"\nauth = "bearer"\ntoken_env = "COPIL_RO"\n'
        '[state]\nurl = "sqlite:////proc/copil-etat/etat.db"\n',
        encoding="utf-8",
    )
    monkeypatch.setenv("COPIL_RO", "x")
    for command in ("sync", "check"):
        res = runner.invoke(cli.app, [command, "--config", str(cfg)])
        out = _out(res)
        assert res.exit_code == 2, (command, out)
        assert "state.url" in out and "/proc/copil-etat/etat.db" in out, out
        assert "déjà en cours" not in out

    db = tmp_path / "etat.db"
    State(f"sqlite:///{db.as_posix()}")  # created with its tables, then opened read-only
    with pytest.raises(ConfigError) as e:
        RunLock(make_engine(f"sqlite:///file:{db.as_posix()}?mode=ro&uri=true")).acquire("copil:sync")
    assert "state.url" in str(e.value) and "readonly" in str(e.value)
