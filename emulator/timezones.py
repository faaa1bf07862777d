"""SharePoint's time-zone table, as the emulator answers it (`RegionalSettings/TimeZones`).

This is SharePoint data, not copil's: the emulator keeps its own copy (timezones.json: id,
English description, IANA zone for the offsets) so that it imports nothing of the product.
A test checks that it agrees with the table copil reads (connector/sharepoint/timezones.py)."""

from __future__ import annotations

import json
from dataclasses import dataclass
from pathlib import Path
from zoneinfo import ZoneInfo


@dataclass(frozen=True)
class TimeZone:
    id: int
    description: str
    iana: str

    @property
    def zone(self) -> ZoneInfo:
        return ZoneInfo(self.iana)


BY_ID: dict[int, TimeZone] = {
    int(r["id"]): TimeZone(int(r["id"]), r["description"], r["iana"])
    for r in json.loads((Path(__file__).with_name("timezones.json")).read_text(encoding="utf-8"))
}


def by_id(tz_id: object) -> TimeZone | None:
    try:
        return BY_ID.get(int(tz_id))  # type: ignore[call-overload]
    except (TypeError, ValueError):
        return None
