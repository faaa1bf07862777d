"""Secrets planted in every secret setting never appear in any output: console, -v and --json
logs, exceptions, the state database, dead-letter files, reports."""

from __future__ import annotations

import zipfile
from pathlib import Path

from typer.testing import CliRunner

import jobs.cli as cli
from emulator import auth
from tests.support.sync_helpers import seeded

runner = CliRunner()
TOKEN = "SECRET-TOKEN-7f3a9c1e-planted"
FILE_TOKEN = "SECRET-FILETOKEN-44b2-planted"
PASSPHRASE = "SECRET-PASSPHRASE-91d0-planted"
PASSWORD = "SECRET-PASSWORD-5e6f-planted"
ALL = (TOKEN, FILE_TOKEN, PASSPHRASE, PASSWORD)


def _everything(tmp_path: Path, outputs: list[str]) -> str:
    text = "\n".join(outputs)
    for f in tmp_path.rglob("*"):
        if not f.is_file() or f.name == "token.txt":  # the secret's own file
            continue
        data = f.read_bytes()
        if f.suffix == ".docx":
            with zipfile.ZipFile(f) as z:
                data = b"".join(z.read(n) for n in z.namelist())
        text += data.decode("utf-8", "replace")
    return text


def _out(res) -> str:
    return res.output + (res.stderr if hasattr(res, "stderr") else "")


def test_no_planted_secret_in_any_output(emulator, tmp_path, monkeypatch):
    seeded(emulator, 4)
    emulator.auth.grants[TOKEN] = auth.Grant(TOKEN, "write")
    monkeypatch.setenv("COPIL_SECRET_TOKEN", TOKEN)
    monkeypatch.setenv("COPIL_SECRET_PASSPHRASE", PASSPHRASE)
    monkeypatch.setenv("COPIL_SECRET_PASSWORD", PASSWORD)
    (tmp_path / "token.txt").write_text(FILE_TOKEN, encoding="utf-8")
    emulator.admin(
        "POST", "faults", json={"error_paths": [{"pattern": r"getItemById\(3\)/ValidateUpdateListItem", "status": 409}]}
    )
    cfg = tmp_path / "copil.toml"
    base = f"""[sharepoint]
site_url = "{emulator.site_url("projets")}"
auth = "bearer"
token_env = "COPIL_SECRET_TOKEN"
[state]
url = "sqlite:///{(tmp_path / "state.db").as_posix()}"
dead_letter_dir = "lettres"
"""
    cfg.write_text(base, encoding="utf-8")
    outputs = []
    for args in (
        ["-v", "sync", "--config", str(cfg)],
        ["--json", "-v", "sync", "--config", str(cfg)],
        ["-v", "check", "--config", str(cfg)],
        ["status", "--config", str(cfg)],
        ["report", "--config", str(cfg), "--out", str(tmp_path / "rapports")],
    ):
        res = runner.invoke(cli.app, args)
        outputs.append(_out(res))
        if res.exception and not isinstance(res.exception, SystemExit):
            outputs.append(repr(res.exception))
    assert "dead_letter" in outputs[1] and list((tmp_path / "lettres").glob("*.json"))
    # a refused token, a token file, a certificate passphrase, an NTLM password: each in an error path
    emulator.admin("DELETE", "faults")
    for extra in (
        'token_env = ""\ntoken_file = "token.txt"\n',
        'auth = "certificate"\ntenant_id = "t"\nclient_id = "c"\ncertificate_path = "absent.pem"\n'
        'passphrase_env = "COPIL_SECRET_PASSPHRASE"\n',
        'auth = "ntlm"\nusername = "MAIRIE\\\\svc"\npassword_env = "COPIL_SECRET_PASSWORD"\n',
    ):
        text = base.replace(
            'auth = "bearer"\ntoken_env = "COPIL_SECRET_TOKEN"\n',
            'auth = "bearer"\n' + extra if extra.startswith("token_env") else extra,
        )
        cfg.write_text(text, encoding="utf-8")
        for args in (["-v", "check", "--config", str(cfg)], ["--json", "-v", "sync", "--config", str(cfg)]):
            res = runner.invoke(cli.app, args)
            outputs.append(_out(res))
    everything = _everything(tmp_path, outputs)
    leaked = [s for s in ALL if s in everything]
    assert not leaked, leaked
    assert "1" in everything  # something was written at all
