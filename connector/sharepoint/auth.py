"""ClientContext factory for the three ways copil authenticates:
bearer token (the emulator), certificate app-only through MSAL (SharePoint Online),
NTLM/Kerberos session (SharePoint Server on-premises)."""

from __future__ import annotations

import os
from contextvars import ContextVar
from typing import Callable
from urllib.parse import urlsplit

import requests
from office365.sharepoint.client_context import ClientContext

from connector import __version__, deadline
from connector.config import SharePointConfig
from connector.errors import AuthError, ConfigError, RunTimedOut

# Called before every request to SharePoint when set: a shared operator's per-tenant request
# budget (jobs.operator.budget) waits there, across workers, before the tenant's next request.
request_gate: ContextVar[Callable[[], None] | None] = ContextVar("copil_request_gate", default=None)


class CountingSession(requests.Session):
    """Counts HTTP requests, decorates traffic (prioritised under throttling), and bounds every
    wait: the read timeout is cut to what is left of the run, and after `silent_after` requests in
    a row without an answer SharePoint is taken as silent and the run stops (a stuck proxy or a
    hung front end would otherwise hold the night in retries of two minutes each)."""

    def __init__(self, user_agent: str, silent_after: int = 2):
        super().__init__()
        self.headers["User-Agent"] = user_agent
        self.count = 0
        self.silent_after = silent_after
        self.timeouts_in_a_row = 0
        self.read_timeout: float | None = None

    def request(self, *args, **kwargs):
        deadline.check()
        gate = request_gate.get()
        if gate is not None:
            gate()
            deadline.check()  # the wait for the budget counts against the run's deadline
        timeout = kwargs.get("timeout")
        if isinstance(timeout, tuple) and len(timeout) == 2 and timeout[1]:
            kwargs["timeout"] = (timeout[0], deadline.cap(timeout[1]))
            self.read_timeout = timeout[1]
        self.count += 1
        try:
            response = super().request(*args, **kwargs)
        except requests.exceptions.ReadTimeout:
            self.timeouts_in_a_row += 1
            deadline.check()  # the wait was cut by the deadline: say so, not « no answer »
            if self.timeouts_in_a_row >= self.silent_after:
                err = RunTimedOut(
                    f"SharePoint ne répond plus : {self.timeouts_in_a_row} requêtes d'affilée sans réponse "
                    f"en {_seconds(self.read_timeout)}"
                )
                err.hint = (
                    "Le serveur accepte les connexions mais ne répond pas (proxy bloqué, frontal "
                    "saturé) : la synchronisation s'est arrêtée proprement. Vérifiez le réseau et le "
                    "proxy (HTTPS_PROXY) ; `sharepoint.timeout_seconds` règle l'attente par requête."
                )
                raise err from None
            raise
        if "/_api/contextinfo" not in str(args[1] if len(args) > 1 else kwargs.get("url", "")).lower():
            # the form digest answers even when the front end hangs on everything else: it does
            # not prove SharePoint is answering again
            self.timeouts_in_a_row = 0
        return response


def _seconds(value: float | None) -> str:
    if value is None:
        return "le délai imparti"
    return f"{value:g} s".replace(".", ",")


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


def msal_app(
    tenant_id: str,
    client_id: str,
    cert_path: str,
    thumbprint: str | None,
    passphrase: str | None,
    authority: str = "https://login.microsoftonline.com",
):
    """One long-lived ConfidentialClientApplication per process: its token cache is reused (by
    SharePoint, and by Graph for the digests: connector.notify.send)."""
    import msal  # lazy: MSAL: only for certificate authentication

    key = (tenant_id, client_id, cert_path, authority)
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
            client_id, authority=f"{authority.rstrip('/')}/{tenant_id}", client_credential=cred
        )
        _MSAL_APPS[key] = app
    return app


_MSAL_APPS: dict = {}


def build_context(sp_cfg: SharePointConfig, silent_after: int = 2) -> tuple[ClientContext, CountingSession]:
    """`sp_cfg` is the [sharepoint] section of the configuration."""
    session = CountingSession(user_agent(sp_cfg.organisation or "Collectivite"), silent_after)
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
        app = msal_app(
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
