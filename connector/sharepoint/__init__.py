"""SharePoint access: the only package that talks to SharePoint (through the Office365 client).

client.py        the client context, copil's retry policy, typed errors, GETs by URL
retries.py       what is retried, what stops a run, the server's delay, the form digest
regional.py      the site's locale and time zone; timezones.py: SharePoint's zone ids
forms.py         values as SharePoint's forms parse them (locale, UTC dates)
lists.py         lists and fields, read once per run
provisioning.py  lists, columns and views created by `copil init-site`
items.py         items read page by page, system updates in $batch, per-item outcomes
files.py         folders, uploads, file metadata in $batch, downloads
changes.py       the change log: GetChanges on every list read, in one $batch
records.py       FieldInfo, ListInfo, ItemUpdate, ItemWriteResult (ItemStatus), FileInfo
site.py          SharePointSite: all of the above on one object"""

from connector.sharepoint.forms import FR, Locale, form_value, iso_to_form
from connector.sharepoint.records import (
    EMAIL_SUFFIX,
    ChangeRecord,
    FieldInfo,
    FileInfo,
    ItemStatus,
    ItemUpdate,
    ItemWriteResult,
    ListInfo,
)
from connector.sharepoint.retries import THRESHOLD_HRESULT, server_delay, unreachable
from connector.sharepoint.site import SharePointSite

__all__ = [
    "EMAIL_SUFFIX",
    "ChangeRecord",
    "FR",
    "Locale",
    "form_value",
    "iso_to_form",
    "FieldInfo",
    "FileInfo",
    "ItemStatus",
    "ItemUpdate",
    "ItemWriteResult",
    "ListInfo",
    "THRESHOLD_HRESULT",
    "server_delay",
    "unreachable",
    "SharePointSite",
]
