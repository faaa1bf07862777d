"""copil command line: exit codes, status table, masking, check and demo end to end."""
from __future__ import annotations

import json
import sys
import types
from pathlib import Path

import pytest
from typer.testing import CliRunner

import jobs.cli as cli
from jobs.nightly import exit_code_for
from jobs.output import mask, register_secret

runner = CliRunner()


def _ns(**kw):
    return types.SimpleNamespace(**kw)


class ConfigError(Exception):
    pass


class SchemaError(Exception):
    pass


class AuthError(Exception):
    pass


def test_exit_codes_by_exception_kind():
    assert exit_code_for(ConfigError("x")) == 2
    assert exit_code_for(AuthError("x")) == 3
    assert exit_code_for(SchemaError("x")) == 4
    assert exit_code_for(RuntimeError("x")) == 1
    e = RuntimeError("x")
    e.exit_code = 5
    assert exit_code_for(e) == 5


def test_mask_known_secret_and_shapes():
    register_secret("s3cr3t-passphrase-value")
    out = mask('Authorization: Bearer eyJhbGciOi.abc passphrase="s3cr3t-passphrase-value" '
               "token=abcdef123 ok")
    assert "eyJhbGciOi" not in out and "s3cr3t" not in out and "abcdef123" not in out
    assert out.endswith("ok")


def test_json_output_is_masked(monkeypatch, tmp_path):
    register_secret("write-token-very-secret")

    def bad_load(path):
        raise ConfigError("jeton refusé: write-token-very-secret, en-tête Bearer abcdefghijkl")

    monkeypatch.setattr(cli, "load", bad_load)
    res = runner.invoke(cli.app, ["--json", "sync", "--config", str(tmp_path / "c.toml")])
    assert res.exit_code == 2
    out = res.output + (res.stderr if hasattr(res, "stderr") else "")
    assert "write-token-very-secret" not in out and "abcdefghijkl" not in out
    lines = [json.loads(line) for line in out.splitlines() if line.strip()]
    assert lines and all("msg" in line for line in lines)
    assert any("***" in line["msg"] for line in lines)


def test_status_lists_last_runs(monkeypatch, tmp_path):
    runs = [
        {"run_id": "r2", "started_at": "2026-11-24 02:00:03", "duration_s": 42.5,
         "status": "partial", "projects": 40, "written": 12, "findings": 7, "failed": 1,
         "exit_code": 5},
        {"run_id": "r1", "started_at": "2026-11-23 02:00:02", "duration_s": 40.0,
         "status": "ok", "projects": 40, "written": 3, "findings": 6, "failed": 0, "exit_code": 0},
    ]
    seen = {}

    class FakeState:
        def __init__(self, url):
            seen["url"] = url

        def runs(self, limit):
            seen["limit"] = limit
            return runs[:limit]

    monkeypatch.setattr(cli, "load", lambda p: _ns(state=_ns(url="sqlite:///x.db")))
    monkeypatch.setitem(sys.modules, "connector.state", _ns(State=FakeState))
    res = runner.invoke(cli.app, ["status", "--config", "x.toml", "--limit", "2"])
    assert res.exit_code == 0, res.output
    assert seen == {"url": "sqlite:///x.db", "limit": 2}
    assert "2026-11-24 02:00:03" in res.output and "42.5 s" in res.output
    assert "partial" in res.output and "12" in res.output


def test_emulator_token_spec_is_validated():
    assert cli._parse_tokens(["abc:write:projets"]) == {"abc": {"role": "write", "site": "projets"}}
    with pytest.raises(Exception):
        cli._parse_tokens(["abc:admin"])


# --- against the emulator (once emulator and connector have landed) -----------------
@pytest.fixture
def live_site():
    server = pytest.importorskip("emulator.server")
    sample = pytest.importorskip("emulator.sample")
    pytest.importorskip("connector.config")
    pytest.importorskip("connector.sp")
    srv = server.start(port=0)
    sample.seed_site(srv.backend, "projets", projects=8)
    yield srv
    srv.stop()


def _config(tmp_path: Path, srv, extra: str = "") -> Path:
    p = tmp_path / "copil.toml"
    p.write_text(f"""
[collectivite]
name = "Commune test"
[sharepoint]
site_url = "{srv.site_url('projets')}"
auth = "bearer"
token_env = "COPIL_TEST_TOKEN"
[state]
url = "sqlite:///{(tmp_path / 'state.db').as_posix()}"
{extra}
""", encoding="utf-8")
    return p


def test_check_ok_then_wrong_column_is_named(live_site, tmp_path, monkeypatch):
    monkeypatch.setenv("COPIL_TEST_TOKEN", live_site.tokens["write"])
    res = runner.invoke(cli.app, ["check", "--config", str(_config(tmp_path, live_site))])
    assert res.exit_code == 0, res.output
    bad = _config(tmp_path, live_site,
                  '[lists.projects.columns]\ndirection = "Direction pilot"\n')
    res = runner.invoke(cli.app, ["check", "--config", str(bad)])
    out = res.output + (res.stderr if hasattr(res, "stderr") else "")
    assert res.exit_code == 4, out
    assert "Direction pilot" in out and "Direction pilote" in out


def test_demo_end_to_end_leaves_docx(tmp_path):
    pytest.importorskip("emulator.server")
    pytest.importorskip("emulator.sample")
    pytest.importorskip("connector.pipeline")
    docx = pytest.importorskip("docx")
    out = tmp_path / "demo"
    res = runner.invoke(cli.app, ["demo", "--projects", "8", "--out", str(out)])
    assert res.exit_code in (0, 5), res.output
    files = sorted(out.rglob("*.docx"))
    assert files, res.output
    for f in files[:3]:
        assert docx.Document(str(f)).paragraphs is not None
