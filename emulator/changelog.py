"""The change log of a site, as SharePoint keeps it per content database: every add, update,
system update, delete and restore of an item, and every change of a list or a column, numbered
in order with its time. Callers read it back with GetChanges (emulator.changes) from a change
token `version;scope;scope id;ticks;change number`.

SharePoint keeps about 60 days of changes (`Backend.change_retention_days`, settable through
`POST /_emulator/changelog` to test). SharePoint Online answers a token older than that with an
empty collection and no error (sp-dev-docs#10389), and so does the emulator: the caller must
judge the token's age itself."""

from __future__ import annotations

from dataclasses import dataclass
from datetime import datetime, timedelta, timezone

from emulator import errors

# SP.ChangeType values (the client's office365/sharepoint/changes/type.py)
ADD, UPDATE, DELETE, RENAME, RESTORE, SYSTEM_UPDATE = 1, 2, 3, 4, 7, 15
# Change token scopes: 0 content database, 1 site collection, 2 web, 3 list
SCOPE_SITE, SCOPE_WEB, SCOPE_LIST = 1, 2, 3
_EPOCH = datetime(1, 1, 1, tzinfo=timezone.utc)


@dataclass(frozen=True, slots=True)
class Change:
    number: int
    time: datetime
    kind: str  # "item" | "field" | "list"
    type: int  # SP.ChangeType
    list_id: str
    item_id: int | None = None
    unique_id: str | None = None
    field_id: str | None = None
    editor: str | None = None  # login of who made the change
    recycle: bool = False  # a delete or restore through the recycle bin


def ticks(moment: datetime) -> int:
    """.NET ticks (100 ns since 0001-01-01 UTC), as SharePoint writes them in a token."""
    return (moment.astimezone(timezone.utc) - _EPOCH) // timedelta(microseconds=1) * 10


def from_ticks(value: int) -> datetime:
    return _EPOCH + timedelta(microseconds=value // 10)


def token(scope: int, scope_id: str, moment: datetime, number: int) -> str:
    return f"1;{scope};{scope_id};{ticks(moment)};{number}"


@dataclass(frozen=True)
class Token:
    scope: int
    scope_id: str
    time: datetime
    number: int


def parse_token(text: object) -> Token:
    """A token as a caller sends it back; anything else is SharePoint's 400."""
    value = text.get("StringValue") if isinstance(text, dict) else text
    parts = str(value or "").split(";")
    try:
        if len(parts) != 5 or parts[0] != "1":
            raise ValueError
        return Token(int(parts[1]), parts[2].strip("{}").lower(), from_ticks(int(parts[3])), int(parts[4]))
    except (ValueError, OverflowError):
        raise errors.bad_request(
            f"The change token '{value}' is not valid.",
            "-2146232832",
            "Microsoft.SharePoint.SPInvalidChangeTokenException",
        ) from None


class ChangeLog:
    """Changes of one site, oldest first; numbers only grow, old entries are purged."""

    def __init__(self):
        self.entries: list[Change] = []
        self.last_number = 0
        self.last_time: datetime | None = None

    def add(self, now: datetime, retention: timedelta, **kw) -> Change:
        self.last_number += 1
        change = Change(self.last_number, now, **kw)
        self.entries.append(change)
        self.last_time = now
        if self.entries[0].time < now - retention:  # amortised: purge only what has aged out
            cut = next((i for i, c in enumerate(self.entries) if c.time >= now - retention), len(self.entries))
            del self.entries[:cut]
        return change

    def since(self, number: int, until: int | None = None):
        """Entries after change number `number` (and at most `until`), in order."""
        lo, hi = 0, len(self.entries)
        while lo < hi:  # numbers are sorted: bisect on them
            mid = (lo + hi) // 2
            if self.entries[mid].number <= number:
                lo = mid + 1
            else:
                hi = mid
        for c in self.entries[lo:]:
            if until is not None and c.number > until:
                return
            yield c
