"""A message to a Teams channel through its incoming webhook (a Workflows « post to a channel when
a webhook request is received »): an Adaptive Card in French after a night that failed or ended
partial, and when a COPIL edition is frozen.

The webhook's URL is a secret (whoever has it posts into the channel): it comes from a variable or
a file, and no message, log line or error ever contains it."""

from __future__ import annotations

import requests

from connector.sharepoint.auth import read_secret


class TeamsFailed(Exception):
    """The channel did not take the message (French, without the URL)."""


def card(
    title: str, text: str, facts: list[tuple[str, str]], links: list[tuple[str, str]], tone: str = "default"
) -> dict:
    """The webhook's payload: one Adaptive Card 1.4 (what Teams renders in channels). `tone`:
    default | attention | good — the title's colour, which never carries the meaning alone (the
    title says it)."""
    body: list[dict] = [
        {
            "type": "TextBlock",
            "text": title,
            "weight": "Bolder",
            "size": "Medium",
            "wrap": True,
            "color": tone.capitalize(),
        },
        {"type": "TextBlock", "text": text, "wrap": True},
    ]
    if facts:
        body.append({"type": "FactSet", "facts": [{"title": k, "value": v} for k, v in facts]})
    content = {
        "$schema": "http://adaptivecards.io/schemas/adaptive-card.json",
        "type": "AdaptiveCard",
        "version": "1.4",
        "lang": "fr-FR",
        "body": body,
    }
    if links:
        content["actions"] = [{"type": "Action.OpenUrl", "title": t, "url": u} for t, u in links[:6]]
    return {
        "type": "message",
        "attachments": [
            {"contentType": "application/vnd.microsoft.card.adaptive", "contentUrl": None, "content": content}
        ],
    }


def webhook_url(cfg) -> str:
    """The URL from `[teams] webhook_env` or `webhook_file`."""
    return read_secret(cfg.webhook_env, cfg.webhook_file, "adresse du webhook Teams (teams.webhook_env / webhook_file)")


def post(cfg, payload: dict) -> None:
    url = webhook_url(cfg)
    if not url.startswith(("https://", "http://")):
        raise TeamsFailed("l'adresse du webhook Teams n'est pas une adresse http(s)")
    try:
        r = requests.post(url, json=payload, timeout=cfg.timeout_seconds)
    except requests.RequestException as e:  # its text holds the URL: only the kind is said
        raise TeamsFailed(f"webhook Teams injoignable ({type(e).__name__})") from None
    if not 200 <= r.status_code < 300:
        raise TeamsFailed(f"le webhook Teams a refusé le message : HTTP {r.status_code}")


_FAILED = {"failed": "en échec", "interrupted": "interrompue", "timed_out": "arrêtée à son échéance"}


def night_card(summary, collectivite: str, frozen: list[tuple[str, str, str]]) -> dict | None:
    """The card a night deserves, or None: failed or stopped (`on_failure`), partial
    (`on_partial`), an edition frozen (`on_frozen`) — one card says all of it. `frozen`: (label,
    dossier URL, PDF URL or "") of the editions frozen tonight."""
    status = summary.status
    edition = ("Édition figée cette nuit : " + ", ".join(label for label, _, _ in frozen) + ".") if frozen else ""
    if status in _FAILED:
        title = f"copil — synchronisation {_FAILED[status]} ({collectivite})"
        text = f"La synchronisation de la nuit s'est terminée avec le code {summary.exit_code} : {summary.message}"
        tone = "attention"
    elif status == "partial":
        title = f"copil — synchronisation partielle ({collectivite})"
        n = summary.failed + len(summary.report_errors) + len(summary.source_errors)
        text = f"La synchronisation s'est terminée avec {n} erreur{'s' if n > 1 else ''} (code de sortie 5)."
        first = (summary.source_errors + summary.report_errors + [d.get("error", "") for d in summary.dead_letters])[:3]
        if first:
            text += " " + " ; ".join(str(x)[:200] for x in first)
        tone = "attention"
    elif frozen:
        title = f"copil — dossier{'s' if len(frozen) > 1 else ''} de comité figé{'s' if len(frozen) > 1 else ''} ({collectivite})"
        text = edition
        tone = "good"
    else:
        return None
    if edition and status == "partial":
        text += " " + edition
    facts = [
        ("Exécution", f"n° {summary.run_id}"),
        ("Code de sortie", str(summary.exit_code)),
        ("Projets", str(summary.projects)),
        ("Éléments écrits", str(summary.written)),
        ("Durée", f"{summary.duration_s:.0f} s".replace(".", ",")),
    ]
    links = []
    for label, url, pdf in frozen:
        if url:
            links.append((f"Dossier {label}", url))
        if pdf:
            links.append((f"PDF {label}", pdf))
    return card(title, text[:1500], facts, links, tone)


def wanted(cfg, summary, frozen: list) -> bool:
    """Whether `[teams]` asks for a message after this night."""
    if summary.status in _FAILED:
        return cfg.on_failure
    if summary.status == "partial":
        return cfg.on_partial or (cfg.on_frozen and bool(frozen))
    return cfg.on_frozen and bool(frozen)
