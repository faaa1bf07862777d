"""Reading the lists: in full, or only what SharePoint's change log says changed since the last run.

After every run that wrote what it computed, the rows it read (and the items it wrote itself)
are kept in the state with each list's change token, the data first and the token with it
(state after data, as dlt and the Meltano SDK commit theirs). The next run asks GetChanges for
every list it reads, in one $batch, reads only the changed items by id, drops the deleted
ones, and consolidates the whole portfolio from the kept rows: the figures that depend on the
portfolio are computed as a full read would compute them.

A full read happens, and the log says why, when there is no token, when a token is older than
`[change_log] max_token_age_days` (SharePoint answers a token older than its log with nothing
and no error), at least every `full_read_every_days` as a reconciliation, when a list or a
column changed (in the log, or in what the lists' metadata says), when copil's configuration or
its way of keeping rows changed, and when the change log answers anything unexpected."""

from __future__ import annotations

import hashlib
import json
import logging
from dataclasses import asdict, dataclass, field
from datetime import datetime, timedelta, timezone
from typing import TYPE_CHECKING, Any

from connector import extract as extract_mod
from connector.config import Config
from connector.errors import ChangeLogUnusable
from connector.extract import Resolved
from connector.portfolio import Document, Finding
from connector.raw import RawData
from connector.sharepoint import SharePointSite

if TYPE_CHECKING:  # the state module pulls SQLAlchemy in; the run hands its State over
    from connector.state import State  # lazy: SQLAlchemy: loaded by the run that opens the state

log = logging.getLogger("copil.sources")

# The shape of a kept record (extract._record). Changing it makes the next run read in full.
FORMAT = 2  # 2: person columns kept with their e-mail (connector.notify)
SYSTEM_UPDATE, DELETE = 15, 3
# copil's own writes in one list from which the next run's question to the log would take more
# than one page (GetChanges answers 1,000 changes at a time): the run reads past them itself
CATCH_UP_AT = 500
_EPOCH = datetime(1, 1, 1, tzinfo=timezone.utc)


@dataclass
class ReadOutcome:
    """How the lists were read this run, for the log, the summary and `copil status`."""

    mode: str = "full"  # "full" | "incremental"
    reason: str = ""  # why a full read (French)
    reread: dict[str, int] = field(default_factory=dict)  # list title -> items read again
    deleted: dict[str, int] = field(default_factory=dict)  # list title -> items gone
    ignored_own: int = 0  # copil's own system updates found in the log
    unchanged: bool = False  # incremental, and nothing changed since the last run

    def describe(self) -> str:
        if self.mode == "full":
            return f"lecture complète des listes : {self.reason}"
        if self.unchanged:
            return "journal des modifications : rien n'a changé depuis la dernière lecture"
        parts = [f"{n} relu(s) dans « {t} »" for t, n in self.reread.items() if n]
        parts += [f"{n} supprimé(s) de « {t} »" for t, n in self.deleted.items() if n]
        return "journal des modifications : " + (", ".join(parts) or "aucun élément modifié")

    def as_json(self) -> dict:
        return asdict(self)


@dataclass
class _Source:
    key: str  # a list key of the configuration, or « finance » for the export's library
    list_id: str
    title: str
    token: str
    library: bool


def token_time(token: str) -> datetime | None:
    """When a change token was taken: its fourth part counts .NET ticks (100 ns since year 1)."""
    try:
        return _EPOCH + timedelta(microseconds=int(token.split(";")[3]) // 10)
    except (IndexError, ValueError, OverflowError):
        return None


class SourceReader:
    """One run's reading of the lists, and what it keeps for the next one."""

    def __init__(self, site: SharePointSite, config: Config, state: State, resolved: Resolved, *, now=None):
        self.site, self.config, self.state, self.resolved = site, config, state, resolved
        self.now = now or datetime.now(timezone.utc)
        self.sources = self._sources()
        self.fingerprint = self._fingerprint()
        self.outcome = ReadOutcome()
        self._meta: dict | None = None
        self._tokens: dict[str, str] = {}  # source key -> token the next run starts from
        self._dirty: set[str] = set()  # documents to write back into the state
        self._own_kept: dict[str, set[int]] = {}  # own writes still ahead of a token that did not move
        self._full_read_at: str | None = None

    # -- what is read --------------------------------------------------------------------------
    def _sources(self) -> dict[str, _Source]:
        out = {}
        for key, rl in self.resolved.lists.items():
            out[key] = _Source(key, rl.info.id, rl.info.title, rl.info.change_token, rl.info.template == 101)
        fin = self.config.finance_export
        if fin.enabled and self.site.list_exists(fin.library):  # metadata prefetched: no request
            info = self.site.list_info(fin.library)
            out["finance"] = _Source("finance", info.id, info.title, info.change_token, True)
        return out

    def _fingerprint(self) -> dict[str, str]:
        """Per source, what its kept rows depend on: the list, its columns as resolved, and the
        configuration that shapes the rows. A difference means the kept rows are not what a
        full read would give."""
        out = {}
        for key, rl in self.resolved.lists.items():
            cols = {k: [f.internal, f.kind, f.display] for k, f in sorted(rl.columns.items())}
            # the site's address too: the kept rows carry each item's link (a renamed host, the demo's
            # site served again on another port)
            out[key] = _digest([FORMAT, self.site.site_url, rl.info.id, rl.info.title, cols, rl.display])
        if "finance" in self.sources:
            fin = self.config.finance_export
            out["finance"] = _digest([FORMAT, self.sources["finance"].list_id, fin.model_dump(mode="json")])
        return out

    # -- reading -------------------------------------------------------------------------------
    def read(self, *, rows_if_unchanged: bool = True) -> tuple[RawData | None, list[Finding]]:
        """The rows of every list as a full read would give them (None when nothing changed and
        `rows_if_unchanged` is false: a daytime refresh then stops there)."""
        reason = self._why_full()
        if reason is None:
            try:
                return self._incremental(rows_if_unchanged)
            except ChangeLogUnusable as e:
                reason = str(e)
        return self._full(reason)

    def _why_full(self) -> str | None:
        cl = self.config.change_log
        if not cl.enabled:
            return "journal des modifications non utilisé ([change_log] enabled = false)"
        meta = self.state.sources.load(["meta"]).get("meta")
        if not isinstance(meta, dict) or not meta.get("tokens"):
            return "première lecture (aucun jeton du journal des modifications enregistré)"
        if meta.get("format") != FORMAT:
            return "données enregistrées d'une autre version de copil"
        self._meta = meta
        kept = meta.get("fingerprint") or {}
        moved = [self.sources[k].title for k in self.sources if kept.get(k) != self.fingerprint.get(k)]
        gone = [k for k in kept if k not in self.sources]
        if moved or gone:
            names = ", ".join(f"« {t} »" for t in moved) or ", ".join(gone)
            return f"listes, colonnes ou configuration modifiées depuis la dernière lecture : {names}"
        tokens = meta["tokens"]
        for key, src in self.sources.items():
            tok = (tokens.get(key) or {}).get("token") or ""
            if not tok or not src.token:
                return f"jeton du journal des modifications absent pour « {src.title} »"
            taken = token_time(tok)
            if taken is None:
                return f"jeton du journal des modifications illisible pour « {src.title} » ({tok[:60]})"
            age = (self.now - taken).total_seconds() / 86400
            if age > cl.max_token_age_days:
                return (
                    f"jeton du journal des modifications de « {src.title} » vieux de {age:.0f} jours "
                    f"(au-delà de {cl.max_token_age_days:g} ; SharePoint n'en garde qu'environ 60)"
                )
        try:
            last_full = datetime.fromisoformat(meta.get("full_read_at") or "")
        except ValueError:
            return "date de la dernière lecture complète inconnue"
        if self.now - last_full >= timedelta(days=cl.full_read_every_days):
            return f"relecture complète de rapprochement (la dernière date du {last_full:%d/%m/%Y})"
        self._full_read_at = meta["full_read_at"]
        return None

    def _full(self, reason: str) -> tuple[RawData, list[Finding]]:
        log.info("lecture complète des listes : %s", reason)
        self.outcome = ReadOutcome(mode="full", reason=reason)
        raw, findings = extract_mod.extract(self.site, self.config, self.resolved)
        # the tokens taken with the lists' metadata, before the items were read: a change made
        # during the read comes after them, and the next run reads it again
        self._tokens = {k: s.token for k, s in self.sources.items()}
        self._full_read_at = self.now.isoformat()
        self._dirty = {"*"}
        self._own_kept = {}  # an incremental attempt given up: its view of the log is dropped
        return raw, findings

    def _incremental(self, rows_if_unchanged: bool) -> tuple[RawData | None, list[Finding]]:
        assert self._meta is not None
        kept_tokens = {k: v["token"] for k, v in self._meta["tokens"].items()}
        own = {k: set(v) for k, v in (self._meta.get("own_writes") or {}).items()}
        found = self.site.get_changes({s.list_id: kept_tokens[k] for k, s in self.sources.items()})
        out = ReadOutcome(mode="incremental")
        changed: dict[str, set[int]] = {}
        deleted: dict[str, set[int]] = {}
        self._tokens = dict(kept_tokens)
        for key, src in self.sources.items():
            records = found.get(src.list_id, [])
            if records:
                self._tokens[key] = records[-1].token
            else:  # the token did not move: copil's writes after it are still to be recognised
                self._own_kept[key] = own.get(key, set())
            for c in records:
                if c.kind in ("field", "list"):
                    what = "une colonne" if c.kind == "field" else "la liste elle-même"
                    raise ChangeLogUnusable(f"{what} de « {src.title} » a changé (journal des modifications)")
                if c.kind != "item" or c.item_id is None:
                    continue
                if c.type == SYSTEM_UPDATE and c.item_id in own.get(key, ()):
                    out.ignored_own += 1  # copil's own write of the last run: nothing to read
                    continue
                if c.type == DELETE:
                    deleted.setdefault(key, set()).add(c.item_id)
                    changed.get(key, set()).discard(c.item_id)
                else:
                    changed.setdefault(key, set()).add(c.item_id)
                    deleted.get(key, set()).discard(c.item_id)
        self.outcome = out
        if not any(changed.values()) and not any(deleted.values()):
            out.unchanged = True
            if not rows_if_unchanged:
                log.info("%s", out.describe())
                return None, []
        raw, findings = self._kept()
        for key in set(changed) | set(deleted):
            src = self.sources[key]
            if src.library:
                self._reread_library(raw, key)
                findings = raw.extra_findings
                out.reread[src.title] = len(changed.get(key, ()))
                out.deleted[src.title] = len(deleted.get(key, ()))
                continue
            gone = deleted.get(key, set())
            fresh = self._read_by_id(key, sorted(changed.get(key, ())))
            gone |= set(changed.get(key, ())) - set(fresh)  # changed, then deleted before we read it
            rows = [r for r in raw.lists.get(key, []) if r["_id"] not in gone and r["_id"] not in fresh]
            rows += fresh.values()
            rows.sort(key=lambda r: r["_id"])  # as a full read pages them: by ID
            raw.lists[key] = rows
            out.reread[src.title] = len(fresh)
            out.deleted[src.title] = len(gone)
            self._dirty.add(f"list:{key}")
        log.info("%s", out.describe())
        return raw, findings

    def _read_by_id(self, key: str, ids: list[int]) -> dict[int, dict]:
        if not ids:
            return {}
        rl = self.resolved.lists[key]
        fields = list({f.internal: f for f in rl.columns.values()}.values())
        return {
            r["_id"]: extract_mod._record(self.site, rl, r)
            for r in self.site.read_items(rl.info.title, fields, ids=ids)
        }

    def _reread_library(self, raw: RawData, key: str) -> None:
        """A library's files are listed again in one request: a changed file may have moved."""
        if key == "finance":
            raw.extra_findings = extract_mod.read_finance(self.site, self.config.finance_export, raw)
            self._dirty.add("finance")
        else:
            raw.documents = extract_mod._documents(self.site, self.resolved.lists[key])
            self._dirty.add("documents")

    def _kept(self) -> tuple[RawData, list[Finding]]:
        docs = self.state.sources.load()
        raw = RawData()
        for key, rl in self.resolved.lists.items():
            if rl.info.template == 101:
                continue
            rows = docs.get(f"list:{key}")
            if not isinstance(rows, list):
                raise ChangeLogUnusable(f"lignes enregistrées de « {rl.info.title} » absentes")
            raw.lists[key] = rows
            raw.titles[key] = rl.info.title
            raw.columns[key] = dict(rl.display)
        raw.documents = [Document(**d) for d in docs.get("documents") or []]
        fin = docs.get("finance") or {}
        raw.finance_rows = list(fin.get("rows") or [])
        raw.finance_source = fin.get("source")
        raw.finance_missing = list(fin.get("missing") or [])
        raw.extra_findings = [Finding(**f) for f in fin.get("findings") or []]
        return raw, list(raw.extra_findings)

    # -- keeping -------------------------------------------------------------------------------
    def catch_up(self, raw: RawData) -> None:
        """After a run that wrote many items (the first night writes every project, twice), move
        each such list's token past copil's own system updates now, while they are known: the
        next run then asks from there, in one page. The token stops before the first change
        that is not copil's own (a person's edit during the run), which the next run reads."""
        big = {k: ids for k, ids in raw.written.items() if len(ids) >= CATCH_UP_AT and self._tokens.get(k)}
        if not big:
            return
        try:
            found = self.site.get_changes(
                {self.sources[k].list_id: self._tokens[k] for k in big}, max_changes=10 * sum(map(len, big.values()))
            )
        except ChangeLogUnusable as e:  # the next run recognises them instead, in more pages
            log.info("journal des modifications non rattrapé après les écritures : %s", e)
            return
        for key, ids in big.items():
            for c in found.get(self.sources[key].list_id, []):
                if c.kind != "item" or c.type != SYSTEM_UPDATE or c.item_id not in ids:
                    break
                self._tokens[key] = c.token

    def mark(self, key: str) -> None:
        """A list whose rows changed after the read (items re-read after a 412)."""
        self._dirty.add(f"list:{key}")

    def save(self, raw: RawData | None) -> None:
        """Keep the rows and the tokens, after the run's writes (never for a dry run)."""
        own = {k: sorted(v) for k, v in self._own_kept.items() if v}
        if raw is not None:
            for key, ids in raw.written.items():
                own[key] = sorted(set(own.get(key, [])) | ids)
        meta = {
            "format": FORMAT,
            "fingerprint": self.fingerprint,
            "tokens": {k: {"list_id": s.list_id, "token": self._tokens.get(k, "")} for k, s in self.sources.items()},
            "full_read_at": self._full_read_at,
            "own_writes": own,
            # every list's id by title: the next run reads their metadata by id at once
            "list_ids": self.site.known_list_ids(),
            "saved_at": self.now.isoformat(),
        }
        docs: dict[str, Any] = {"meta": meta}
        if raw is not None:
            full = "*" in self._dirty
            wanted = set(self._dirty) | {f"list:{k}" for k in raw.written}
            for key, rows in raw.lists.items():
                if full or f"list:{key}" in wanted:
                    docs[f"list:{key}"] = rows
            if full or "documents" in wanted:
                docs["documents"] = [asdict(d) for d in raw.documents]
            if full or "finance" in wanted:
                docs["finance"] = {
                    "rows": raw.finance_rows,
                    "source": raw.finance_source,
                    "missing": raw.finance_missing,
                    "findings": [asdict(f) for f in raw.extra_findings],
                }
            self.state.sources.save(docs, drop_others=full)
        else:
            self.state.sources.save(docs)


def _digest(value) -> str:
    return hashlib.sha256(json.dumps(value, sort_keys=True, default=str, ensure_ascii=False).encode()).hexdigest()[:24]


def remembered_list_ids(state: State) -> dict[str, str]:
    """The lists' ids the last run kept (title in lower case -> id), for the metadata read."""
    meta = state.sources.load(["meta"]).get("meta")
    ids = meta.get("list_ids") if isinstance(meta, dict) else None
    return {str(k): str(v) for k, v in ids.items()} if isinstance(ids, dict) else {}
