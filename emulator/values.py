"""Value conversion between storage form and the wire: REST JSON (writes and reads) and
ValidateUpdateListItem form values (strings in the site's fr-FR locale)."""

from __future__ import annotations

import json
import re
from datetime import datetime, timezone

from emulator import errors
from emulator.models import Field
from emulator.odata import parse_datetime
from emulator.responses import iso, string_collection


def _type_error(edm: str) -> errors.SPError:
    return errors.bad_request(
        f"Cannot convert a primitive value to the expected type '{edm}'. See the inner exception for more details."
    )


def from_rest(f: Field, value, site):
    """A REST JSON property value -> storage form, or SharePoint's 400."""
    if value is None:
        return None
    k = f.kind
    if k in ("Text", "Note", "Choice", "File"):
        if not isinstance(value, str):
            raise _type_error("Edm.String")
        if k == "Text" and len(value) > 255:
            raise errors.bad_request(f"The length of the value for field '{f.title}' exceeds 255 characters.")
        return value
    if k in ("Number", "Currency"):
        if isinstance(value, bool):
            raise _type_error("Edm.Double")
        if isinstance(value, (int, float)):
            return float(value)
        try:
            return float(str(value))
        except ValueError:
            raise _type_error("Edm.Double")
    if k == "DateTime":
        try:
            return iso(parse_datetime(str(value)))
        except ValueError:
            raise _type_error("Edm.DateTime")
    if k == "Boolean":
        if not isinstance(value, bool):
            raise _type_error("Edm.Boolean")
        return value
    if k == "MultiChoice":
        vals = value.get("results", []) if isinstance(value, dict) else value
        if not isinstance(vals, list):
            raise _type_error("Collection(Edm.String)")
        return [str(v) for v in vals]
    if k == "Lookup":
        if not isinstance(value, int) or isinstance(value, bool):
            raise _type_error("Edm.Int32")
        return value or None
    if k == "User":
        if not isinstance(value, int) or isinstance(value, bool):
            raise _type_error("Edm.Int32")
        if value and site.user(value) is None:
            raise errors.bad_request("User cannot be found.", "-2146232832", "Microsoft.SharePoint.SPException")
        return value or None
    if k == "URL":
        if not isinstance(value, dict):
            raise _type_error("SP.FieldUrlValue")
        return {"Url": value.get("Url"), "Description": value.get("Description") or value.get("Url")}
    raise errors.bad_request(f"Field '{f.title}' cannot be written.")


def to_rest(f: Field, value):
    if value is None:
        return None
    if f.kind == "MultiChoice":
        return string_collection(value)
    if f.kind == "URL":
        return {"__metadata": {"type": "SP.FieldUrlValue"}, **value}
    return value


class FormError(ValueError):
    pass


_FR_DATE = re.compile(r"^(\d{1,2})/(\d{1,2})/(\d{4})(?:\s+(\d{1,2}):(\d{2})(?::(\d{2}))?)?$")


def parse_form_datetime(text: str, utc: bool = False, locale_id: int = 1036, tz=None) -> datetime:
    """Site-locale form value (fr-FR `24/11/2026 02:00[:05]`, en-US `11/24/2026 ...`; in the site's
    zone `tz` unless datesInUTC) or ISO 8601 -> UTC."""
    m = _FR_DATE.match(text.strip())
    if m:
        d, mo, y, h, mi, s = m.groups()
        if locale_id == 1033:
            d, mo = mo, d
        try:
            local = datetime(
                int(y),
                int(mo),
                int(d),
                int(h or 0),
                int(mi or 0),
                int(s or 0),
                tzinfo=timezone.utc if utc else (tz or timezone.utc),
            )
        except ValueError:
            raise FormError("Date non valide.")
        return local.astimezone(timezone.utc)
    try:
        return parse_datetime(text)
    except ValueError:
        raise FormError("Date non valide.")


def from_form(f: Field, text, site, utc: bool = False):
    """A ValidateUpdateListItem form value (string, site locale) -> storage form."""
    locale = getattr(site, "locale_id", 1036)
    if text is None or text == "":
        return None
    text = str(text)
    k = f.kind
    if k in ("Text", "Note", "Choice", "File"):
        if k == "Text" and len(text) > 255:
            raise FormError("La valeur dépasse 255 caractères.")
        return text
    if k in ("Number", "Currency", "Integer"):
        t = text.replace("\u202f", "").replace("\u00a0", "").replace(" ", "")
        if locale == 1033:  # en-US: dot decimal, comma thousands
            if not re.fullmatch(r"-?\d{1,3}(,\d{3})*(\.\d+)?|-?\d+(\.\d+)?", t):
                raise FormError("Invalid number.")
            return float(t.replace(",", ""))
        if not re.fullmatch(r"-?\d+(,\d+)?", t):  # fr-FR: comma decimal, no dot
            raise FormError("Ce nombre n'est pas valide.")
        return float(t.replace(",", "."))
    if k == "DateTime":
        return iso(parse_form_datetime(text, utc, locale, site.tz))
    if k == "Boolean":
        low = text.lower()
        if low in ("1", "true", "oui", "yes"):
            return True
        if low in ("0", "false", "non", "no"):
            return False
        raise FormError("Valeur Oui/Non non valide.")
    if k == "MultiChoice":
        return [p for p in text.split(";#") if p]
    if k == "Lookup":
        head = text.split(";#")[0]
        if not head.isdigit():
            raise FormError("Valeur de recherche non valide.")
        return int(head) or None
    if k == "User":
        try:
            people = json.loads(text)
        except ValueError:
            raise FormError("Utilisateur introuvable.")
        if not people:
            return None
        key = people[0].get("Key") if isinstance(people[0], dict) else None
        if not key:
            raise FormError("Utilisateur introuvable.")
        return site.ensure_user(key).id
    if k == "URL":
        url, _, desc = text.partition(", ")
        return {"Url": url, "Description": desc or url}
    raise FormError("Ce champ ne peut pas être modifié.")
