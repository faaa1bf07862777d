"""A digest as an e-mail in French: a text part first (read by every client, and by screen
readers as it is), then plain HTML with headings and lists — no table for layout, no colour that
carries meaning (the météo is a word), links with their own text."""

from __future__ import annotations

import html
from datetime import datetime, timezone
from email.headerregistry import Address
from email.message import EmailMessage
from email.policy import SMTP
from email.utils import format_datetime, make_msgid

from connector.formatting import fr_date
from connector.notify.digest import Digest, Line


def _plural(n: int, one: str, many: str) -> str:
    return f"{n} {one if n == 1 else many}"


def subject(d: Digest) -> str:
    c = d.counts()
    parts = []
    if c["alerts"]:
        parts.append(_plural(c["alerts"], "nouvelle alerte", "nouvelles alertes"))
    if c["fixes"]:
        parts.append(_plural(c["fixes"], "donnée à corriger", "données à corriger"))
    if c["due"]:
        parts.append(_plural(c["due"], "échéance", "échéances"))
    if c["drafts"]:
        parts.append(_plural(c["drafts"], "dossier à relire", "dossiers à relire"))
    return f"[copil] Vos projets, semaine du {fr_date(d.as_of)} : " + ", ".join(parts)


def _greeting(d: Digest) -> str:
    return f"Bonjour {d.name}," if d.name else "Bonjour,"


def text_body(d: Digest, collectivite: str) -> str:
    out = [
        _greeting(d),
        "",
        f"Voici ce que copil a relevé cette semaine sur vos projets ({collectivite}).",
    ]

    def lines(title: str, items: list[Line]) -> None:
        if items:
            out.append(f"  {title} :")
            for x in items:
                out.append(f"  - {x.text}" + (f"\n    {x.link}" if x.link else ""))

    for p in d.projects:
        out += ["", f"{p.code} — {p.title} (météo : {p.weather or 'non calculée'})"]
        if p.weather_moved:
            out.append(f"  Météo modifiée depuis le dernier envoi : {p.weather_moved}")
        lines("Nouvelles alertes", [Line(a) for a in p.new_alerts])
        lines("Données à corriger", p.fixes)
        lines(f"À échéance avant le {p.meeting}" if p.meeting else "À échéance prochainement", p.due)
        links = [x for x in (("Fiche projet", p.living), ("Élément dans SharePoint", p.form)) if x[1]]
        for label, url in links:
            out.append(f"  {label} : {url}")
    if d.drafts:
        out += ["", "Dossiers des prochains comités à relire :"]
        out += [f"- {x.text}\n  {x.link}" for x in d.drafts]
    out += [
        "",
        "Ce message est envoyé par copil une fois par semaine, seulement quand il y a du nouveau.",
        "Pour ne plus le recevoir, demandez à l'équipe qui administre copil de vous retirer de la diffusion.",
    ]
    return "\n".join(out) + "\n"


def _a(x: Line) -> str:
    text = html.escape(x.text)
    return f'{text} — <a href="{html.escape(x.link, quote=True)}">{html.escape(x.label)}</a>' if x.link else text


def html_body(d: Digest, collectivite: str) -> str:
    e = html.escape
    out = [
        '<!DOCTYPE html><html lang="fr"><head><meta charset="utf-8">',
        f"<title>{e(subject(d))}</title></head>",
        '<body style="font-family: Arial, sans-serif; font-size: 11pt; color: #1a1a1a">',
        f"<p>{e(_greeting(d))}</p>",
        f"<p>Voici ce que copil a relevé cette semaine sur vos projets ({e(collectivite)}).</p>",
    ]

    def section(title: str, items: list[Line]) -> None:
        if items:
            out.append(f"<h3>{e(title)}</h3><ul>")
            out.extend(f"<li>{_a(x)}</li>" for x in items)
            out.append("</ul>")

    for p in d.projects:
        out.append(f"<h2>{e(p.code)} — {e(p.title)}</h2>")
        out.append(f"<p>Météo : <strong>{e(p.weather or 'non calculée')}</strong>")
        if p.weather_moved:
            out.append(f" (modifiée depuis le dernier envoi : {e(p.weather_moved)})")
        out.append("</p>")
        section("Nouvelles alertes", [Line(a) for a in p.new_alerts])
        section("Données à corriger", p.fixes)
        section(f"À échéance avant le {p.meeting}" if p.meeting else "À échéance prochainement", p.due)
        links = [
            f'<a href="{e(url, quote=True)}">{label} {e(p.code)}</a>'
            for label, url in (("Fiche projet", p.living), ("Élément SharePoint du projet", p.form))
            if url
        ]
        if links:
            out.append("<p>" + " · ".join(links) + "</p>")
    if d.drafts:
        section("Dossiers des prochains comités à relire", d.drafts)
    out.append(
        "<p><small>Ce message est envoyé par copil une fois par semaine, seulement quand il y a du nouveau. "
        "Pour ne plus le recevoir, demandez à l'équipe qui administre copil de vous retirer de la "
        "diffusion.</small></p></body></html>"
    )
    return "\n".join(out)


def _address(email: str, name: str = "") -> Address:
    user, _, domain = email.partition("@")
    return Address(display_name=name, username=user, domain=domain)


def email_message(d: Digest, *, sender: str, sender_name: str, collectivite: str, reply_to: str | None = None):
    """The digest as a MIME message (multipart/alternative: text, then HTML)."""
    # headers unfolded up to RFC 5322's 998: the standard library's folding of a long French subject
    # glues encoded words together (« donnéeà corriger ») in every reader
    msg = EmailMessage(policy=SMTP.clone(max_line_length=998))
    msg["Subject"] = subject(d)
    msg["From"] = _address(sender, sender_name)
    msg["To"] = _address(d.email, d.name)
    if reply_to:
        msg["Reply-To"] = reply_to
    msg["Date"] = format_datetime(datetime.now(timezone.utc))
    msg["Message-ID"] = make_msgid(domain=sender.partition("@")[2] or "copil.local")
    # an automatic message: no out-of-office answers back (RFC 3834)
    msg["Auto-Submitted"] = "auto-generated"
    msg["X-Copil-Week"] = d.week
    # quoted-printable: 7-bit safe through any relay, readable in the raw message
    msg.set_content(text_body(d, collectivite), charset="utf-8", cte="quoted-printable")
    msg.add_alternative(html_body(d, collectivite), subtype="html", charset="utf-8", cte="quoted-printable")
    msg["Content-Language"] = "fr-FR"  # after set_content, which drops Content-* headers
    return msg
