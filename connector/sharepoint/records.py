"""What copil knows of a site's lists, fields, items and files, and the outcome of each write."""

from __future__ import annotations

import logging
from dataclasses import dataclass, field
from datetime import datetime
from enum import StrEnum

log = logging.getLogger("copil.sp")

EMAIL_SUFFIX = "@email"  # a person column's e-mail, beside its display name in a read row (items.read_items)


@dataclass
class FieldInfo:
    internal: str
    display: str
    kind: str
    entity_name: str  # property name in JSON answers (OData_ prefix when needed)
    lookup_list: str | None = None
    indexed: bool = False
    read_only: bool = False
    choices: tuple[str, ...] = ()
    formatter: str = ""  # column formatting JSON (CustomFormatter), "" when none


@dataclass
class ListInfo:
    title: str
    id: str
    entity_type: str
    template: int
    item_count: int
    root_url: str
    fields: dict[str, FieldInfo] = field(default_factory=dict)  # by display name
    change_token: str = ""  # the list's CurrentChangeToken when its metadata was read

    def find(self, display: str) -> FieldInfo | None:
        """By display name (exact, then ignoring case and surrounding spaces), then by internal
        name ("Title" on a French site whose built-in column is shown as "Titre")."""
        key = display.strip().lower()
        return (
            self.fields.get(display)
            or next((x for x in self.fields.values() if x.display.strip().lower() == key), None)
            or next((x for x in self.fields.values() if x.internal == display.strip()), None)
        )

    def by_internal(self, internal: str) -> FieldInfo | None:
        for f in self.fields.values():
            if f.internal == internal:
                return f
        return None


@dataclass
class ItemUpdate:
    item_id: int
    values: dict  # internal name -> Python value (formatted here)
    modified: str | None = None  # the item's Modified as read (ISO), written back unchanged
    editor: str | None = None  # the item's Editor login as read
    etag: str | None = None  # the item's ETag as read: a person's edit since then gives 412


class ItemStatus(StrEnum):
    """What became of one write, by what the caller does next."""

    OK = "ok"
    CONFLICT = "conflict"  # 412: a person edited the item since it was read; read it again
    FORBIDDEN = "forbidden"  # 401/403: the identity may not write here
    FAILED = "failed"  # refused for another reason (a value, a 404…): a dead letter


@dataclass
class ItemWriteResult:
    item_id: int
    status: ItemStatus
    error: str | None = None  # French, for the dead letters and the logs

    @property
    def ok(self) -> bool:
        return self.status is ItemStatus.OK


def status_of(http_status: int | None) -> ItemStatus:
    """The outcome a refused write stands for, from its HTTP status."""
    if http_status == 412:
        return ItemStatus.CONFLICT
    if http_status in (401, 403):
        return ItemStatus.FORBIDDEN
    return ItemStatus.FAILED


@dataclass
class FileInfo:
    name: str
    server_relative_url: str
    url: str
    modified: datetime | None
    item_id: int
    fields: dict = field(default_factory=dict)  # by internal name


@dataclass(frozen=True)
class ChangeRecord:
    """One entry of SharePoint's change log, as GetChanges answers it: ids, never values."""

    kind: str  # "item" | "field" | "list" | "other"
    type: int  # SP.ChangeType: 1 add, 2 update, 3 delete, 7 restore, 15 system update, …
    token: str  # the change's own token: where the next query starts
    item_id: int | None = None
    time: datetime | None = None
    editor: str = ""
