"""Authentication modes: certificate app-only through one long-lived MSAL app (token cache
reused), bearer token from the environment or a file, clear errors otherwise."""

from __future__ import annotations

import pytest

from connector.config import from_dict
from connector.errors import AuthError, ConfigError
from connector.sharepoint import SharePointSite, auth
from emulator.auth import Grant


class FakeMsalApp:
    """Stands in for msal.ConfidentialClientApplication (Entra ID is not reachable here)."""

    created: list = []

    def __init__(self, client_id, authority, client_credential):
        self.client_id, self.authority, self.credential = client_id, authority, client_credential
        self.calls: list = []
        FakeMsalApp.created.append(self)

    def acquire_token_for_client(self, scopes):
        self.calls.append(scopes)  # the real app answers from its cache after the first call
        return {"access_token": "entra-app-token", "token_type": "Bearer", "expires_in": 3599}


def test_certificate_auth_uses_one_msal_app_and_the_site_scope(emulator, tmp_path, monkeypatch):
    import msal

    monkeypatch.setattr(msal, "ConfidentialClientApplication", FakeMsalApp)
    monkeypatch.setattr(auth, "_MSAL_APPS", {})
    FakeMsalApp.created = []
    emulator.auth.grants["entra-app-token"] = Grant("entra-app-token", "write")
    pem = tmp_path / "copil.pem"
    pem.write_text("-----BEGIN PRIVATE KEY-----\nMIIB\n-----END PRIVATE KEY-----\n")
    cfg = from_dict(
        {
            "sharepoint": {
                "site_url": emulator.site_url(),
                "auth": "certificate",
                "tenant_id": "t-1",
                "client_id": "c-1",
                "certificate_path": str(pem),
                "certificate_thumbprint": "ABCDEF",
            }
        }
    )
    for _ in range(2):
        assert SharePointSite.from_config(cfg).ping() == "projets"
    assert len(FakeMsalApp.created) == 1  # one long-lived app per process
    app = FakeMsalApp.created[0]
    assert app.authority == "https://login.microsoftonline.com/t-1"
    assert app.credential["thumbprint"] == "ABCDEF" and "PRIVATE KEY" in app.credential["private_key"]
    assert app.calls[0] == [f"{emulator.url}/.default"]


def test_refused_certificate_is_an_auth_error(emulator, tmp_path, monkeypatch):
    import msal

    class Refused(FakeMsalApp):
        def acquire_token_for_client(self, scopes):
            return {"error": "invalid_client", "error_description": "AADSTS700027: certificate not registered"}

    monkeypatch.setattr(msal, "ConfidentialClientApplication", Refused)
    monkeypatch.setattr(auth, "_MSAL_APPS", {})
    pem = tmp_path / "copil.pem"
    pem.write_text("x")
    cfg = from_dict(
        {
            "sharepoint": {
                "site_url": emulator.site_url(),
                "auth": "certificate",
                "tenant_id": "t",
                "client_id": "c",
                "certificate_path": str(pem),
            }
        }
    )
    with pytest.raises(Exception) as e:
        SharePointSite.from_config(cfg).ping()
    assert "AADSTS700027" in str(e.value)


def test_bearer_token_from_a_file(emulator, tmp_path):
    f = tmp_path / "token"
    f.write_text(emulator.tokens["read"] + "\n")
    cfg = from_dict(
        {"sharepoint": {"site_url": emulator.site_url(), "auth": "bearer", "token_env": None, "token_file": str(f)}}
    )
    assert SharePointSite.from_config(cfg).ping() == "projets"


def test_missing_token_is_named(monkeypatch, emulator):
    monkeypatch.delenv("COPIL_ABSENT", raising=False)
    cfg = from_dict({"sharepoint": {"site_url": emulator.site_url(), "auth": "bearer", "token_env": "COPIL_ABSENT"}})
    with pytest.raises(AuthError) as e:
        SharePointSite.from_config(cfg)
    assert "COPIL_ABSENT" in str(e.value)


def test_ntlm_without_the_extra_says_what_to_install(monkeypatch, emulator):
    import builtins

    real = builtins.__import__

    def no_ntlm(name, *a, **kw):
        if name == "requests_ntlm":
            raise ImportError(name)
        return real(name, *a, **kw)

    monkeypatch.setattr(builtins, "__import__", no_ntlm)
    monkeypatch.setenv("COPIL_NTLM", "x")
    cfg = from_dict(
        {
            "sharepoint": {
                "site_url": emulator.site_url(),
                "auth": "ntlm",
                "username": "MAIRIE\\svc",
                "password_env": "COPIL_NTLM",
            }
        }
    )
    with pytest.raises(ConfigError) as e:
        SharePointSite.from_config(cfg)
    assert "copil[onprem]" in str(e.value)
