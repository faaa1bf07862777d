"""Configuration of the Word reports ([reports] section)."""

from __future__ import annotations

from pathlib import Path
from typing import Literal

from pydantic import BaseModel, ConfigDict, Field, field_validator

from connector import schema

DEFAULT_TEMPLATES = Path(__file__).resolve().parents[2] / "docx_templates"


class CopilConfig(BaseModel):
    """Committees and their dossiers ([copil] section): when a meeting's dossier is drafted, the
    cadence that plans meetings on a site whose « Comités de pilotage » list is empty, how often
    the calendar alone may refresh a living file."""

    model_config = ConfigDict(extra="forbid")

    draft_days_before: int = Field(
        10, ge=0, le=90, description="The meeting's dossier is published as a draft this many days before it."
    )
    living_refresh_days: int = Field(
        7,
        ge=1,
        description="A living file whose inputs did not change is refreshed for the calendar alone (day counts, "
        "an export's age) at most this often.",
    )
    cadence: Literal["none", "monthly", "quarterly"] = Field(
        "quarterly",
        description="Portfolio COPILs planned when the « Comités de pilotage » list has none: the first "
        "`cadence_weekday` of each month or quarter.",
    )
    cadence_weekday: int = Field(1, ge=0, le=6, description="Day of the planned meetings: 0 Monday … 1 Tuesday … 6.")
    cadence_title: str = Field("COPIL PPI", description="Name of the planned meetings.")
    project_reports: bool = Field(
        False, description="A portfolio meeting's dossier also holds the reports of the projects in its scope."
    )
    pdf: bool = Field(True, description="A frozen dossier is also published as PDF (LibreOffice, when installed).")


class ReportsConfig(BaseModel):
    model_config = ConfigDict(extra="forbid")

    enabled: bool = Field(True, description="Generate and publish the Word reports during the nightly run.")
    library: str = Field("Rapports COPIL", description="Document library (display name) the reports go to.")
    folder: str = Field(
        "Projets/{code}",
        description="Folder of a project's living file (« Fiche projet <code>.docx ») inside the library; "
        "placeholders {year}, {code}, {direction}.",
    )
    portfolio_folder: str = Field(
        "Synthèse", description="Folder of the portfolio's living file (« Synthèse du portefeuille.docx »)."
    )
    workbook: bool = Field(
        True,
        description="Each night that the portfolio's data changed, « Portefeuille copil.xlsx » (Excel tables for "
        "Excel and Power BI, schema in docs/workbook.md) in the portfolio folder.",
    )
    workbook_name: str = Field("Portefeuille copil.xlsx", description="File name of that workbook.")
    meetings_folder: str = Field(
        "Comités",
        description="Folder of the meetings' dossiers: one sub-folder per meeting (« 2027-01-12 COPIL PPI »).",
    )
    templates_dir: Path = Field(DEFAULT_TEMPLATES, description="Local folder holding the .docx templates.")
    template_library: str | None = Field(
        None,
        description="A SharePoint library whose templates, when present, "
        "win over the local ones (staff edit them in Word online).",
    )
    project_template: str = Field("rapport_copil.docx", description="Template of the per-project COPIL report.")
    portfolio_template: str = Field("synthese_portefeuille.docx", description="Template of the portfolio synthesis.")
    copil_interval_days: int = Field(
        28,
        ge=0,
        description="The 'previous COPIL' a trend is measured against is "
        "the last nightly snapshot at least this many days old (0: the last run).",
    )
    workers: int = Field(
        0, ge=0, description="Processes rendering the reports in parallel (0: one per core). Uploads stay sequential."
    )
    documents_shown: int = Field(8, ge=0, le=50, description="How many of a project's latest documents a report lists.")
    synthesis_max_rows: int = Field(
        150,
        ge=10,
        le=5000,
        description="Rows of each list of the synthesis (alerts, decisions, agenda, a direction's "
        "operations…); beyond, a line says how many more and where to find them. A synthesis stays "
        "a document to read at any size (at 10,000 projects, in full, it ran to 42,000 table rows).",
    )
    columns: dict[str, str] = Field(
        default_factory=dict,
        description="Metadata columns of the report "
        'library, logical key = "Display name" overrides: project_code, copil_date, '
        "weather, report_kind.",
    )

    @field_validator("library", "template_library")
    @classmethod
    def _strip(cls, v):
        return v.strip() if isinstance(v, str) else v  # SharePoint trims titles

    @field_validator("columns")
    @classmethod
    def _known_columns(cls, v: dict[str, str]):
        valid = {c.key for c in schema.REPORTS_LIBRARY.columns}
        for key in v:
            if key not in valid:
                raise ValueError(f"colonne inconnue « {key} » ; clés possibles : {', '.join(sorted(valid))}")
        return {k: name.strip() for k, name in v.items()}

    def column_names(self) -> dict[str, str]:
        """Metadata columns of the report library (logical -> display name)."""
        return {c.key: self.columns.get(c.key, c.display) for c in schema.REPORTS_LIBRARY.columns}
