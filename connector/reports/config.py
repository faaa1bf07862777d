"""Configuration of the Word reports ([reports] section)."""

from __future__ import annotations

from pathlib import Path

from pydantic import BaseModel, ConfigDict, Field, field_validator

from connector import schema

DEFAULT_TEMPLATES = Path(__file__).resolve().parents[2] / "docx_templates"


class ReportsConfig(BaseModel):
    model_config = ConfigDict(extra="forbid")

    enabled: bool = Field(True, description="Generate and publish the Word reports during the nightly run.")
    library: str = Field("Rapports COPIL", description="Document library (display name) the reports go to.")
    folder: str = Field(
        "{year}/{code}",
        description="Folder of a project report inside the library; placeholders {year}, {code}, {direction}.",
    )
    portfolio_folder: str = Field("{year}/Synthèse", description="Folder of the portfolio synthesis.")
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
