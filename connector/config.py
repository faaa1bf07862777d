"""copil configuration: one TOML file validated with pydantic.

The logical model (projects, milestones...) is mapped to SharePoint by display names, so a
collectivité whose lists are named differently needs no code change. Secrets never live in
the TOML: it names environment variables or files."""

from __future__ import annotations

import difflib
import tomllib
from pathlib import Path
from typing import Literal

from pydantic import BaseModel, ConfigDict, Field, ValidationError, field_validator, model_validator

from connector import schema
from connector.errors import ConfigError
from connector.notify.config import NotifyConfig, TeamsConfig
from connector.reports.config import CopilConfig, ReportsConfig
from connector.rules import RulesConfig

SECRET_KEYS = {"token", "password", "passphrase", "client_secret", "secret", "private_key", "webhook", "webhook_url"}


class _Strict(BaseModel):
    model_config = ConfigDict(extra="forbid")


class CollectiviteConfig(_Strict):
    name: str = Field("Collectivité", description="Name printed on reports (e.g. 'Ville de Belcourt-sur-Loire').")
    currency: Literal["EUR", "XPF"] = Field("EUR", description="EUR, or XPF (no decimals) for New Caledonia.")
    timezone: str = Field("Europe/Paris", description="Fallback time zone when the site's cannot be read.")
    locale: str = Field("fr_FR", description="Locale of numbers and dates in reports and messages.")


class SharePointConfig(_Strict):
    site_url: str = Field(..., description="Absolute URL of the site, e.g. https://x.sharepoint.com/sites/projets.")
    auth: Literal["bearer", "certificate", "ntlm", "kerberos"] = Field(
        "certificate",
        description="certificate (SharePoint Online app-only through MSAL), ntlm/kerberos "
        "(SharePoint Server), bearer (the local emulator or a token obtained elsewhere).",
    )
    token_env: str | None = Field("COPIL_TOKEN", description="Environment variable holding the bearer token.")
    token_file: str | None = Field(None, description="File holding the bearer token (instead of token_env).")
    tenant_id: str | None = Field(None, description="Entra ID tenant (certificate auth).")
    client_id: str | None = Field(None, description="Entra ID application (client) id (certificate auth).")
    certificate_path: str | None = Field(None, description="PEM (key + certificate) or PFX file (certificate auth).")
    certificate_thumbprint: str | None = Field(None, description="SHA-1 thumbprint of the certificate (PEM).")
    passphrase_env: str | None = Field(None, description="Environment variable holding the key passphrase.")
    username: str | None = Field(None, description="DOMAIN\\\\account for NTLM.")
    password_env: str | None = Field(None, description="Environment variable holding the NTLM password.")
    organisation: str = Field(
        "Collectivite",
        description="Organisation name sent in the User-Agent "
        "(NONISV|<organisation>|copil/<version>): decorated traffic is throttled last.",
    )
    page_size: int = Field(5000, ge=1, le=5000, description="Items per page when reading (SharePoint max 5000).")
    batch_size: int = Field(100, ge=1, le=100, description="Operations per $batch request (SharePoint max 100).")
    timeout_seconds: float = Field(120, gt=0, description="HTTP timeout per request.")
    ca_bundle: str | None = Field(
        None,
        description="CA certificates file to trust (SharePoint Server behind an "
        "internal PKI); by default the system's, or REQUESTS_CA_BUNDLE.",
    )
    max_retries: int = Field(6, ge=0, le=20, description="Retries of a throttled or failed request.")
    retry_backoff_seconds: float = Field(
        1.0,
        gt=0,
        le=60,
        description="Base of the exponential delay between "
        "retries when SharePoint gives no Retry-After (doubled at each retry, "
        "randomised, at most 30 s).",
    )

    @model_validator(mode="after")
    def _auth_fields(self):
        need = {
            "certificate": ("tenant_id", "client_id", "certificate_path"),
            "ntlm": ("username", "password_env"),
            "bearer": (),
            "kerberos": (),
        }[self.auth]
        missing = [k for k in need if not getattr(self, k)]
        if missing:
            raise ValueError(f'auth = "{self.auth}" demande aussi : {", ".join(missing)}')
        if self.auth == "bearer" and not (self.token_env or self.token_file):
            raise ValueError('auth = "bearer" demande token_env ou token_file')
        return self


class ListConfig(_Strict):
    enabled: bool = Field(True, description="Read this list (only `projects` is mandatory).")
    title: str | None = Field(None, description="List title as shown in SharePoint (default from the schema).")
    link: Literal["lookup", "code"] = Field(
        "lookup",
        description="How items point to their project: a lookup "
        "column, or a text column holding the operation code (project_code).",
    )
    columns: dict[str, str] = Field(default_factory=dict, description='logical key = "Display name" overrides.')

    @field_validator("title")
    @classmethod
    def _strip_title(cls, v):
        return v.strip() if v else v

    @field_validator("columns")
    @classmethod
    def _strip_columns(cls, v: dict[str, str]):
        return {k: name.strip() for k, name in v.items()}


class FinanceExportConfig(_Strict):
    enabled: bool = Field(True, description="Join the finance software's export (xlsx/csv) by operation code.")
    library: str = Field("Exports finances", description="Document library where the exports are dropped.")
    file_pattern: str = Field("*.xlsx", description="Glob of export file names; the most recent match is used.")
    sheet: str | None = Field(None, description="Worksheet name (default: the first).")
    columns: dict[str, str] = Field(
        default_factory=lambda: dict(schema.FINANCE_EXPORT_COLUMNS),
        description="logical key = header text in the export.",
    )

    @field_validator("library")
    @classmethod
    def _strip_library(cls, v: str):
        return v.strip()  # SharePoint trims titles


class StateConfig(_Strict):
    url: str = Field(
        "sqlite:///copil-state.db",
        description="SQLAlchemy URL; relative SQLite paths are "
        "resolved against the configuration file's folder. PostgreSQL: postgresql+psycopg://...",
    )
    dead_letter_dir: str | None = Field(
        None, description="Optional folder where dead letters are also written as JSON files."
    )
    snapshot_days: int = Field(
        120,
        ge=30,
        description="Nightly snapshots (and findings) older than this are "
        "pruned, except the first run of each month, kept for trends and history.",
    )


class ScheduleConfig(_Strict):
    cron: str = Field("0 2 * * *", description="Crontab expression of the nightly run.")
    timezone: str = Field("Europe/Paris", description="Time zone of the cron expression.")
    refresh: str | None = Field(
        None,
        description="Crontab expression of the daytime refresh (computed columns of what changed, no "
        'reports), e.g. "*/15 7-19 * * 1-5"; none by default.',
    )
    misfire_grace_seconds: int = Field(3600, ge=0, description="A run missed by at most this long still runs.")
    coalesce: bool = Field(True, description="Several missed runs are run once.")


class ChangeLogConfig(_Strict):
    enabled: bool = Field(
        True,
        description="Read only what changed since the last run, from SharePoint's change log (false: every "
        "run reads every list in full).",
    )
    max_token_age_days: float = Field(
        45,
        gt=0,
        le=60,
        description="A change token older than this is not trusted (SharePoint keeps about 60 days and "
        "answers an older token with nothing, without an error): the lists are read in full.",
    )
    full_read_every_days: float = Field(
        7,
        gt=0,
        description="A full read at least this often, as a reconciliation, whatever the change log says.",
    )


class RunConfig(_Strict):
    deadline_minutes: float = Field(
        120,
        gt=0,
        le=24 * 60,
        description="A run stops cleanly after this long (exit 4, state recorded, lock released): "
        "a night never holds the next one.",
    )
    silent_after: int = Field(
        2,
        ge=1,
        le=10,
        description="Requests in a row without an answer (read timeout) after which SharePoint is "
        "taken as silent and the run stops (exit 4).",
    )


class LoggingConfig(_Strict):
    file: str | None = Field(
        None, description="Log file (besides the console), rotated; e.g. /var/log/copil/copil.log."
    )
    max_megabytes: float = Field(10, gt=0, le=1024, description="Size at which the log file is rotated.")
    keep: int = Field(10, ge=1, le=1000, description="Rotated log files kept.")


class TenantConfig(_Strict):
    """Only for a shared IT operator's registry (`copil operator`, README « For shared IT
    operators »): the same file a single-site installation uses, plus this section."""

    id: str | None = Field(
        None,
        pattern=r"^[a-z0-9][a-z0-9_-]{0,49}$",
        description="The collectivité's id in the operator's registry (default: the file's name): lowercase "
        "letters, digits, - and _.",
    )
    enabled: bool = Field(True, description="false: the operator schedules no run for this collectivité.")
    requests_per_minute: int = Field(
        300,
        ge=10,
        le=6000,
        description="Requests to SharePoint per minute for this collectivité, across all workers (well under "
        "SharePoint's per-tenant throttling).",
    )


class Config(_Strict):
    collectivite: CollectiviteConfig = Field(default_factory=CollectiviteConfig)
    sharepoint: SharePointConfig
    lists: dict[str, ListConfig] = Field(default_factory=dict, description="Per logical list: title, link, columns.")
    finance_export: FinanceExportConfig = Field(default_factory=FinanceExportConfig)
    rules: RulesConfig = Field(default_factory=RulesConfig)
    reports: ReportsConfig = Field(default_factory=ReportsConfig)
    copil: CopilConfig = Field(default_factory=CopilConfig)
    state: StateConfig = Field(default_factory=StateConfig)
    schedule: ScheduleConfig = Field(default_factory=ScheduleConfig)
    change_log: ChangeLogConfig = Field(default_factory=ChangeLogConfig)
    run: RunConfig = Field(default_factory=RunConfig)
    logging: LoggingConfig = Field(default_factory=LoggingConfig)
    notify: NotifyConfig = Field(default_factory=NotifyConfig)
    teams: TeamsConfig = Field(default_factory=TeamsConfig)
    tenant: TenantConfig = Field(default_factory=TenantConfig)

    @model_validator(mode="after")
    def _sender(self):
        if self.notify.enabled and "@" not in self.notify.sender:
            raise ValueError("notify.enabled = true demande notify.sender (l'adresse d'expédition)")
        return self

    @field_validator("lists")
    @classmethod
    def _known_lists(cls, v: dict[str, ListConfig]):
        for key, lc in v.items():
            if key not in schema.BY_KEY:
                raise ValueError(f"liste inconnue « {key} » ; clés possibles : {', '.join(schema.BY_KEY)}")
            spec = schema.BY_KEY[key]
            valid = {c.key for c in spec.columns} | {"project_code"}
            for col in lc.columns:
                if col not in valid:
                    near = difflib.get_close_matches(col, sorted(valid), n=1)
                    hint = f" (vouliez-vous dire « {near[0]} » ?)" if near else ""
                    raise ValueError(
                        f"colonne logique inconnue « {col} » dans lists.{key}{hint} ; "
                        f"clés possibles : {', '.join(sorted(valid))}"
                    )
        if "projects" in v and not v["projects"].enabled:
            raise ValueError("la liste des projets ne peut pas être désactivée")
        return v

    # -- helpers used by the connector ---------------------------------------------
    def _lc(self, key: str) -> ListConfig:
        return self.lists.get(key) or ListConfig()

    def enabled_lists(self) -> list[str]:
        """Logical keys to read, in schema order; libraries handled separately are excluded."""
        skip = {"finance_exports", "reports"}
        return [s.key for s in schema.LISTS if s.key not in skip and self._lc(s.key).enabled]

    def list_title(self, key: str) -> str:
        return self._lc(key).title or schema.BY_KEY[key].title

    def link_mode(self, key: str) -> str:
        return self._lc(key).link

    def columns(self, key: str) -> dict[str, str]:
        """Input columns (logical -> display name) of a list, defaults overridden by the config."""
        spec = schema.BY_KEY[key]
        lc = self._lc(key)
        out = {c.key: lc.columns.get(c.key, c.display) for c in spec.columns if not c.owned}
        if lc.link == "code" and "project" in out:
            out.pop("project")
            out["project_code"] = lc.columns.get("project_code", "Code opération")
        return out

    def owned_columns(self, key: str = "projects") -> dict[str, str]:
        """copil's own columns on a list (logical -> display name): the projects' indicators, the
        meetings' dossier link and state."""
        lc = self._lc(key)
        return {c.key: lc.columns.get(c.key, c.display) for c in schema.BY_KEY[key].columns if c.owned}

    def column_kind(self, key: str, logical: str) -> str:
        if logical == "project_code":
            return "Text"
        return schema.BY_KEY[key].column(logical).kind


def _find_secrets(d: dict, path: str = "") -> list[str]:
    found = []
    for k, v in d.items():
        p = f"{path}.{k}" if path else k
        if isinstance(v, dict):
            found += _find_secrets(v, p)
        elif k.lower() in SECRET_KEYS:
            found.append(p)
    return found


_MESSAGES = {
    "bool_parsing": "valeur attendue : true ou false",
    "bool_type": "valeur attendue : true ou false",
    "int_parsing": "nombre entier attendu",
    "int_type": "nombre entier attendu",
    "int_from_float": "nombre entier attendu",
    "float_parsing": "nombre attendu",
    "float_type": "nombre attendu",
    "string_type": "texte attendu (entre guillemets)",
    "dict_type": "section [..] attendue",
    "model_type": "section [..] attendue",
    "list_type": "liste attendue",
    "extra_forbidden": "clé inconnue (faute de frappe ?)",
    "missing": "clé obligatoire absente",
    "string_pattern_mismatch": "format invalide",
}


def _explain(e: ValidationError) -> str:
    """Pydantic's errors in French, each naming its key."""
    lines = []
    for err in e.errors():
        key = ".".join(str(p) for p in err["loc"] if p not in ("function-after",)) or "(racine)"
        ctx, kind = err.get("ctx") or {}, err["type"]
        if kind in _MESSAGES:
            msg = _MESSAGES[kind]
        elif kind == "literal_error":
            msg = f"valeur attendue : {ctx.get('expected', '')}".replace(" or ", " ou ")
        elif kind in ("less_than_equal", "less_than"):
            msg = (
                f"doit être {'au plus' if kind == 'less_than_equal' else 'inférieur à'} {ctx.get('le', ctx.get('lt'))}"
            )
        elif kind in ("greater_than_equal", "greater_than"):
            msg = f"doit être {'au moins' if kind == 'greater_than_equal' else 'supérieur à'} {ctx.get('ge', ctx.get('gt'))}"
        elif kind == "value_error":
            msg = err["msg"].removeprefix("Value error, ")
        else:
            msg = f"valeur invalide ({err['msg']})"
        if kind not in ("missing", "extra_forbidden") and "input" in err and not isinstance(err["input"], dict):
            msg += f" ; valeur lue : {err['input']!r}"
        lines.append(f"clé `{key}` : {msg}")
    return lines[0] if len(lines) == 1 else "\n- " + "\n- ".join(lines)


def from_dict(data: dict, base_dir: Path | None = None) -> Config:
    secrets = _find_secrets(data)
    if secrets:
        raise ConfigError(
            "\n- "
            + "\n- ".join(
                f"clé `{s}` : un secret ne doit pas figurer dans le fichier ; utilisez la clé *_env "
                "(variable d'environnement) ou *_file correspondante"
                for s in secrets
            )
        )
    try:
        cfg = Config.model_validate(data)
    except ValidationError as e:
        raise ConfigError(_explain(e)) from None
    if base_dir:  # relative file paths are relative to the configuration file, not to the working folder
        sp = cfg.sharepoint
        for attr in ("token_file", "certificate_path", "ca_bundle"):
            value = getattr(sp, attr)
            if value and not Path(value).expanduser().is_absolute():
                setattr(sp, attr, str((base_dir / value).resolve()))
        for section, attr in (
            (cfg.notify.smtp, "password_file"),
            (cfg.notify.smtp, "ca_bundle"),
            (cfg.notify.graph, "token_file"),
            (cfg.notify.graph, "certificate_path"),
            (cfg.teams, "webhook_file"),
        ):
            value = getattr(section, attr)
            if value and not Path(value).expanduser().is_absolute():
                setattr(section, attr, str((base_dir / value).resolve()))
        if cfg.state.dead_letter_dir and not Path(cfg.state.dead_letter_dir).is_absolute():
            cfg.state.dead_letter_dir = str((base_dir / cfg.state.dead_letter_dir).resolve())
    url = cfg.state.url
    if base_dir and url.startswith("sqlite:///") and not url.startswith("sqlite:////"):
        rel = url[len("sqlite:///") :]
        if rel and rel != ":memory:":
            cfg.state.url = "sqlite:///" + (base_dir / rel).resolve().as_posix()
    return cfg


def load_config(path: str | Path) -> Config:
    path = Path(path)
    try:
        data = tomllib.loads(path.read_text(encoding="utf-8"))
    except FileNotFoundError:
        raise ConfigError(f"fichier de configuration introuvable : {path}") from None
    except tomllib.TOMLDecodeError as e:
        raise ConfigError(f"fichier de configuration illisible ({path}) : {e}") from None
    return from_dict(data, path.resolve().parent)


def default_config(
    site_url: str, *, token_env: str = "COPIL_TOKEN", state_url: str = "sqlite:///:memory:", **sections
) -> Config:
    """A configuration built in code (demo, tests)."""
    data = {"sharepoint": {"site_url": site_url, "auth": "bearer", "token_env": token_env}, "state": {"url": state_url}}
    for k, v in sections.items():
        data.setdefault(k, {}).update(v) if isinstance(v, dict) and k in data else data.__setitem__(k, v)
    return from_dict(data)
