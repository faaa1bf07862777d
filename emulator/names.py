"""SharePoint naming rules: internal-name encoding, file and folder names, URL lengths."""

from __future__ import annotations

import re

from emulator import errors

_FORBIDDEN = set('"*:<>?/\\|')
_RESERVED = re.compile(r"^(CON|PRN|AUX|NUL|COM[0-9]|LPT[0-9])(\..*)?$", re.I)
MAX_PATH = 400
MAX_SEGMENT = 255


def encode_internal_name(display: str, limit: int | None = 32) -> str:
    """Encode a display name as SharePoint does at field creation: every character that is not
    an ASCII letter, digit or underscore becomes _xHHHH_ (UTF-16 units: an emoji is two), then
    the result is cut to 32 chars (field names only: `limit`)."""
    out = []
    for i, ch in enumerate(display):
        if ch.isascii() and (ch.isalnum() or ch == "_") and not (i == 0 and ch.isdigit()):
            out.append(ch)
        else:
            units = ch.encode("utf-16-be")
            out += [f"_x{int.from_bytes(units[j : j + 2], 'big'):04x}_" for j in range(0, len(units), 2)]
    return "".join(out)[:limit] if limit else "".join(out)


def check_segment(name: str, *, at_library_root: bool = False) -> None:
    """Raise SharePoint's error for a file or folder name it refuses."""
    bad = (
        not name
        or name != name.strip()
        or any(c in _FORBIDDEN or ord(c) < 32 for c in name)
        or _RESERVED.match(name)
        or name.lower() in (".lock", "desktop.ini")
        or name.startswith("~$")
        or "_vti_" in name.lower()
        or name.endswith(".")
        or (at_library_root and name.lower() == "forms")
    )
    if bad:
        raise errors.invalid_name(
            f"The file or folder name '{name}' contains characters that are not permitted "
            "or is a reserved name. Please use a different name."
        )
    if len(name) > MAX_SEGMENT:
        raise errors.path_too_long(name)


def check_path(server_relative_url: str) -> None:
    if len(server_relative_url) > MAX_PATH:
        raise errors.path_too_long(server_relative_url)


def entity_type_name(list_url_name: str, library: bool) -> str:
    """ListItemEntityTypeFullName as SharePoint derives it from the list's URL name: every
    character but ASCII letters, digits and underscores encoded as _xHHHH_, never cut (the
    32-character cut of field names made « Test liste PnP… » end in `PnP_x0020ListItem`)."""
    enc = encode_internal_name(list_url_name, limit=None)
    return f"SP.Data.{enc[:1].upper()}{enc[1:]}{'Item' if library else 'ListItem'}"
