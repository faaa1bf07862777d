"""A report template is data, never code: a hostile template planted in the SharePoint library
(or the local folder) is refused before anything is written, and even rendered directly it
cannot reach Python's internals."""

from __future__ import annotations

import io
from pathlib import Path

import pytest
from docx import Document
from jinja2.exceptions import SecurityError
from typer.testing import CliRunner

import jobs.cli as cli
from connector.errors import ConfigError
from connector.pipeline import run_sync
from connector.reports.render import render, validate_template
from tests.support.sync_helpers import AS_OF, config, seeded, writes

TEMPLATES = Path(__file__).resolve().parents[2] / "docx_templates"


def _payload(marker: Path) -> str:
    return (
        "{% for c in ''.__class__.__mro__[1].__subclasses__() %}{% if c.__name__ == 'Popen' %}"
        f"{{{{ c(['touch', '{marker}']) }}}}{{% endif %}}{{% endfor %}}"
    )


def _hostile(tmp_path: Path, text: str, where: str = "body") -> Path:
    doc = Document(TEMPLATES / "rapport_copil.docx")
    if where == "body":
        doc.add_paragraph(text)
    else:
        doc.core_properties.title = text
    path = tmp_path / "rapport_copil.docx"
    doc.save(path)
    return path


@pytest.mark.parametrize("where", ["body", "properties"])
def test_validation_refuses_the_payload(tmp_path, where):
    marker = tmp_path / "pwned"
    with pytest.raises(ConfigError) as e:
        validate_template(_hostile(tmp_path, _payload(marker), where), "project")
    assert "non documenté" in str(e.value) or "appelle" in str(e.value)
    assert not marker.exists()


@pytest.mark.parametrize(
    "text,what",
    [
        ("{{ project.title.__class__ }}", "__class__"),
        ("{{ project.title.upper() }}", "appelle"),
        ("{{ figures.ap_voted.secret }}", "secret"),
        ("{{ cycler.__init__.__globals__ }}", "non documenté"),
        ("{{ lipsum() }}", "appelle"),
    ],
)
def test_validation_names_what_it_refuses(tmp_path, text, what):
    with pytest.raises(ConfigError) as e:
        validate_template(_hostile(tmp_path, text), "project")
    assert what in str(e.value)


def test_documented_attributes_and_loops_are_allowed(tmp_path):
    ok = "{% for m in milestones %}{{ loop.index }} {{ m.title }} {{ m['status'] }}{% endfor %} {{ project.title|upper }}"
    validate_template(_hostile(tmp_path, ok), "project")


def test_rendering_is_sandboxed_even_without_validation(tmp_path):
    from connector.reports.variables import _sample_contexts

    marker = tmp_path / "pwned"
    path = _hostile(tmp_path, _payload(marker))
    with pytest.raises(SecurityError):
        render(path, _sample_contexts()[0], {})
    assert not marker.exists()


def test_payload_in_the_template_library_stops_the_run_and_check(emulator, tmp_path, monkeypatch):
    site = seeded(emulator, 3)
    site.create_list("Modèles COPIL", 101)
    marker = tmp_path / "pwned"
    buf = io.BytesIO(_hostile(tmp_path, _payload(marker)).read_bytes())
    site.add_file("Modèles COPIL", "", "rapport_copil.docx", buf.getvalue())
    cfg = config(emulator, tmp_path, reports={"enabled": True, "template_library": "Modèles COPIL"})
    with pytest.raises(ConfigError):
        run_sync(cfg, as_of=AS_OF)
    assert not writes(emulator.stats()["by_route"])
    assert not marker.exists()
    toml = tmp_path / "c.toml"
    toml.write_text(
        f'''[sharepoint]
site_url = "{emulator.site_url("projets")}"
auth = "bearer"
token_env = "COPIL_T"
[state]
url = "sqlite:///{(tmp_path / "s.db").as_posix()}"
[reports]
template_library = "Modèles COPIL"
''',
        encoding="utf-8",
    )
    monkeypatch.setenv("COPIL_T", emulator.tokens["write"])
    res = CliRunner().invoke(cli.app, ["check", "--config", str(toml)])
    assert res.exit_code == 2 and "Modèles de rapport" in res.output + (res.stderr or "")
    assert not marker.exists()
