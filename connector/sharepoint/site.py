"""SharePointSite: every SharePoint call copil makes goes through here, on the Office365 client.

One class over the areas of SharePoint it touches, each in its module (as moto splits a
service's backend by resource): the connection and retries (client), regional settings, lists
and fields, provisioning and views, items, files, the change log. Reads page by ID with `__next`; writes are
`ValidateUpdateListItem` system updates in `$batch` requests (no new version; `Modified`/`Editor`
passed back unchanged); throttling (429/503) is waited out per Retry-After."""

from __future__ import annotations

from connector.sharepoint.changes import Changes
from connector.sharepoint.files import Files
from connector.sharepoint.provisioning import Provisioning


class SharePointSite(Changes, Files, Provisioning):
    """One SharePoint site, as copil reads and writes it."""
