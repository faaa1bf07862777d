"""ClientContext factory for the three ways copil authenticates:
bearer token (the emulator), certificate app-only through MSAL (SharePoint Online),
NTLM/Kerberos session (SharePoint Server on-premises)."""

from __future__ import annotations

import os
from urllib.parse import urlsplit

import requests
from office365.sharepoint.client_context import ClientContext

from connector import __version__
from connector.config import SharePointConfig
from connector.errors import AuthError, ConfigError


class CountingSession(requests.Session):
    """Counts HTTP requests and decorates traffic (prioritised under throttling)."""

    def __init__(self, user_agent: str):
        super().__init__()
        self.headers["User-Agent"] = user_agent
        self.count = 0

    def request(self, *args, **kwargs):
        self.count += 1
        return super().request(*args, **kwargs)


def user_agent(organisation: str) -> str:
    return f"NONISV|{organisation}|copil/{__version__}"


def read_secret(env: str | None = None, file: str | None = None, what: str = "secret") -> str:
    """A secret from an environment variable or a file; never from the TOML itself."""
    if env and os.environ.get(env):
        return os.environ[env].strip()
    if file:
        try:
            with open(file, encoding="utf-8") as fh:
                return fh.read().strip()
        except OSError as e:
            raise ConfigError(f"impossible de lire le fichier secret {file} ({what}) : {e.strerror}") from None
    where = f"la variable d'environnement {env}" if env else "aucune source"
    raise AuthError(f"{what} introuvable : {where} est vide ou absente.")


def _msal_app(tenant_id: str, client_id: str, cert_path: str, thumbprint: str | None, passphrase: str | None):
    """One long-lived ConfidentialClientApplication per process: its token cache is reused."""
    import msal  # lazy: MSAL: only for certificate authentication

    key = (tenant_id, client_id, cert_path)
    app = _MSAL_APPS.get(key)
    if app is None:
        try:
            with open(cert_path, "rb") as fh:
                pem = fh.read()
        except OSError as e:
            raise ConfigError(
                f"clé `sharepoint.certificate_path` : certificat illisible « {cert_path} » ({e.strerror})"
            ) from None
        if cert_path.lower().endswith((".pfx", ".p12")):
            cred = {"private_key_pfx_path": cert_path, "passphrase": passphrase}
        else:
            cred = {"private_key": pem.decode("utf-8"), "thumbprint": thumbprint}
            if passphrase:
                cred["passphrase"] = passphrase
        app = msal.ConfidentialClientApplication(
            client_id, authority=f"https://login.microsoftonline.com/{tenant_id}", client_credential=cred
        )
        _MSAL_APPS[key] = app
    return app


_MSAL_APPS: dict = {}


def build_context(sp_cfg: SharePointConfig) -> tuple[ClientContext, CountingSession]:
    """`sp_cfg` is the [sharepoint] section of the configuration."""
    session = CountingSession(user_agent(sp_cfg.organisation or "Collectivite"))
    ctx = ClientContext(sp_cfg.site_url)
    mode = sp_cfg.auth
    if mode == "bearer":
        bearer = read_secret(sp_cfg.token_env, sp_cfg.token_file, "jeton d'accès")
        ctx.with_access_token(lambda: {"access_token": bearer, "token_type": "Bearer", "expires_in": 3600})
    elif mode == "certificate":
        passphrase = (
            read_secret(sp_cfg.passphrase_env, None, "phrase secrète du certificat") if sp_cfg.passphrase_env else None
        )
        # config validation requires these three for auth = "certificate"
        assert sp_cfg.tenant_id and sp_cfg.client_id and sp_cfg.certificate_path
        app = _msal_app(
            sp_cfg.tenant_id, sp_cfg.client_id, sp_cfg.certificate_path, sp_cfg.certificate_thumbprint, passphrase
        )
        parts = urlsplit(sp_cfg.site_url)
        scope = [f"{parts.scheme}://{parts.netloc}/.default"]

        def token() -> dict:
            result = app.acquire_token_for_client(scopes=scope)
            if "access_token" not in result:
                raise AuthError(
                    "authentification Entra ID refusée : "
                    f"{result.get('error')} - {result.get('error_description', '')[:200]}"
                )
            return {
                "access_token": result["access_token"],
                "token_type": "Bearer",
                "expires_in": result.get("expires_in", 3600),
            }

        ctx.with_access_token(token)
    elif mode in ("ntlm", "kerberos"):
        if mode == "ntlm":
            try:
                from requests_ntlm import HttpNtlmAuth  # lazy: optional dependency (copil[onprem])
            except ImportError:
                raise ConfigError(
                    "auth = \"ntlm\" demande le paquet requests_ntlm (pip install 'copil[onprem]')."
                ) from None
            session.auth = HttpNtlmAuth(sp_cfg.username, read_secret(sp_cfg.password_env, None, "mot de passe"))
        else:
            try:
                from requests_kerberos import OPTIONAL, HTTPKerberosAuth  # lazy: optional dependency (copil[onprem])
            except ImportError:
                raise ConfigError(
                    "auth = \"kerberos\" demande le paquet requests-kerberos (pip install 'copil[onprem]')."
                ) from None
            session.auth = HTTPKerberosAuth(mutual_authentication=OPTIONAL)
    else:
        raise ConfigError(f"clé `sharepoint.auth` : mode inconnu « {mode} ».")
    if sp_cfg.ca_bundle:
        session.verify = sp_cfg.ca_bundle
    # (connect, read): an address where nothing answers is known in 10 s, not after the read timeout
    ctx.with_transport(session=session, timeout=(10, sp_cfg.timeout_seconds))
    return ctx, session
