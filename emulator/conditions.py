"""Preconditions in one place: If-Match against the current ETag."""

from __future__ import annotations

from emulator import errors


def check_if_match(headers: dict, current_etag: str) -> None:
    """`*` or no header overwrites blindly; any other value must equal the current ETag."""
    wanted = headers.get("if-match")
    if wanted is None or wanted.strip() == "*":
        return
    tags = [t.strip() for t in wanted.split(",")]
    norm = lambda t: t[2:] if t.startswith("W/") else t  # noqa: E731 - weak tags compare equal
    if norm(current_etag) not in {norm(t) for t in tags}:
        raise errors.precondition_failed()
