"""`copil notify`: the week's digests built from a fresh read of the site, each sent once and
recorded only after the relay (or Graph) took it — a digest is never sent twice in a week, and
none is sent when nothing changed since the last one."""

from __future__ import annotations

import logging
from dataclasses import dataclass, field
from datetime import date
from pathlib import Path

from connector import dossiers
from connector.errors import ExitCode
from connector.links import absolute
from connector.notify.digest import build, iso_week
from connector.notify.message import email_message
from connector.notify.send import SendFailed, sender_for
from connector.pipeline import build_portfolio
from connector.sharepoint import SharePointSite

log = logging.getLogger("copil.notify")

NOTHING = "rien à signaler"
SAME_WEEK = "déjà envoyé cette semaine"
UNCHANGED = "rien de nouveau depuis le dernier envoi"


@dataclass
class NotifySummary:
    week: str = ""
    dry_run: bool = False
    sent: list[str] = field(default_factory=list)  # addresses
    skipped: dict[str, str] = field(default_factory=dict)  # address -> why (NOTHING, SAME_WEEK, UNCHANGED)
    failed: dict[str, str] = field(default_factory=dict)  # address -> why, in French
    no_address: list[str] = field(default_factory=list)  # operation codes whose manager has no e-mail
    opted_out: int = 0
    files: list[str] = field(default_factory=list)  # the dry run's .eml files
    requests: int = 0
    exit_code: int = 0


def send_digests(
    config, *, out_dir: str | Path | None = None, as_of: date | None = None, state=None, site=None
) -> NotifySummary:
    """Build and send (or, with `out_dir`, write as .eml) this week's digests."""
    from connector.state import State  # lazy: SQLAlchemy: loaded by the command that opens the state

    state = state or State(config.state.url)
    site = site or SharePointSite.from_config(config)
    portfolio, _raw, _resolved, site = build_portfolio(config, site, as_of=as_of)
    as_of = portfolio.as_of
    out = NotifySummary(week=iso_week(as_of), dry_run=out_dir is not None)
    published = state.report_hashes.all_published()
    living = {
        k.removeprefix("project:"): absolute(site, v[0]) for k, v in published.items() if k.startswith("project:")
    }
    drafts = {k: absolute(site, v["url"]) for k, v in state.editions().items() if v["kind"] == "draft" and v["url"]}
    last = state.last_digests()
    opt_out = set(config.notify.opt_out)
    digests, out.no_address = build(
        portfolio,
        dossiers.meetings_of(config, portfolio, as_of),
        as_of=as_of,
        horizon_days=config.notify.horizon_days,
        living=living,
        drafts=drafts,
        last_seen={k: v.get("seen") or {} for k, v in last.items()},
        opt_out=opt_out,
    )
    managers = {str(e).casefold() for e in portfolio.projects.get("manager_email", []) if e}
    out.opted_out = len(managers & opt_out)
    sender = sender_for(config, out_dir)
    transport = "eml" if out_dir is not None else config.notify.transport
    try:
        for d in digests:
            key = d.email.casefold()
            prev = last.get(key)
            if d.empty:
                out.skipped[d.email] = NOTHING
            elif prev and prev["week"] == d.week:
                out.skipped[d.email] = SAME_WEEK
            elif prev and prev["fingerprint"] == d.fingerprint:
                out.skipped[d.email] = UNCHANGED
            else:
                msg = email_message(
                    d,
                    sender=config.notify.sender or "copil@localhost",
                    sender_name=config.notify.sender_name,
                    collectivite=config.collectivite.name,
                    reply_to=config.notify.reply_to,
                )
                try:
                    sender.send(msg)
                except SendFailed as e:
                    out.failed[d.email] = str(e)
                    log.error("récapitulatif pour %s non envoyé : %s", d.email, e)
                    continue
                out.sent.append(d.email)
                if out_dir is None:  # recorded once taken: a crash before resends, never skips
                    state.record_digest(key, d.week, d.fingerprint, d.seen, transport)
    finally:
        sender.close()
    out.files = [str(p) for p in getattr(sender, "written", [])]
    out.requests = site.requests
    out.exit_code = ExitCode.PARTIAL if out.failed else ExitCode.OK
    return out
