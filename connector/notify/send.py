"""The ways a digest leaves copil, all real:
- an SMTP relay, with the standard library (what most collectivités run internally): plain,
  STARTTLS or implicit TLS, optional AUTH with a password from a file or a variable;
- Microsoft Graph `sendMail` from one mailbox, as the application (certificate through MSAL, the
  same app registration as SharePoint's by default; or a token obtained elsewhere);
- a folder of .eml files (the dry run), to read before anything is sent.

A failure is the recipient's (`SendFailed`, French, never a secret), never the run's end: the
caller records it and goes on with the others. Every wait is bounded by the section's timeout."""

from __future__ import annotations

import re
import smtplib
import socket
import ssl
from email.message import EmailMessage
from pathlib import Path

import requests

from connector.errors import ConfigError
from connector.sharepoint.auth import msal_app, read_secret


class SendFailed(Exception):
    """This message (or, for a relay that cannot be reached, every message) was not sent."""


def _why(e: BaseException) -> str:
    if isinstance(e, socket.timeout | TimeoutError):
        return "délai dépassé"
    if isinstance(e, smtplib.SMTPAuthenticationError):
        return f"authentification refusée par le relais ({e.smtp_code})"
    if isinstance(e, smtplib.SMTPRecipientsRefused):
        codes = ", ".join(str(c) for c, _ in e.recipients.values())
        return f"destinataire refusé par le relais ({codes})"
    if isinstance(e, smtplib.SMTPResponseException):
        text = e.smtp_error.decode("utf-8", "replace") if isinstance(e.smtp_error, bytes) else str(e.smtp_error)
        return f"refus du relais : {e.smtp_code} {text[:120]}"
    if isinstance(e, ssl.SSLError):
        return f"échec TLS ({e.reason or type(e).__name__})"
    if isinstance(e, OSError):
        return f"relais injoignable ({e.strerror or type(e).__name__})"
    return type(e).__name__


class SmtpSender:
    """One connection for the whole batch; opened lazily, closed by `close`."""

    def __init__(self, cfg) -> None:  # cfg: NotifyConfig.smtp
        self.cfg = cfg
        self._conn: smtplib.SMTP | None = None
        self._broken = ""  # the relay could not be reached: the other messages fail at once, not after a timeout each

    def _context(self) -> ssl.SSLContext:
        return (
            ssl.create_default_context(cafile=self.cfg.ca_bundle)
            if self.cfg.ca_bundle
            else ssl.create_default_context()
        )

    def _open(self) -> smtplib.SMTP:
        c = self.cfg
        try:
            if c.ssl:
                conn: smtplib.SMTP = smtplib.SMTP_SSL(
                    c.host, c.port, timeout=c.timeout_seconds, context=self._context()
                )
            else:
                conn = smtplib.SMTP(c.host, c.port, timeout=c.timeout_seconds)
                if c.starttls:
                    conn.starttls(context=self._context())
            if c.username:
                password = read_secret(c.password_env, c.password_file, "mot de passe SMTP (notify.smtp)")
                conn.login(c.username, password)
        except (OSError, smtplib.SMTPException) as e:
            raise SendFailed(f"relais SMTP {c.host}:{c.port} : {_why(e)}") from None
        return conn

    def send(self, msg: EmailMessage) -> None:
        if self._broken:
            raise SendFailed(self._broken)
        if self._conn is None:
            try:
                self._conn = self._open()
            except SendFailed as e:
                self._broken = str(e)
                raise
        try:
            self._conn.send_message(msg)
        except smtplib.SMTPServerDisconnected:  # a relay that closes idle connections: once more
            self._conn = self._open()
            try:
                self._conn.send_message(msg)
            except (OSError, smtplib.SMTPException) as e:
                raise SendFailed(_why(e)) from None
        except (OSError, smtplib.SMTPException) as e:
            raise SendFailed(_why(e)) from None

    def check(self) -> str:
        """Connect, EHLO, STARTTLS and AUTH as a sending would, then QUIT: nothing is sent."""
        self._open().quit()
        c = self.cfg
        how = "TLS" if c.ssl else "STARTTLS" if c.starttls else "sans chiffrement"
        auth = ", authentification acceptée" if c.username else ""
        return f"Relais SMTP {c.host}:{c.port} joignable ({how}{auth}) ; aucun courriel envoyé"

    def close(self) -> None:
        if self._conn is not None:
            try:
                self._conn.quit()
            except (OSError, smtplib.SMTPException):
                pass
            self._conn = None


class GraphSender:
    """POST /users/{sender}/sendMail. The application permission Mail.Send lets an app send as
    any mailbox: the README has the Exchange application access policy that restricts it to one."""

    def __init__(self, cfg, sender: str, sharepoint=None) -> None:  # cfg: NotifyConfig.graph
        self.cfg, self.sender, self.sp = cfg, sender, sharepoint
        self._session = requests.Session()

    def _token(self) -> str:
        c, sp = self.cfg, self.sp
        if c.token_env or c.token_file:
            return read_secret(c.token_env, c.token_file, "jeton Microsoft Graph (notify.graph)")
        tenant = c.tenant_id or getattr(sp, "tenant_id", None)
        client = c.client_id or getattr(sp, "client_id", None)
        cert = c.certificate_path or getattr(sp, "certificate_path", None)
        if not (tenant and client and cert):
            raise ConfigError(
                'transport = "graph" demande notify.graph.token_env ou un certificat (tenant_id, client_id, '
                "certificate_path : ceux de la section sharepoint par défaut)"
            )
        thumb = c.certificate_thumbprint or getattr(sp, "certificate_thumbprint", None)
        env = c.passphrase_env or getattr(sp, "passphrase_env", None)
        passphrase = read_secret(env, None, "phrase secrète du certificat") if env else None
        app = msal_app(tenant, client, cert, thumb, passphrase, authority=c.authority)
        result = app.acquire_token_for_client(scopes=[f"{c.url.rstrip('/')}/.default"])
        if "access_token" not in result:
            raise SendFailed(f"jeton Microsoft Graph refusé : {result.get('error')}")
        return result["access_token"]

    def check(self) -> str:
        """A token for Graph, as a sending would get it; nothing is sent (whether the access policy
        lets this app send from the mailbox is only known at the first sending)."""
        self._token()
        return f"Jeton Microsoft Graph obtenu pour l'envoi depuis {self.sender} ; aucun courriel envoyé"

    def send(self, msg: EmailMessage) -> None:
        html_part = msg.get_body(("html",))
        text_part = msg.get_body(("plain",))
        body = html_part or text_part
        to = msg["To"].addresses[0]
        message: dict = {
            "subject": str(msg["Subject"]),
            "body": {
                "contentType": "HTML" if html_part is not None else "Text",
                "content": body.get_content() if body is not None else "",
            },
            "toRecipients": [{"emailAddress": {"address": to.addr_spec, "name": to.display_name}}],
            "internetMessageHeaders": [{"name": "X-Copil-Week", "value": str(msg["X-Copil-Week"] or "")}],
        }
        if msg["Reply-To"]:
            message["replyTo"] = [{"emailAddress": {"address": str(msg["Reply-To"])}}]
        url = f"{self.cfg.url.rstrip('/')}/v1.0/users/{requests.utils.quote(self.sender, safe='@')}/sendMail"
        try:
            r = self._session.post(
                url,
                json={"message": message, "saveToSentItems": False},
                headers={"Authorization": f"Bearer {self._token()}"},
                timeout=self.cfg.timeout_seconds,
            )
        except requests.RequestException as e:
            raise SendFailed(f"Microsoft Graph injoignable ({type(e).__name__})") from None
        if r.status_code != 202 and not (200 <= r.status_code < 300):
            code = ""
            try:
                code = (r.json().get("error") or {}).get("code") or ""
            except ValueError:
                pass
            raise SendFailed(f"Microsoft Graph a refusé l'envoi : HTTP {r.status_code} {code}".rstrip())

    def close(self) -> None:
        self._session.close()


class FolderSender:
    """The dry run: each message as an .eml file, opened by any mail client."""

    def __init__(self, folder: str | Path) -> None:
        self.folder = Path(folder)
        self.written: list[Path] = []

    def send(self, msg: EmailMessage) -> None:
        self.folder.mkdir(parents=True, exist_ok=True)
        to = msg["To"].addresses[0].addr_spec
        name = re.sub(r"[^A-Za-z0-9@._-]+", "_", f"{msg['X-Copil-Week']}-{to}")[:150] + ".eml"
        path = self.folder / name
        path.write_bytes(bytes(msg))
        self.written.append(path)

    def close(self) -> None:
        pass


def sender_for(config, out_dir: str | Path | None):
    """The sender the configuration asks for, or the folder of a dry run."""
    if out_dir is not None:
        return FolderSender(out_dir)
    n = config.notify
    if n.transport == "graph":
        return GraphSender(n.graph, n.sender, config.sharepoint)
    return SmtpSender(n.smtp)
