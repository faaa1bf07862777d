"""The [notify] and [teams] sections. Secrets (SMTP password, Graph token, the webhook's URL)
are never values in the file: they name an environment variable or a file."""

from __future__ import annotations

from typing import Literal

from pydantic import BaseModel, ConfigDict, Field, field_validator


class _Strict(BaseModel):
    model_config = ConfigDict(extra="forbid")


class SmtpConfig(_Strict):
    host: str = Field("localhost", description="SMTP relay of the collectivité.")
    port: int = Field(25, ge=1, le=65535, description="25 or 587 (STARTTLS), 465 (implicit TLS: ssl = true).")
    starttls: bool = Field(False, description="Upgrade the connection with STARTTLS (port 587).")
    ssl: bool = Field(False, description="Implicit TLS from the first byte (port 465).")
    ca_bundle: str | None = Field(None, description="CA certificates to trust for TLS (an internal PKI).")
    username: str | None = Field(None, description="Account for SMTP AUTH (none: the relay trusts the server).")
    password_env: str | None = Field(None, description="Environment variable holding the SMTP password.")
    password_file: str | None = Field(None, description="File holding the SMTP password.")
    timeout_seconds: float = Field(30, gt=0, le=300, description="Timeout of each SMTP exchange.")


class GraphConfig(_Strict):
    """Microsoft Graph `sendMail` from one mailbox, as the application (permission Mail.Send,
    restricted to that mailbox by an Exchange application access policy: README)."""

    url: str = Field("https://graph.microsoft.com", description="Graph endpoint (national clouds differ).")
    authority: str = Field("https://login.microsoftonline.com", description="Entra ID authority host.")
    tenant_id: str | None = Field(None, description="Entra ID tenant (default: [sharepoint] tenant_id).")
    client_id: str | None = Field(None, description="Application id (default: [sharepoint] client_id).")
    certificate_path: str | None = Field(None, description="PEM key + certificate (default: [sharepoint]'s).")
    certificate_thumbprint: str | None = Field(None, description="SHA-1 thumbprint (default: [sharepoint]'s).")
    passphrase_env: str | None = Field(None, description="Environment variable holding the key passphrase.")
    token_env: str | None = Field(None, description="A Graph token obtained elsewhere (instead of the certificate).")
    token_file: str | None = Field(None, description="File holding such a token.")
    timeout_seconds: float = Field(30, gt=0, le=300, description="HTTP timeout of each call.")


class NotifyConfig(_Strict):
    enabled: bool = Field(False, description="Send the weekly digest to each project manager.")
    digest: str = Field(
        "0 8 * * 1",
        description="Crontab expression of the digest in `copil schedule` ([schedule] timezone): Monday 8:00.",
    )
    transport: Literal["smtp", "graph"] = Field("smtp", description="smtp (a relay) or graph (Microsoft Graph).")
    sender: str = Field("", description="From address (the Graph mailbox for transport = graph).")
    sender_name: str = Field("copil", description="Display name of the sender.")
    reply_to: str | None = Field(None, description="Reply-To address (e.g. the PMO's shared mailbox).")
    opt_out: list[str] = Field(default_factory=list, description="E-mail addresses that receive no digest.")
    horizon_days: int = Field(
        30, ge=1, le=180, description="Without a meeting ahead: milestones and decisions due within this many days."
    )
    smtp: SmtpConfig = Field(default_factory=lambda: SmtpConfig.model_validate({}))
    graph: GraphConfig = Field(default_factory=lambda: GraphConfig.model_validate({}))

    @field_validator("opt_out")
    @classmethod
    def _casefold(cls, v: list[str]) -> list[str]:
        return [a.strip().casefold() for a in v if a.strip()]


class TeamsConfig(_Strict):
    webhook_env: str | None = Field(
        None, description="Environment variable holding the channel's incoming webhook URL (Workflows)."
    )
    webhook_file: str | None = Field(None, description="File holding that URL (instead of webhook_env).")
    on_failure: bool = Field(True, description="A message after a night that failed or stopped.")
    on_partial: bool = Field(True, description="A message after a night that ended partial (exit 5).")
    on_frozen: bool = Field(True, description="A message when a COPIL edition is frozen, with its links.")
    timeout_seconds: float = Field(15, gt=0, le=120, description="HTTP timeout of the post.")

    @property
    def enabled(self) -> bool:
        return bool(self.webhook_env or self.webhook_file)
