"""Configuration: errors name the key, secrets stay out of the TOML, display names map."""

from pathlib import Path

import pytest

from connector.config import from_dict, load_config
from connector.errors import ConfigError

BASE = {"sharepoint": {"site_url": "https://x.sharepoint.com/sites/p", "auth": "bearer"}}


def test_example_config_loads():
    cfg = load_config(Path(__file__).resolve().parents[2] / "config.example.toml")
    assert cfg.sharepoint.auth == "certificate" and cfg.list_title("projects") == "Projets"


def test_errors_name_the_key():
    with pytest.raises(ConfigError) as e:
        from_dict(
            {"sharepoint": {"site_url": "x", "auth": "bearer", "page_size": 9000}, "rules": {"slippage_storm": 3}}
        )
    msg = str(e.value)
    assert "`sharepoint.page_size`" in msg and "`rules.slippage_storm`" in msg and "clé inconnue" in msg


def test_missing_auth_fields_are_named():
    with pytest.raises(ConfigError) as e:
        from_dict({"sharepoint": {"site_url": "x", "auth": "certificate"}})
    assert "tenant_id" in str(e.value) and "certificate_path" in str(e.value)


@pytest.mark.parametrize(
    "section,key", [("sharepoint", "token"), ("sharepoint", "password"), ("sharepoint", "client_secret")]
)
def test_secrets_in_the_file_are_refused(section, key):
    data = {"sharepoint": {**BASE["sharepoint"], key: "s3cret"}}
    with pytest.raises(ConfigError) as e:
        from_dict(data)
    assert f"`{section}.{key}`" in str(e.value) and "s3cret" not in str(e.value)


def test_renamed_lists_and_columns():
    cfg = from_dict(
        {
            **BASE,
            "lists": {
                "projects": {"title": "Opérations", "columns": {"forecast_end": "Date de fin prévisionnelle"}},
                "milestones": {"link": "code"},
            },
        }
    )
    assert cfg.list_title("projects") == "Opérations"
    cols = cfg.columns("projects")
    assert cols["forecast_end"] == "Date de fin prévisionnelle" and cols["code"] == "Code opération"
    assert "project" not in cfg.columns("milestones") and cfg.columns("milestones")["project_code"] == "Code opération"
    assert cfg.owned_columns()["computed_weather"] == "Météo calculée"


def test_unknown_logical_column_suggests_the_right_one():
    with pytest.raises(ConfigError) as e:
        from_dict({**BASE, "lists": {"projects": {"columns": {"forcast_end": "X"}}}})
    assert "forecast_end" in str(e.value)


def test_relative_sqlite_path_is_resolved_next_to_the_config(tmp_path):
    p = tmp_path / "c.toml"
    p.write_text(
        '[sharepoint]\nsite_url = "x"\nauth = "bearer"\n[state]\nurl = "sqlite:///etat/copil.db"\n', encoding="utf-8"
    )
    assert load_config(p).state.url == f"sqlite:///{(tmp_path / 'etat' / 'copil.db').as_posix()}"
