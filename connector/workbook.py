"""« Portefeuille copil.xlsx »: the consolidated portfolio as Excel tables, for Excel and Power BI.

One sheet per consolidated table, each an Excel table (ListObject) whose name and column headers
are a published contract (docs/workbook.md, generated from `SHEETS`): Power BI and Excel refresh
by table name and column name, so a header is never renamed within a schema version — a column
is only ever added at the end, and a rename or removal raises SCHEMA_VERSION's major number.

The figures are the portfolio's, the same frames the reports and the written columns come from.
The file is re-uploaded only when its data changed (`hashes`): openpyxl stamps every file with
its creation time, so the bytes alone would publish a new version every night."""

from __future__ import annotations

import hashlib
import io
import math
import warnings
from dataclasses import dataclass
from datetime import date, datetime

import pandas as pd
from openpyxl import Workbook
from openpyxl.cell import WriteOnlyCell
from openpyxl.cell.cell import ILLEGAL_CHARACTERS_RE
from openpyxl.packaging.custom import StringProperty
from openpyxl.styles import Font
from openpyxl.utils import get_column_letter
from openpyxl.worksheet.filters import AutoFilter
from openpyxl.worksheet.table import Table, TableColumn, TableStyleInfo

from connector.portfolio import Portfolio

SCHEMA_VERSION = "1.0"
FILE_NAME = "Portefeuille copil.xlsx"

# Excel number formats are stored locale-free and shown with the reader's separators: French Excel
# shows « 1 234 567,89 € » and « 12,5 % » from these.
_FORMATS = {
    "date": "dd/mm/yyyy",
    "rate": "0.0%",
    "int": "0",
    "days": "0",
    "number": "#,##0.00",
}
_MONEY = {"EUR": '#,##0.00 "€"', "XPF": '#,##0 "XPF"'}


@dataclass(frozen=True)
class Col:
    header: str  # the published column name (never renamed within a schema version)
    key: str  # the portfolio frame's column
    kind: str  # text | int | days | money | rate | date | bool | list | number
    doc: str = ""
    moves: bool = False  # moves with the calendar alone (days late grow each night): see `hashes`


@dataclass(frozen=True)
class Sheet:
    name: str  # worksheet title
    table: str  # Excel table name: what Power BI and Excel queries refer to
    frame: str  # Portfolio attribute
    doc: str
    columns: tuple[Col, ...]


def _c(header: str, key: str, kind: str = "text", doc: str = "", moves: bool = False) -> Col:
    return Col(header, key, kind, doc, moves)


_PROJECT = "Code opération"
SHEETS: tuple[Sheet, ...] = (
    Sheet(
        "Projets",
        "copil_projets",
        "projects",
        "Une ligne par opération : les valeurs saisies, lues, puis chaque indicateur calculé par copil.",
        (
            _c(_PROJECT, "code"),
            _c("Intitulé", "title"),
            _c("ID élément", "id", "int", "identifiant de l'élément dans la liste « Projets »"),
            _c("Lien", "url", doc="formulaire de l'élément dans SharePoint"),
            _c("Direction pilote", "direction"),
            _c("Territoire", "territory"),
            _c("Politique publique", "policy"),
            _c("Chef de projet", "manager"),
            _c("Élu référent", "elected"),
            _c("Maîtrise d'ouvrage", "owner"),
            _c("Phase", "phase"),
            _c("Date de début", "start", "date"),
            _c("Fin prévue initiale", "baseline_end", "date"),
            _c("Fin prévisionnelle", "forecast_end", "date"),
            _c("Avancement physique", "progress", "rate"),
            _c("AP votée", "ap_voted", "money"),
            _c("Date de délibération AP", "ap_deliberation", "date"),
            _c("Météo chef de projet", "manual_weather"),
            _c("Programme", "programme"),
            _c("Quartier prioritaire (QPV)", "qpv"),
            _c("Politique de la ville", "urban_policy"),
            _c("En cours", "running", "bool", "Oui tant que l'opération n'est pas close"),
            _c("Météo calculée", "weather", doc="Soleil, Nuageux, Orage ou Indéterminé"),
            _c("Motifs de la météo", "weather_reasons", "list"),
            _c("Alertes", "alerts", "list"),
            _c("CP de l'exercice", "cp_year", "money"),
            _c("Engagé de l'exercice", "engaged_year", "money"),
            _c("Mandaté de l'exercice", "paid_year", "money"),
            _c("Taux d'exécution CP", "cp_execution_rate", "rate", "mandaté de l'exercice / CP de l'exercice"),
            _c(
                "Mandaté arrêté au",
                "paid_year_as_of",
                "date",
                "date de l'export financier, sinon de l'exécution",
                moves=True,
            ),
            _c("CP toutes années", "cp_total", "money"),
            _c("Engagé toutes années", "engaged_total", "money"),
            _c("Mandaté toutes années", "paid_total", "money"),
            _c("Taux d'engagement AP", "commitment_rate", "rate", "engagé toutes années / AP votée"),
            _c("Consommation AP", "ap_consumption", "rate", "mandaté toutes années / AP votée"),
            _c("Reste à mandater", "remaining_to_pay", "money", "AP votée - mandaté toutes années"),
            _c("Couverture AP (années)", "ap_coverage_years", "number", "reste à mandater / CP de l'exercice"),
            _c("AP affectée", "ap_affected", "money", "de l'export financier"),
            _c("Subventions demandées", "subsidies_requested", "money"),
            _c("Subventions notifiées", "subsidies_notified", "money"),
            _c("Subventions encaissées", "subsidies_received", "money"),
            _c("Part d'autofinancement", "self_funding_share", "rate", "1 - notifiées / AP votée"),
            _c(
                "Taux d'avenants max", "amendments_rate_max", "rate", "pire marché : avenants cumulés / montant initial"
            ),
            _c("Glissement (jours)", "slippage_days", "days", "fin prévisionnelle - fin prévue initiale"),
            _c("Jalons en retard", "overdue_milestones", "int"),
            _c("Prochain jalon", "next_milestone_label"),
            _c("Date du prochain jalon", "next_milestone_date", "date"),
            _c("Retard du prochain jalon (jours)", "next_milestone_late_days", "days", moves=True),
            _c("Risques critiques ouverts", "open_critical_risks", "int"),
            _c("Travaux commencés", "started", "bool"),
            _c("Début d'exécution", "execution_start", "date"),
            _c("Échéance de subvention", "subsidy_deadline", "date", "première échéance DETR/DSIL à venir"),
            _c("Besoin de financement", "funding_need", "money", "coût estimé au-delà de l'AP"),
            _c("Base du besoin", "funding_need_basis", doc="projection ou constaté"),
            _c(
                "Montant à risque",
                "money_at_risk",
                "money",
                "subventions caduques possibles + CP non consommés projetés",
            ),
            _c("Anomalies", "findings_count", "int", "valeurs saisies que copil n'a pas pu utiliser"),
        ),
    ),
    Sheet(
        "Jalons",
        "copil_jalons",
        "milestones",
        "Une ligne par jalon.",
        (
            _c(_PROJECT, "project_code"),
            _c("ID élément", "id", "int"),
            _c("Jalon", "title"),
            _c("Phase MOP", "phase"),
            _c("Date prévue initiale", "baseline", "date"),
            _c("Date prévisionnelle", "forecast", "date"),
            _c("Date réelle", "actual", "date"),
            _c("Glissement (jours)", "slippage_days", "days", "au moins les jours écoulés d'un jalon en retard", True),
            _c("Statut", "status"),
        ),
    ),
    Sheet(
        "Budget",
        "copil_budget",
        "budget",
        "Une ligne par opération et exercice (AP/CP).",
        (
            _c(_PROJECT, "project_code"),
            _c("Exercice", "year", "int"),
            _c("CP prévus", "cp_planned", "money"),
            _c("Engagé", "engaged", "money"),
            _c("Mandaté", "paid", "money"),
            _c("Source", "source", doc="finance : de l'export financier ; liste : saisi dans la liste"),
        ),
    ),
    Sheet(
        "Subventions",
        "copil_subventions",
        "subsidies",
        "Une ligne par subvention.",
        (
            _c(_PROJECT, "project_code"),
            _c("ID élément", "id", "int"),
            _c("Subvention", "title"),
            _c("Financeur", "funder"),
            _c("Demandé", "requested", "money"),
            _c("Notifié", "notified", "money"),
            _c("Encaissé", "received", "money"),
            _c("Notifiée le", "notified_on", "date"),
            _c("Date limite de commencement", "start_deadline", "date"),
            _c("Date limite d'achèvement", "completion_deadline", "date"),
        ),
    ),
    Sheet(
        "Marchés",
        "copil_marches",
        "contracts",
        "Une ligne par marché, avec ses avenants cumulés.",
        (
            _c(_PROJECT, "project_code"),
            _c("ID élément", "id", "int"),
            _c("Marché", "title"),
            _c("Numéro", "number"),
            _c("Nature", "kind"),
            _c("Titulaire", "holder"),
            _c("Montant initial", "initial_amount", "money"),
            _c("Nombre d'avenants", "amendments_count", "int"),
            _c("Montant des avenants", "amendments_total", "money"),
            _c("Taux d'avenants", "amendments_rate", "rate"),
            _c("Seuil", "threshold", "rate"),
            _c("Au-delà du seuil", "over_threshold", "bool"),
            _c("Commission d'appel d'offres requise", "commission_required", "bool"),
        ),
    ),
    Sheet(
        "Avenants",
        "copil_avenants",
        "amendments",
        "Une ligne par avenant.",
        (
            _c(_PROJECT, "project_code"),
            _c("ID élément", "id", "int"),
            _c("ID marché", "contract_id", "int"),
            _c("Numéro du marché", "contract_number"),
            _c("Numéro", "number"),
            _c("Montant", "amount", "money"),
            _c("Signé le", "signed_on", "date"),
        ),
    ),
    Sheet(
        "Risques",
        "copil_risques",
        "risks",
        "Une ligne par risque.",
        (
            _c(_PROJECT, "project_code"),
            _c("ID élément", "id", "int"),
            _c("Risque", "title"),
            _c("Probabilité", "probability", "int"),
            _c("Impact", "impact", "int"),
            _c("Criticité", "criticality", "int"),
            _c("Statut", "status"),
            _c("Mesure", "mitigation"),
            _c("Responsable", "owner"),
            _c("Échéance", "due", "date"),
        ),
    ),
    Sheet(
        "Décisions",
        "copil_decisions",
        "decisions",
        "Une ligne par décision demandée aux comités (liste « Décisions » et lignes des projets).",
        (
            _c(_PROJECT, "project_code"),
            _c("Clé", "key", doc="item:<ID> pour un élément de la liste, texte:<ligne> pour une ligne d'un projet"),
            _c("Décision", "title"),
            _c("Échéance", "due", "date"),
            _c("Statut", "status"),
            _c("Décidée le", "decided_on", "date"),
            _c("Relevé", "outcome"),
            _c("Attendue", "open", "bool"),
            _c("Échéance dépassée", "overdue", "bool"),
            _c("Lien", "url"),
        ),
    ),
    Sheet(
        "Anomalies",
        "copil_anomalies",
        "findings",
        "Une ligne par valeur saisie que copil n'a pas pu utiliser.",
        (
            _c(_PROJECT, "project_code"),
            _c("Liste", "list_title"),
            _c("ID élément", "item_id", "int"),
            _c("Colonne", "column"),
            _c("Valeur saisie", "value"),
            _c("Message", "message"),
            _c("Gravité", "severity"),
            _c("Lien", "link"),
        ),
    ),
)


def _missing(v) -> bool:
    if v is None:
        return True
    try:
        return bool(v != v) or (isinstance(v, float) and math.isnan(v))  # NaN, NaT
    except (TypeError, ValueError):
        return False


def cell_value(v, kind: str):
    """A frame's value as the workbook holds it: None for missing, a date for dates, numbers as
    numbers, « Oui »/« Non » for booleans, lists joined in one cell."""
    if isinstance(v, (list, tuple)):
        v = "\n".join(str(x) for x in v) or None
        kind = "text"
    if _missing(v):
        return None
    if kind == "date":
        if isinstance(v, datetime):
            return v.date()
        return v if isinstance(v, date) else None
    if kind == "bool":
        return "Oui" if bool(v) else "Non"
    if kind in ("int", "days"):
        try:
            return int(v)
        except (TypeError, ValueError):
            return None
    if kind in ("money", "rate", "number"):
        try:
            f = float(v)
        except (TypeError, ValueError):
            return None
        # beyond Excel's largest number (9.99…E+307) a cell reads back as infinity: not an amount
        return None if math.isnan(f) or abs(f) >= 1e307 else f
    if hasattr(v, "item"):  # numpy scalars
        v = v.item()
    text = str(v)
    # Excel refuses control characters and cells over 32,767 characters: values come from people
    text = ILLEGAL_CHARACTERS_RE.sub("", text)
    return text[:32000]


def rows(portfolio: Portfolio, sheet: Sheet) -> list[list]:
    """The sheet's rows as the workbook holds them."""
    if sheet.frame == "findings":
        recs = [dict(f.__dict__) for f in portfolio.findings]
    else:
        frame = getattr(portfolio, sheet.frame)
        if frame is None or frame.empty:
            return []
        if sheet.frame == "projects":
            recs = [portfolio.project(code) for code in frame.index]
        else:
            recs = frame.to_dict("records")
    return [[cell_value(r.get(c.key), c.kind) for c in sheet.columns] for r in recs]


def hashes(portfolio: Portfolio) -> tuple[str, str]:
    """(what people typed and copil judged, everything): the first leaves out the columns that move
    with the calendar alone, so that the night publishes a new version when the first changed and
    at most every `living_refresh_days` for the second — as the living files (reports.inputs).
    Hashed from the frames with pandas' vectorised hashing, without building a cell: at 10,000
    projects the cells cost 6 s and openpyxl's writing 70 s, paid only when the workbook is due."""
    steady = hashlib.sha256(SCHEMA_VERSION.encode())
    full = hashlib.sha256(SCHEMA_VERSION.encode())
    for sheet in SHEETS:
        if sheet.frame == "findings":
            frame = pd.DataFrame([f.__dict__ for f in portfolio.findings])
        else:
            frame = getattr(portfolio, sheet.frame)
        for h in (steady, full):
            h.update(f"|{sheet.table}|".encode())
        if frame is None or frame.empty:
            continue
        for col in sheet.columns:
            values = frame[col.key] if col.key in frame.columns else pd.Series([None] * len(frame))
            # text first: lists, dates and mixed objects hash alike whatever their dtype
            digest = pd.util.hash_pandas_object(values.astype(str), index=False).to_numpy().tobytes()
            full.update(digest)
            if not col.moves:
                steady.update(digest)
    return steady.hexdigest()[:32], full.hexdigest()[:32]


def tables(portfolio: Portfolio) -> dict[str, list[list]]:
    """Every sheet's rows, by table name."""
    return {s.table: rows(portfolio, s) for s in SHEETS}


def build(portfolio: Portfolio, data: dict[str, list[list]] | None = None, *, collectivite: str = "") -> bytes:
    """The workbook's bytes (`data`: `tables(portfolio)` when already made)."""
    tables_ = data if data is not None else tables(portfolio)
    money = _MONEY.get(portfolio.currency, _MONEY["EUR"])
    wb = Workbook(write_only=True)
    bold = Font(bold=True)
    for sheet in SHEETS:
        ws = wb.create_sheet(sheet.name)
        ws.freeze_panes = "A2"
        for i, col in enumerate(sheet.columns, start=1):
            least = {"money": 18, "date": 12, "list": 40, "text": 16}.get(col.kind, 10)
            ws.column_dimensions[get_column_letter(i)].width = max(least, min(40, len(col.header) + 4))
        header = []
        for col in sheet.columns:
            cell = WriteOnlyCell(ws, value=col.header)
            cell.font = bold
            header.append(cell)
        ws.append(header)
        formats = [money if c.kind == "money" else _FORMATS.get(c.kind) for c in sheet.columns]
        body = tables_[sheet.table]
        for row in body:
            out = []
            for value, fmt in zip(row, formats):
                if fmt is None or value is None:
                    out.append(value)
                else:
                    cell = WriteOnlyCell(ws, value=value)
                    cell.number_format = fmt
                    out.append(cell)
            ws.append(out)
        # an Excel table needs at least one data row: an empty one is a single blank row
        if not body:
            ws.append([None] * len(sheet.columns))
        ref = f"A1:{get_column_letter(len(sheet.columns))}{max(len(body), 1) + 1}"
        table = Table(displayName=sheet.table, ref=ref)
        # a write-only sheet cannot read its header back: the table's columns are named here, as
        # Excel requires (without them Excel « repairs » the file and drops the table)
        table.tableColumns = [TableColumn(id=i, name=c.header) for i, c in enumerate(sheet.columns, start=1)]
        table.autoFilter = AutoFilter(ref=ref)
        table.tableStyleInfo = TableStyleInfo(name="TableStyleMedium2", showRowStripes=True)
        with warnings.catch_warnings():  # said of every write-only sheet: the columns are named above
            warnings.filterwarnings("ignore", "In write-only mode you must add table columns manually")
            ws.add_table(table)
    wb.properties.title = f"Portefeuille des opérations — {collectivite}".rstrip(" —")
    wb.properties.creator = "copil"
    wb.properties.language = "fr-FR"
    wb.properties.subject = f"Situation au {portfolio.as_of:%d/%m/%Y}"
    wb.custom_doc_props.append(StringProperty(name="copil_schema_version", value=SCHEMA_VERSION))
    wb.custom_doc_props.append(StringProperty(name="copil_as_of", value=portfolio.as_of.isoformat()))
    wb.custom_doc_props.append(StringProperty(name="copil_currency", value=portfolio.currency))
    buf = io.BytesIO()
    wb.save(buf)
    return buf.getvalue()


def schema_markdown() -> str:
    """docs/workbook.md's tables, from `SHEETS` (a test keeps the file equal to this)."""
    out = [
        f"Schema version **{SCHEMA_VERSION}** (custom property `copil_schema_version` of the workbook).",
        "",
    ]
    for s in SHEETS:
        out += [
            f"### Sheet « {s.name} » — table `{s.table}`",
            "",
            s.doc,
            "",
            "| Column | Type | Meaning |",
            "|---|---|---|",
        ]
        out += [f"| {c.header} | {c.kind} | {c.doc} |" for c in s.columns]
        out.append("")
    return "\n".join(out)


@dataclass
class Published:
    url: str | None = None  # server-relative URL (or local path) when written tonight
    reason: str = ""  # why it was (or was not) written, in French


def publish(
    site,
    portfolio: Portfolio,
    reports_cfg,
    hashes_store,
    *,
    as_of: date,
    refresh_days: int,
    out_dir=None,
    collectivite: str = "",
) -> Published:
    """Write the workbook into the reports library (or `out_dir`) when its data changed: at once
    for what people typed and copil judged, at most every `refresh_days` for the calendar alone.
    The library keeps the previous versions (one file, overwritten)."""
    steady, full = hashes(portfolio)
    name = reports_cfg.workbook_name
    if out_dir is not None:
        from pathlib import Path  # lazy: only a local copy needs it

        path = Path(out_dir) / name
        path.parent.mkdir(parents=True, exist_ok=True)
        path.write_bytes(build(portfolio, collectivite=collectivite))
        return Published(str(path), "copie locale")
    key = f"workbook:{name}"
    known = (hashes_store.get(key) or "||").split("|")
    if known[0] == steady:
        if known[1] == full:
            return Published(None, "inchangé")
        try:
            last = date.fromisoformat(known[2])
        except ValueError:
            last = None
        if last is not None and (as_of - last).days < refresh_days:
            return Published(None, "seul le calendrier a changé")
    content = build(portfolio, collectivite=collectivite)
    url = site.upload_file(reports_cfg.library, reports_cfg.portfolio_folder, name, content)
    hashes_store.set(key, f"{steady}|{full}|{as_of.isoformat()}")  # after the upload it describes
    return Published(url, "données modifiées" if known[0] != steady else "calendrier")
