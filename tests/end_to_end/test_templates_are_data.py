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
from tests.support.sync_helpers import AS_OF, config, seeded

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


@pytest.mark.parametrize(
    "text,what",
    [
        ("{% include 'x' %}", "{% include %}"),
        ("{% extends 'x' %}", "{% extends %}"),
        ("{% import 'x' as y %}", "{% import %}"),
        ("{% from 'x' import y %}", "{% from … import %}"),
        ("{% macro m() %}x{% endmacro %}", "{% macro %}"),
        ("{{ project.code|attr('__class__') }}", "« attr »"),
        ("{{ project.code|attr('title') }}", "« attr »"),
        ("{{ milestones|map('upper')|list }}", "map(attribute='champ')"),
        ("{{ milestones|map(attribute='__class__')|list }}", "non documenté"),
        ("{{ milestones|selectattr('__class__')|list }}", "non documenté « __class__ »"),
        ("{{ milestones|sort(attribute='secret')|list }}", "non documenté"),
        ("{{ project.code|format(1) }}", "« format »"),
        ("{{ milestones|select('callable')|list }}", "test non autorisé"),
        ("{{ milestones|batch(999999999, 'x')|list }}", "« batch »"),
        ("{{ project.code|center(999999999) }}", "« center »"),
        ("{{ project.code|safe }}", "« safe »"),
        ("{% if project.code is callable %}x{% endif %}", "« callable »"),
        ("{{ 9**99999999 }}", "puissance trop grande"),
        ("{{ 'x' * 999999999 }}", "répétition trop grande"),
        ("{{ '%0999999999d' % 1 }}", "« % »"),
    ],
)
def test_a_template_is_a_closed_language(tmp_path, text, what):
    """Issue 25's probes: check exited 0 for an include (then 40 tracebacks), hung on a power,
    and let `attr` through although attributes are refused."""
    with pytest.raises(ConfigError) as e:
        validate_template(_hostile(tmp_path, text), "project")
    assert what in str(e.value), str(e.value)


def test_a_loop_bomb_over_the_documented_lists_stops_at_the_time_limit(tmp_path, monkeypatch):
    import connector.reports.render as render_mod

    monkeypatch.setattr(render_mod, "RENDER_SECONDS", 1.0)
    loops = 6  # over 50 copies of the milestones: 10¹³ turns
    text = (
        "{% set many = milestones * 50 %}"
        + "".join(f"{{% for a{i} in many %}}" for i in range(loops))
        + "x"
        + "{% endfor %}" * loops
    )
    with pytest.raises(ConfigError) as e:
        validate_template(_hostile(tmp_path, text), "project")
    assert "dépasse les limites" in str(e.value) and "interrompu après 0,5 s" in str(e.value), str(e.value)


def test_documented_attributes_and_loops_are_allowed(tmp_path):
    ok = (
        "{% for m in milestones %}{{ loop.index }} {{ m.title }} {{ m['status'] }}{% endfor %} {{ project.title|upper }}"
        "{{ milestones|map(attribute='title')|join(', ') }} {{ milestones|selectattr('title')|list|length }}"
        "{{ '-' * 40 }} {{ 2 ** 10 }} {{ project.title|truncate(30) }}"
    )
    validate_template(_hostile(tmp_path, ok), "project")


def test_rendering_is_sandboxed_even_without_validation(tmp_path):
    from connector.reports.variables import _sample_contexts

    marker = tmp_path / "pwned"
    path = _hostile(tmp_path, _payload(marker))
    with pytest.raises(SecurityError):
        render(path, _sample_contexts()[0], {})
    assert not marker.exists()


def test_a_refused_template_in_the_library_stops_the_reports_not_the_night(emulator, tmp_path, monkeypatch):
    """The lists are updated, no report is published, the run exits 5 naming the template and
    its library; `copil check` refuses it with the same code."""
    site = seeded(emulator, 3)
    site.create_list("Modèles COPIL", 101)
    marker = tmp_path / "pwned"
    buf = io.BytesIO(_hostile(tmp_path, _payload(marker)).read_bytes())
    site.add_file("Modèles COPIL", "", "rapport_copil.docx", buf.getvalue())
    cfg = config(emulator, tmp_path, reports={"enabled": True, "template_library": "Modèles COPIL"})
    summary = run_sync(cfg, as_of=AS_OF)
    assert summary.exit_code == 5 and summary.written == 3
    assert "rapport_copil.docx" in summary.message and "bibliothèque « Modèles COPIL »" in summary.message
    assert not [k for k in site.files if "rapports copil" in k], "no report without a valid template"
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
    out = res.output + (res.stderr or "")
    assert res.exit_code == 5, out
    assert "Modèle de rapport refusé" in out and "bibliothèque « Modèles COPIL »" in out, out
    assert "fichier de configuration" not in out, out
    assert "« Projets » :" in out, "the other checks still ran"
    assert not marker.exists()
