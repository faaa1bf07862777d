"""What extraction hands to normalization: values exactly as SharePoint returned them."""

from __future__ import annotations

import re
from collections.abc import Callable
from dataclasses import dataclass, field
from datetime import datetime
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
    # items copil wrote this run, by list key: kept so that the next run can tell its own
    # system updates in the change log from a person's edits
    written: dict[str, set[int]] = field(default_factory=dict)

    def apply_write(self, key: str, item_id: int, values: dict[str, Any]) -> None:
        """What copil just wrote into an item (logical column -> value), so that the rows kept
        for the next run hold what SharePoint holds: the values, and the ETag the system update
        moved on (SharePoint counts every update, system ones included)."""
        for rec in self.lists.get(key, []):
            if rec.get("_id") == item_id:
                for k, v in values.items():
                    rec[k] = _as_read(v)
                rec["_etag"] = next_etag(rec.get("_etag"))
                break
        self.written.setdefault(key, set()).add(item_id)


def _as_read(v: Any) -> Any:
    """A written value as SharePoint answers it back: an empty text is null, a time is UTC ISO."""
    if v == "":
        return None
    if isinstance(v, datetime):
        return v.isoformat().replace("+00:00", "Z")
    return v


_ETAG_VERSION = re.compile(r'^(".*?)(\d+)"$')


def next_etag(etag: str | None) -> str | None:
    """The ETag after one more update: `"3"` -> `"4"`, `"{guid},3"` -> `"{guid},4"` (the item's
    version counter ends both forms). None when the form is unknown: the next write is then
    sent without If-Match, and a wrong guess only costs a 412 and a re-read."""
    m = _ETAG_VERSION.match(etag or "")
    return f'{m.group(1)}{int(m.group(2)) + 1}"' if m else None
