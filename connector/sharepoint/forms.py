"""Values as SharePoint's forms take them: ValidateUpdateListItem parses every value in the
web's locale (« 0,95 » and dd/MM/yyyy on a French site), dates sent in UTC."""

from __future__ import annotations

from dataclasses import dataclass
from datetime import date, datetime, timezone

from connector.model import is_missing


@dataclass(frozen=True)
class Locale:
    """How the site expects form values: ValidateUpdateListItem parses them in the web's locale."""

    decimal: str = ","
    month_first: bool = False  # en-US: MM/dd/yyyy
    locale_id: int = 1036

    @property
    def name(self) -> str:
        return {1036: "fr-FR", 1033: "en-US", 1031: "de-DE", 2057: "en-GB"}.get(
            self.locale_id, f"LCID {self.locale_id}"
        )

    def date_format(self, with_time: bool) -> str:
        d = "%m/%d/%Y" if self.month_first else "%d/%m/%Y"
        return d + (" %H:%M:%S" if with_time else "")


FR = Locale()


def form_value(kind: str, value, locale: Locale = FR) -> str:
    """A Python value as a ValidateUpdateListItem form value (site locale; dates sent in UTC)."""
    if is_missing(value):
        return ""
    if kind in ("Number", "Currency"):
        text = repr(float(value)) if not float(value).is_integer() else str(int(value))
        return text.replace(".", locale.decimal)
    if kind == "DateTime":
        if isinstance(value, datetime):
            return value.astimezone(timezone.utc).strftime(locale.date_format(True))
        if isinstance(value, date):
            return value.strftime(locale.date_format(False))
        return str(value)
    if kind == "Boolean":
        return "1" if value else "0"
    if kind == "MultiChoice":
        return ";#".join(value)
    return str(value)


def iso_to_form(iso: str, locale: Locale = FR) -> str:
    dt = datetime.fromisoformat(iso.replace("Z", "+00:00"))
    return dt.astimezone(timezone.utc).strftime(locale.date_format(True))
