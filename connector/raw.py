"""What extraction hands to normalization: values exactly as SharePoint returned them."""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass, field
from typing import Any

from connector.portfolio import Document, Finding

# What a stage reports its progress through: (what, done, total).
Progress = Callable[[str, int, int], None]


@dataclass
class RawData:
    # logical list key -> records; each record has _id, _url, _modified, _editor
    # and one key per configured logical column (raw SharePoint value).
    lists: dict[str, list[dict[str, Any]]] = field(default_factory=dict)
    # logical list key -> SharePoint list title (for findings and links)
    titles: dict[str, str] = field(default_factory=dict)
    # logical list key -> {logical column -> display name}
    columns: dict[str, dict[str, str]] = field(default_factory=dict)
    # rows of the finance export: logical keys of schema.FINANCE_EXPORT_COLUMNS, raw cells,
    # plus _file (file name) and _row (1-based spreadsheet row)
    finance_rows: list[dict[str, Any]] = field(default_factory=list)
    documents: list[Document] = field(default_factory=list)
    # the finance export read: {"file": name, "modified": date or None}; None without one
    finance_source: dict[str, Any] | None = None
    # configured export columns the newest export lacks (with its closest headers): the figures
    # would silently fall back on the lists, so the run says it and exits 5
    finance_missing: list[str] = field(default_factory=list)
    # findings of extraction itself (finance export), kept for a recomputation after a conflict
    extra_findings: list[Finding] = field(default_factory=list)
