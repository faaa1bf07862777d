"""Extract: resolve the configured lists/columns against the site, then read them.

Resolution happens for every list before anything is read or written, so a configured column
that does not exist stops the run with a message naming it and the closest existing names."""

from __future__ import annotations

import csv
import difflib
import fnmatch
import io
import logging
from dataclasses import dataclass, field
from datetime import datetime

from connector import schema
from connector.config import Config, FinanceExportConfig
from connector.errors import SchemaError, SiteNotFound
from connector.portfolio import Document, Finding
from connector.raw import RawData
from connector.sharepoint import EMAIL_SUFFIX, FieldInfo, ListInfo, SharePointSite

log = logging.getLogger("copil.extract")


@dataclass
class ResolvedList:
    key: str
    info: ListInfo
    columns: dict[str, FieldInfo]  # logical -> field
    display: dict[str, str]  # logical -> display name as configured


@dataclass
class Resolved:
    lists: dict[str, ResolvedList] = field(default_factory=dict)
    problems: list[str] = field(default_factory=list)  # stop the run
    skipped: list[str] = field(default_factory=list)  # optional lists absent from the site


def _closest(name: str, info: ListInfo) -> str:
    names = [f.display for f in info.fields.values() if not f.read_only or f.internal == "Title"]
    near = difflib.get_close_matches(name, names, n=3, cutoff=0.5)
    if not near:
        near = [n for n in names if n.lower()[:4] == name.lower()[:4]][:3]
    return ", ".join(f"« {n} »" for n in near) if near else "aucune colonne proche"


def prefetch(site: SharePointSite, config, *, reports: bool = False) -> None:
    """Every list and library a run reads, and the regional settings, in two round trips."""
    fin = config.finance_export
    site.prefetch(
        [config.list_title(k) for k in config.enabled_lists()]
        + ([fin.library] if fin.enabled else [])
        + ([config.reports.library] if reports else [])
    )


def resolve(site: SharePointSite, config: Config, *, include_owned: bool = True, reports: bool = False) -> Resolved:
    """Map every configured (list, column) to SharePoint internal names. Never raises for a
    single problem: collects them all so `copil check` can list everything that is wrong."""
    out = Resolved()
    fin = config.finance_export
    prefetch(site, config, reports=reports)
    for key in config.enabled_lists():
        title = config.list_title(key)
        try:
            info = site.list_info(title)
        except SiteNotFound:
            raise
        except SchemaError as e:
            if key != "projects" and key not in config.lists:
                # a default list the collectivité does not keep: consolidated without it
                out.skipped.append(
                    f"liste « {title} » absente du site : ignorée (déclarez [lists.{key}] "
                    "pour la rendre obligatoire, ou enabled = false pour taire ce message)"
                )
                log.warning(out.skipped[-1])
                continue
            out.problems.append(f"{e} (clé de configuration `lists.{key}.title`)")
            continue
        wanted = dict(config.columns(key))
        if key in ("projects", "meetings") and include_owned:
            wanted.update(config.owned_columns(key))
        cols = {}
        optional = {c.key for c in schema.BY_KEY[key].columns if c.optional} if key in schema.BY_KEY else set()
        for logical, display in wanted.items():
            f = info.find(display)
            if f is None and logical in optional:  # a site provisioned before this column existed
                out.skipped.append(
                    f"liste « {title} » : colonne « {display} » absente, non renseignée "
                    "(lancez « copil init-site --upgrade » pour l'ajouter)"
                )
                log.warning(out.skipped[-1])
                continue
            if f is None:
                out.problems.append(
                    f"liste « {title} » : la colonne « {display} » (clé `lists.{key}.columns.{logical}`) "
                    f"n'existe pas. Colonnes proches : {_closest(display, info)}."
                )
                continue
            cols[logical] = f
        out.lists[key] = ResolvedList(key, info, cols, wanted)
    if fin.enabled and not site.list_exists(fin.library):
        # Without the export, list figures would silently replace the finance software's:
        # required when [finance_export] is declared, a warning for the default.
        text = f"la bibliothèque de l'export financier « {fin.library} » n'existe pas (clé `finance_export.library`)"
        if "finance_export" in config.model_fields_set:
            out.problems.append(text + " : corrigez son nom, ou enabled = false si la collectivité n'en dépose pas")
        else:
            out.skipped.append(
                text + " : export ignoré (déclarez [finance_export] pour le rendre obligatoire, "
                "ou enabled = false pour taire ce message)"
            )
            log.warning(out.skipped[-1])
    if reports:  # the report library must exist with its metadata columns before anything is written
        lib = config.reports.library
        try:
            info = site.list_info(lib)
            for key, name in config.reports.column_names().items():
                if info.find(name) is None:
                    out.problems.append(
                        f"bibliothèque « {lib} » : la colonne « {name} » (clé `reports.columns.{key}`) "
                        f"n'existe pas. Colonnes proches : {_closest(name, info)} ; lancez « copil "
                        "init-site » sur un site neuf"
                    )
        except SchemaError:
            out.problems.append(
                f"la bibliothèque des rapports « {lib} » n'existe pas (clé `reports.library`) : "
                "lancez « copil init-site » ou désactivez [reports]"
            )
    return out


def _link(site: SharePointSite, info: ListInfo, item_id) -> str:
    host = site.site_url[: len(site.site_url) - len(site.server_relative)]
    form = "DispForm.aspx" if info.template == 100 else "Forms/DispForm.aspx"
    return f"{host}{info.root_url}/{form}?ID={item_id}".replace(" ", "%20")


def extract(site: SharePointSite, config: Config, resolved: Resolved | None = None) -> tuple[RawData, list[Finding]]:
    resolved = resolved or resolve(site, config)
    if resolved.problems:
        raise SchemaError("configuration incompatible avec le site :\n- " + "\n- ".join(resolved.problems))
    raw = RawData()
    findings: list[Finding] = []
    for key, rl in resolved.lists.items():
        if rl.info.template == 101:
            continue
        fields = list({f.internal: f for f in rl.columns.values()}.values())
        records = [_record(site, rl, r) for r in site.read_items(rl.info.title, fields)]
        raw.lists[key] = records
        raw.titles[key] = rl.info.title
        raw.columns[key] = dict(rl.display)
        log.info("%s : %d éléments lus", rl.info.title, len(records))
    if "documents" in resolved.lists:
        raw.documents = _documents(site, resolved.lists["documents"])
    if config.finance_export.enabled:
        findings += read_finance(site, config.finance_export, raw)
    return raw, findings


def read_finance(site: SharePointSite, fin: FinanceExportConfig, raw: RawData) -> list[Finding]:
    """The newest finance export into `raw` (rows, source, the configured columns it lacks);
    returns its findings."""
    raw.finance_rows, more, raw.finance_source = _finance(site, fin)
    raw.finance_missing = [f.message for f in more if f.message.startswith(MISSING_EXPORT_COLUMN)]
    return more


def _record(site: SharePointSite, rl: ResolvedList, r: dict) -> dict:
    rec = {
        "_id": r["_id"],
        "_url": _link(site, rl.info, r["_id"]),
        "_modified": r["_modified"],
        "_etag": r.get("_etag"),
        "_editor": r["_editor"],
    }
    for logical, f in rl.columns.items():
        rec[logical] = r.get(f.internal)
        if f.kind == "User":  # the person's e-mail, as SharePoint returns it: digests go there
            rec[logical + "_email"] = r.get(f.internal + EMAIL_SUFFIX)
    return rec


def reread_projects(site: SharePointSite, raw: RawData, resolved: Resolved, ids: list[int]) -> None:
    """Read project items again (a person edited them during the run) into `raw`."""
    rl = resolved.lists["projects"]
    fields = list({f.internal: f for f in rl.columns.values()}.values())
    fresh = {r["_id"]: _record(site, rl, r) for r in site.read_items(rl.info.title, fields, ids=ids)}
    raw.lists["projects"] = [
        fresh.get(rec["_id"], rec) for rec in raw.lists["projects"] if rec["_id"] in fresh or rec["_id"] not in ids
    ]


def _documents(site: SharePointSite, rl: ResolvedList) -> list[Document]:
    code_field = rl.columns.get("code")
    files = site.list_files(rl.info.title, fields=[code_field] if code_field else [])
    out = []
    for f in files:
        code = f.fields.get(code_field.internal) if code_field else None
        if not code:  # fall back to a folder named after the operation code
            parts = f.server_relative_url[len(rl.info.root_url) + 1 :].split("/")
            code = parts[0] if len(parts) > 1 else None
        out.append(Document(f.name, f.url, f.modified.date() if f.modified else None, code))
    return out


def _finance(site: SharePointSite, fin: FinanceExportConfig) -> tuple[list[dict], list[Finding], dict | None]:
    """The most recent export matching the pattern, parsed by header text, and which file it was
    (reports name the source and date of the figures they take from it)."""
    try:
        files = site.list_files(fin.library)
    except SchemaError as e:
        return [], [Finding(fin.library, None, "", "", f"export financier ignoré : {e}")], None
    matching = [f for f in files if fnmatch.fnmatch(f.name.lower(), fin.file_pattern.lower())]
    if not matching:
        return (
            [],
            [
                Finding(
                    fin.library,
                    None,
                    "",
                    fin.file_pattern,
                    f"aucun export financier « {fin.file_pattern} » dans la bibliothèque « {fin.library} »",
                )
            ],
            None,
        )
    latest = max(matching, key=lambda f: (f.modified or datetime.min.replace(tzinfo=None), f.name))
    content = site.download_file(latest.server_relative_url)
    source = {"file": latest.name, "modified": latest.modified.date() if latest.modified else None}
    headers = dict(fin.columns or schema.FINANCE_EXPORT_COLUMNS)
    try:
        table = _read_table(latest.name, content, fin.sheet)
    except Exception as e:  # a broken file is a finding, not a crash
        return [], [Finding(latest.name, None, "", "", f"export financier illisible : {type(e).__name__} : {e}")], None
    rows, found = parse_finance_table(latest.name, table, headers)
    return rows, found, (source if rows else None)


def _read_table(name: str, content: bytes, sheet: str | None) -> list[list]:
    if name.lower().endswith((".xlsx", ".xlsm")):
        from openpyxl import load_workbook  # lazy: openpyxl: only for an .xlsx export

        wb = load_workbook(io.BytesIO(content), read_only=True, data_only=True)
        ws = wb[sheet] if sheet and sheet in wb.sheetnames else wb.worksheets[0]
        return [list(r) for r in ws.iter_rows(values_only=True)]
    for enc in ("utf-8-sig", "cp1252"):
        try:
            text = content.decode(enc)
            break
        except UnicodeDecodeError:
            continue
    # French exports use ';' (',' is the decimal mark); title lines above the header defeat
    # csv.Sniffer, so count separators over the first lines instead.
    head = text.splitlines()[:20]
    delimiter = max(";\t,", key=lambda d: sum(line.count(d) for line in head))
    return [row for row in csv.reader(io.StringIO(text), delimiter=delimiter)]


MISSING_EXPORT_COLUMN = "colonne configurée absente de l'export financier"


def finance_export_problems(site: SharePointSite, config: Config) -> tuple[list[str], str | None]:
    """What `copil check` says of the export the run would read: the configured columns it
    lacks (with the closest headers), and which file it is."""
    fin = config.finance_export
    if not fin.enabled:
        return [], None
    _, found, source = _finance(site, fin)
    missing = [f.message for f in found if f.message.startswith(MISSING_EXPORT_COLUMN)]
    name = source["file"] if source else next((f.list_title for f in found if f.list_title != fin.library), None)
    return missing, name


def parse_finance_table(file_name: str, table: list[list], headers: dict[str, str]):
    """Find the header row (exports often have title lines above it), map columns by header
    text, return rows keyed by logical name with `_file` and `_row` (1-based)."""
    want = {v.strip().lower(): k for k, v in headers.items()}
    for i, row in enumerate(table[:30]):
        cells = [str(c).strip().lower() if c is not None else "" for c in row]
        if "code" in want.values() and headers["code"].strip().lower() in cells:
            index = {want[c]: j for j, c in enumerate(cells) if c in want}
            missing = [(k, headers[k]) for k in headers if k not in index]
            shown = {str(c).strip().lower(): str(c).strip() for c in row if c not in (None, "")}
            findings = []
            for key, m in missing:
                near = difflib.get_close_matches(m.strip().lower(), list(shown), n=3, cutoff=0.4)
                findings.append(
                    Finding(
                        file_name,
                        None,
                        m,
                        "",
                        f"{MISSING_EXPORT_COLUMN} « {file_name} » : « {m} » (clé `finance_export.columns.{key}`)"
                        + (" ; en-têtes proches : " + ", ".join(f"« {shown[n]} »" for n in near) if near else ""),
                    )
                )
            rows = []
            for n, r in enumerate(table[i + 1 :], start=i + 2):
                if not any(c not in (None, "") for c in r):
                    continue
                rec = {k: (r[j] if j < len(r) else None) for k, j in index.items()}
                rec["_file"], rec["_row"] = file_name, n
                rows.append(rec)
            return rows, findings
    return [], [
        Finding(
            file_name,
            None,
            headers.get("code", "Code opération"),
            "",
            "ligne d'en-tête introuvable dans l'export financier",
        )
    ]
