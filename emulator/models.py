"""State and behaviour of the emulated SharePoint: sites, lists, fields, items, versions,
users, folders and files. Routes translate HTTP into calls on these objects."""

from __future__ import annotations

import re
import threading
import unicodedata
import uuid
from dataclasses import dataclass, field
from datetime import datetime, timedelta
from zoneinfo import ZoneInfo

from emulator import changelog, errors, names, timezones
from emulator.responses import now

FIELD_KINDS = {
    "Integer": 1,
    "Text": 2,
    "Note": 3,
    "DateTime": 4,
    "Counter": 5,
    "Choice": 6,
    "Lookup": 7,
    "Boolean": 8,
    "Number": 9,
    "Currency": 10,
    "URL": 11,
    "Computed": 12,
    "Guid": 14,
    "MultiChoice": 15,
    "File": 18,
    "User": 20,
}
KIND_BY_NUMBER = {v: k for k, v in FIELD_KINDS.items()}
SUPPORTED_KINDS = {
    "Text",
    "Note",
    "Number",
    "Currency",
    "DateTime",
    "Choice",
    "MultiChoice",
    "Boolean",
    "Lookup",
    "User",
    "URL",
}
THRESHOLD = 5000
SYSTEM_USER_ID = 1073741823


def new_guid() -> str:
    return str(uuid.uuid4())


@dataclass
class Field:
    internal_name: str
    title: str
    kind: str
    id: str = field(default_factory=new_guid)
    choices: tuple[str, ...] = ()
    lookup_list_id: str | None = None
    lookup_field: str = "Title"
    indexed: bool = False
    hidden: bool = False
    read_only: bool = False
    builtin: bool = False
    custom_formatter: str = ""  # column formatting JSON, stored as the client sent it

    @property
    def kind_number(self) -> int:
        return FIELD_KINDS[self.kind]

    @property
    def rest_name(self) -> str:
        """Property name on the wire: lookups and persons are written as <Name>Id."""
        return self.internal_name + "Id" if self.kind in ("Lookup", "User") else self.internal_name


@dataclass
class View:
    """A list view: its CAML query (the inner `<Where>/<OrderBy>/<GroupBy>`), its columns
    (internal names) and paging. Items by view evaluate the query (emulator.caml)."""

    title: str
    url: str
    id: str = field(default_factory=new_guid)
    query: str = ""
    fields: list[str] = field(default_factory=list)
    row_limit: int = 30
    paged: bool = True
    personal: bool = False
    default: bool = False
    hidden: bool = False
    custom_formatter: str = ""
    base_view_id: str = "1"


@dataclass
class User:
    id: int
    login: str
    title: str
    email: str = ""


@dataclass
class Item:
    id: int
    values: dict
    created: datetime
    modified: datetime
    author_id: int
    editor_id: int
    guid: str = field(default_factory=new_guid)
    hidden_version: int = 1  # bumps on every change (the ETag)
    ui_version: int = 1  # bumps on user-visible updates only
    versions: list[dict] = field(default_factory=list)  # snapshots, oldest first
    file_url: str | None = None  # document libraries: the file or folder it stands for
    is_folder: bool = False

    @property
    def etag(self) -> str:
        return f'"{self.hidden_version}"'

    def snapshot(self) -> dict:
        return {
            "label": f"{self.ui_version}.0",
            "values": dict(self.values),
            "modified": self.modified,
            "editor_id": self.editor_id,
        }


@dataclass
class Folder:
    url: str  # server-relative
    name: str
    list_id: str
    unique_id: str = field(default_factory=new_guid)
    created: datetime = field(default_factory=now)
    item_id: int | None = None  # None for the library root


@dataclass
class File:
    url: str
    name: str
    list_id: str
    content: bytes
    item_id: int
    unique_id: str = field(default_factory=new_guid)
    created: datetime = field(default_factory=now)
    modified: datetime = field(default_factory=now)
    major: int = 1
    versions: list[dict] = field(default_factory=list)  # previous contents
    uploads: dict[str, bytearray] = field(default_factory=dict)


# Standard list templates: their own fields, created with the list (internal name, kind, English
# and French titles, choices). Generic lists (100) and libraries (101) have only the built-ins.
_TASK_FIELDS = (
    ("Priority", "Choice", "Priority", "Priorité", ("(1) Élevée", "(2) Normale", "(3) Faible")),
    (
        "Status",
        "Choice",
        "Task Status",
        "État de la tâche",
        ("Non commencé", "En cours", "Terminé", "Différé", "En attente"),
    ),
    ("PercentComplete", "Number", "% Complete", "% achevé", ()),
    ("AssignedTo", "User", "Assigned To", "Attribuée à", ()),
    ("StartDate", "DateTime", "Start Date", "Date de début", ()),
    ("DueDate", "DateTime", "Due Date", "Date d'échéance", ()),
    ("Body", "Note", "Description", "Description", ()),
)
TEMPLATE_FIELDS = {
    103: (("URL", "URL", "URL", "URL", ()), ("Comments", "Note", "Notes", "Notes", ())),
    104: (("Body", "Note", "Body", "Corps", ()), ("Expires", "DateTime", "Expires", "Expire", ())),
    105: (
        ("FirstName", "Text", "First Name", "Prénom", ()),
        ("FullName", "Text", "Full Name", "Nom complet", ()),
        ("Email", "Text", "Email Address", "Adresse de messagerie", ()),
        ("Company", "Text", "Company", "Société", ()),
        ("JobTitle", "Text", "Job Title", "Fonction", ()),
        ("WorkPhone", "Text", "Business Phone", "Téléphone professionnel", ()),
        ("CellPhone", "Text", "Mobile Number", "Téléphone mobile", ()),
        ("WorkAddress", "Note", "Address", "Adresse", ()),
        ("WorkCity", "Text", "City", "Ville", ()),
    ),
    106: (
        ("Location", "Text", "Location", "Emplacement", ()),
        ("EventDate", "DateTime", "Start Time", "Heure de début", ()),
        ("EndDate", "DateTime", "End Time", "Heure de fin", ()),
        ("Description", "Note", "Description", "Description", ()),
        ("fAllDayEvent", "Boolean", "All Day Event", "Événement sur une journée", ()),
        ("fRecurrence", "Boolean", "Recurrence", "Périodicité", ()),
    ),
    107: _TASK_FIELDS,
    171: _TASK_FIELDS + (("Checkmark", "Boolean", "Completed", "Terminé", ()),),
}


def _template_fields(template: int, locale_id: int) -> list[Field]:
    return [
        Field(name, fr if locale_id == 1036 else en, kind, choices=choices, builtin=True)
        for name, kind, en, fr, choices in TEMPLATE_FIELDS.get(template, ())
    ]


def _builtin_fields(library: bool) -> list[Field]:
    f = [
        Field("ID", "ID", "Counter", read_only=True, builtin=True, indexed=True),
        Field("Title", "Title" if not library else "Title", "Text", builtin=True),
        Field("Created", "Created", "DateTime", read_only=True, builtin=True),
        Field("Modified", "Modified", "DateTime", read_only=True, builtin=True),
        Field("Author", "Created By", "User", read_only=True, builtin=True),
        Field("Editor", "Modified By", "User", read_only=True, builtin=True),
        Field("GUID", "GUID", "Guid", read_only=True, builtin=True, hidden=True),
        Field("Attachments", "Attachments", "Boolean", read_only=True, builtin=True),
        Field("_UIVersionString", "Version", "Text", read_only=True, builtin=True, hidden=True),
        Field("owshiddenversion", "owshiddenversion", "Integer", read_only=True, builtin=True, hidden=True),
    ]
    if library:
        f += [
            Field("FileLeafRef", "Name", "File", builtin=True),
            Field("FileRef", "URL Path", "Text", read_only=True, builtin=True, hidden=True),
            Field("FileDirRef", "Path", "Text", read_only=True, builtin=True, hidden=True),
            Field("FSObjType", "Item Type", "Integer", read_only=True, builtin=True, hidden=True),
        ]
    return f


class SPList:
    def __init__(self, site: "Site", title: str, base_template: int):
        self.site = site
        self.id = new_guid()
        self.title = title
        self.description = ""
        self.base_template = base_template
        self.created = now()
        url_name = "".join(c for c in title if c not in '"*:<>?/\\|#%').strip().rstrip(".") or "List"
        base = f"{site.path}/{url_name}" if self.is_library else f"{site.path}/Lists/{url_name}"
        taken = {lst.root_url.lower() for lst in site.lists.values()}
        self.root_url, n = base, 0
        while self.root_url.lower() in taken:  # two titles with the same URL name: SharePoint numbers it
            n += 1
            self.root_url = f"{base}{n}"
        url_name = self.root_url.rsplit("/", 1)[1]
        self.entity_type = names.entity_type_name(url_name, self.is_library)
        self.fields: dict[str, Field] = {f.internal_name: f for f in _builtin_fields(self.is_library)}
        self.fields.update({f.internal_name: f for f in _template_fields(base_template, site.locale_id)})
        self.items: dict[int, Item] = {}
        self.next_id = 1
        self.views: dict[str, View] = {}
        self._default_view(site)

    def __setstate__(self, state):  # sites saved before views (or descriptions) existed
        self.__dict__.update(state)
        self.__dict__.setdefault("description", "")
        if "views" not in state:
            self.views = {}
            self._default_view(self.site)

    def _default_view(self, site) -> None:
        """Every list has its « All Items » view, named in the site's language."""
        french = getattr(site, "locale_id", 1036) == 1036
        if self.is_library:
            title, fields = (
                ("Tous les documents" if french else "All Documents"),
                ["DocIcon", "LinkFilename", "Modified", "Editor"],
            )
            url = f"{self.root_url}/Forms/AllItems.aspx"
        else:
            title, fields = ("Tous les éléments" if french else "All Items"), ["LinkTitle"]
            url = f"{self.root_url}/AllItems.aspx"
        v = View(title, url, fields=fields, default=True, query='<OrderBy><FieldRef Name="ID" /></OrderBy>')
        self.views[v.id] = v

    # -- views ---------------------------------------------------------------
    def view_by_title(self, title: str) -> View:
        for v in self.views.values():
            if v.title.lower() == str(title).lower():
                return v
        raise errors.view_not_found()

    def view_by_id(self, view_id: str) -> View:
        v = self.views.get(str(view_id).strip("{}").lower())
        if v is None:
            raise errors.view_not_found()
        return v

    def add_view(
        self,
        title: str,
        *,
        query: str = "",
        fields=(),
        row_limit: int | None = None,
        paged: bool = True,
        personal: bool = False,
        default: bool = False,
    ) -> View:
        title = (title or "").strip()
        if not title or len(title) > 255:
            raise errors.bad_request("The view title must have 1 to 255 characters.")
        # the page name drops what a URL cannot hold, as the views page of SharePoint does
        stem = (
            re.sub(r"[^0-9A-Za-z]", "", unicodedata.normalize("NFKD", title).encode("ascii", "ignore").decode())
            or "View"
        )
        folder = f"{self.root_url}/Forms" if self.is_library else self.root_url
        taken = {v.url.lower() for v in self.views.values()}
        url, n = f"{folder}/{stem}.aspx", 0
        while url.lower() in taken:
            n += 1
            url = f"{folder}/{stem}{n}.aspx"
        for name in fields:
            if self.field(name, missing_ok=True) is None and name not in (
                "LinkTitle",
                "LinkTitleNoMenu",
                "DocIcon",
                "LinkFilename",
                "Edit",
            ):
                raise errors.field_not_found(name)
        v = View(
            title,
            url,
            query=query or "",
            fields=list(fields),
            row_limit=row_limit or 30,
            paged=paged,
            personal=personal,
        )
        self.views[v.id] = v
        if default:
            self.set_default_view(v)
        self.site.backend.touch()
        return v

    def set_default_view(self, view: View) -> None:
        for v in self.views.values():
            v.default = v is view

    @property
    def is_library(self) -> bool:
        return self.base_template == 101

    # -- fields --------------------------------------------------------------
    def add_field(
        self,
        display_name: str,
        kind: str,
        *,
        choices=(),
        lookup_list_id: str | None = None,
        indexed: bool = False,
        internal_name: str | None = None,
    ) -> Field:
        if kind not in SUPPORTED_KINDS:
            raise errors.bad_request(f"Field type '{kind}' is not supported by the emulator.")
        display_name = display_name.strip()  # SharePoint trims display names
        if not display_name or len(display_name) > 255:
            raise errors.bad_request("The column name must have 1 to 255 characters.")
        if self.field_by_title(display_name, missing_ok=True):
            raise errors.conflict(f'A duplicate field name "{display_name}" was found.')
        base = internal_name or names.encode_internal_name(display_name)
        name, n = base, 0
        while name.lower() in (k.lower() for k in self.fields):  # unique, as SharePoint suffixes
            n += 1
            name = f"{base[: 32 - len(str(n))]}{n}"
        if kind == "Lookup" and not self.site.list_by_id(lookup_list_id, missing_ok=True):
            raise errors.bad_request("The lookup list does not exist.")
        f = Field(name, display_name, kind, choices=tuple(choices), lookup_list_id=lookup_list_id, indexed=indexed)
        self.fields[name] = f
        self.site.log_change("field", changelog.ADD, self.id, field_id=f.id)
        self.site.backend.touch()
        return f

    def field(self, internal_or_title: str, missing_ok: bool = False) -> Field | None:
        key = internal_or_title.lower()
        for f in self.fields.values():
            if f.internal_name.lower() == key:
                return f
        return self.field_by_title(internal_or_title, missing_ok)

    def field_by_title(self, title: str, missing_ok: bool = False) -> Field | None:
        key = title.lower()
        for f in self.fields.values():
            if f.title.lower() == key:
                return f
        if missing_ok:
            return None
        raise errors.bad_request(
            f"Column '{title}' does not exist. It may have been deleted by another user.",
            "-2147024809",
            "System.ArgumentException",
        )

    def rest_property(self, name: str) -> Field | None:
        """The field written by a REST property name (Title, Budget, ProjetId...)."""
        for f in self.fields.values():
            if f.rest_name == name or (f.kind not in ("Lookup", "User") and f.internal_name == name):
                return f
        return None

    # -- items ---------------------------------------------------------------
    def get_item(self, item_id: int) -> Item:
        item = self.items.get(int(item_id))
        if item is None:
            raise errors.item_not_found()
        return item

    def add_item(
        self,
        values: dict,
        author: int | None = None,
        *,
        created: datetime | None = None,
        file_url: str | None = None,
        is_folder: bool = False,
    ) -> Item:
        """`values` by internal name, already in storage form (lookups/users as ids)."""
        uid = author or SYSTEM_USER_ID
        ts = created or now()
        item = Item(self.next_id, {}, ts, ts, uid, uid, file_url=file_url, is_folder=is_folder)
        self.next_id += 1
        for k, v in values.items():
            if self.field(k, missing_ok=True) is None:
                raise errors.field_not_found(k)
            item.values[self.field(k).internal_name] = v
        item.versions.append(item.snapshot())
        self.items[item.id] = item
        self.site.log_change("item", changelog.ADD, self.id, item_id=item.id, unique_id=item.guid, editor=uid)
        self.site.backend.touch()
        return item

    def update_item(
        self,
        item: Item,
        values: dict,
        editor: int,
        *,
        new_version: bool = True,
        modified: datetime | None = None,
        editor_override: int | None = None,
    ) -> None:
        """Apply values (internal names, storage form). A user update bumps the UI version and
        Modified/Editor; a system update (new_version=False) keeps them unless overridden."""
        for k, v in values.items():
            item.values[k] = v
        item.hidden_version += 1
        if new_version:
            item.ui_version += 1
            item.modified = modified or now()
            item.editor_id = editor_override or editor
            item.versions.append(item.snapshot())
        else:
            if modified is not None:
                item.modified = modified
            if editor_override is not None:
                item.editor_id = editor_override
            if item.versions:  # the current version's values change in place, no new version
                item.versions[-1] = item.snapshot()
        # a system update (no new version) is its own change type: a reader of the log can tell
        # its own background writes from a person's edits
        kind = changelog.UPDATE if new_version else changelog.SYSTEM_UPDATE
        self.site.log_change("item", kind, self.id, item_id=item.id, unique_id=item.guid, editor=editor)
        self.site.backend.touch()

    def delete_item(self, item: Item, *, editor: int | None = None, recycle: bool = False) -> None:
        self.items.pop(item.id, None)
        self.site.log_change(
            "item", changelog.DELETE, self.id, item_id=item.id, unique_id=item.guid, editor=editor, recycle=recycle
        )
        self.site.backend.touch()

    def restore_item(self, item: Item, *, editor: int | None = None) -> None:
        """An item back from the recycle bin, with its id and values."""
        self.items[item.id] = item
        self.site.log_change(
            "item", changelog.RESTORE, self.id, item_id=item.id, unique_id=item.guid, editor=editor, recycle=True
        )
        self.site.backend.touch()


class Site:
    def __init__(self, backend: "Backend", name: str):
        self.backend = backend
        self.name = name
        self.path = f"/sites/{name}"
        self.id = new_guid()
        self.web_id = new_guid()
        self.lists: dict[str, SPList] = {}
        self.users: dict[int, User] = {SYSTEM_USER_ID: User(SYSTEM_USER_ID, "SHAREPOINT\\system", "Compte système")}
        self.next_user_id = 7
        self.folders: dict[str, Folder] = {}
        self.files: dict[str, File] = {}
        self.locale_id = 1036  # fr-FR: form values use "0,95" and dd/MM/yyyy; 1033 (en-US) is supported too
        self.timezone_id = 3  # SharePoint's own id (3 = Paris); see emulator.timezones

    @property
    def changelog(self) -> changelog.ChangeLog:
        log = self.__dict__.get("_changelog")
        if log is None:  # a site saved before the change log existed starts one
            log = self.__dict__["_changelog"] = changelog.ChangeLog()
        return log

    def log_change(self, kind: str, change_type: int, list_id: str, *, editor: int | None = None, **kw) -> None:
        user = self.users.get(editor) if editor is not None else None
        self.changelog.add(
            now(),
            timedelta(days=self.backend.change_retention_days),
            kind=kind,
            type=change_type,
            list_id=list_id,
            editor=user.login if user else None,
            **kw,
        )

    @property
    def tz(self):
        """The site's zone: date-only values are stored as its local midnight, in UTC."""
        found = timezones.by_id(getattr(self, "timezone_id", 3))
        return ZoneInfo(found.iana if found else "Europe/Paris")

    def set_regional(self, *, timezone_id: int | None = None, locale_id: int | None = None) -> None:
        if timezone_id is not None:
            if timezones.by_id(timezone_id) is None:
                raise errors.bad_request(f"Unknown time zone id {timezone_id}.")
            self.timezone_id = int(timezone_id)
        if locale_id is not None:
            if int(locale_id) not in (1033, 1036):
                raise errors.bad_request(
                    f"Locale {locale_id} is not supported by the emulator (1036 fr-FR, 1033 en-US)."
                )
            self.locale_id = int(locale_id)
        self.backend.touch()

    # -- lists ---------------------------------------------------------------
    def create_list(self, title: str, base_template: int = 100) -> SPList:
        title = title.strip()  # SharePoint trims titles
        if not title or len(title) > 255:
            raise errors.bad_request("The list title must have 1 to 255 characters.")
        if base_template not in (100, 101) and base_template not in TEMPLATE_FIELDS:
            raise errors.not_implemented(
                "POST",
                f"a list with template {base_template} (supported: 100 generic "
                "list, 101 library, 103 links, 104 announcements, 105 contacts, "
                "106 events, 107 and 171 tasks)",
            )
        if self.list_by_title(title, missing_ok=True):
            raise errors.SPError(
                500,
                "-2130575342",
                "Microsoft.SharePoint.SPException",
                "A list, survey, discussion board, or document library with the specified "
                "title already exists in this Web site.  Please choose another title.",
            )
        lst = SPList(self, title, base_template)
        self.lists[lst.id] = lst
        self.log_change("list", changelog.ADD, lst.id)
        # every list has a root folder; only libraries hold files
        self.folders[lst.root_url.lower()] = Folder(lst.root_url, lst.root_url.rsplit("/", 1)[1], lst.id)
        self.backend.touch()
        return lst

    def list_by_title(self, title: str, missing_ok: bool = False) -> SPList | None:
        key = title.lower()
        for lst in self.lists.values():
            if lst.title.lower() == key:
                return lst
        if missing_ok:
            return None
        raise errors.list_not_found(title, self.path)

    def list_by_id(self, list_id: str | None, missing_ok: bool = False) -> SPList | None:
        key = (list_id or "").strip("{}").lower()
        lst = self.lists.get(key)
        if lst is None and not missing_ok:
            raise errors.SPError(
                404,
                "-1",
                "System.ArgumentException",
                "List does not exist. The page you selected contains a list that does not exist.",
            )
        return lst

    def delete_list(self, lst: SPList) -> None:
        self.lists.pop(lst.id, None)
        self.log_change("list", changelog.DELETE, lst.id)
        prefix = lst.root_url.lower()
        for d in (self.folders, self.files):
            for k in [k for k in d if k == prefix or k.startswith(prefix + "/")]:
                del d[k]
        self.backend.touch()

    # -- users ---------------------------------------------------------------
    def ensure_user(self, login: str, title: str | None = None, email: str | None = None) -> User:
        for u in self.users.values():
            if u.login.lower() == login.lower():
                return u
        uid = self.next_user_id
        self.next_user_id += 1
        short = login.split("|")[-1]
        u = User(
            uid, login, title or short.split("@")[0].replace(".", " ").title(), email or (short if "@" in short else "")
        )
        self.users[uid] = u
        self.backend.touch()
        return u

    def user(self, uid: int) -> User | None:
        return self.users.get(uid)

    # -- folders and files ---------------------------------------------------
    def library_for(self, url: str) -> SPList:
        key = url.lower()
        for lst in self.lists.values():
            root = lst.root_url.lower()
            if lst.is_library and (key == root or key.startswith(root + "/")):
                return lst
        raise errors.file_not_found(url)

    def folder(self, url: str, missing_ok: bool = False) -> Folder | None:
        f = self.folders.get(url.rstrip("/").lower())
        if f is None and not missing_ok:
            raise errors.file_not_found(url)
        return f

    def ensure_folder(self, library_title: str, folder_path: str) -> Folder:
        lst = self.list_by_title(library_title)
        url = lst.root_url
        folder = self.folders[url.lower()]
        for part in [p for p in folder_path.strip("/").split("/") if p]:
            folder = self.add_folder(url, part)
            url = folder.url
        return folder

    def add_folder(self, parent_url: str, name: str, author: int | None = None) -> Folder:
        parent = self.folder(parent_url)
        lst = self.lists[parent.list_id]
        names.check_segment(name, at_library_root=parent.item_id is None)
        url = f"{parent.url}/{name}"
        names.check_path(url)
        existing = self.folders.get(url.lower())
        if existing:
            return existing
        item = lst.add_item({"Title": name, "FileLeafRef": name}, author, file_url=url, is_folder=True)
        f = Folder(url, name, lst.id, item_id=item.id)
        self.folders[url.lower()] = f
        return f

    def add_file(
        self,
        library_title: str,
        folder_path: str,
        file_name: str,
        content: bytes,
        fields: dict | None = None,
        *,
        author: int | None = None,
    ) -> File:
        folder = self.ensure_folder(library_title, folder_path)
        return self.put_file(folder.url, file_name, content, overwrite=True, author=author, fields=fields)

    def put_file(
        self,
        folder_url: str,
        name: str,
        content: bytes,
        *,
        overwrite: bool,
        author: int | None = None,
        fields: dict | None = None,
    ) -> File:
        folder = self.folder(folder_url)
        lst = self.lists[folder.list_id]
        names.check_segment(name)
        url = f"{folder.url}/{name}"
        names.check_path(url)
        existing = self.files.get(url.lower())
        ts = now()
        if existing:
            if not overwrite:
                raise errors.file_exists(url)
            existing.versions.append(
                {"label": f"{existing.major}.0", "content": existing.content, "modified": existing.modified}
            )
            existing.content = bytes(content)
            existing.major += 1
            existing.modified = ts
            item = lst.get_item(existing.item_id)
            lst.update_item(item, dict(fields or {}), author or SYSTEM_USER_ID)
            return existing
        values = {"FileLeafRef": name, **(fields or {})}
        item = lst.add_item(values, author, file_url=url)
        f = File(url, name, lst.id, bytes(content), item.id, created=ts, modified=ts)
        self.files[url.lower()] = f
        return f

    def file(self, url: str) -> File:
        f = self.files.get(url.lower())
        if f is None:
            raise errors.file_not_found(url)
        return f

    def file_by_id(self, unique_id: str) -> File:
        key = unique_id.strip("{}").lower()
        for f in self.files.values():
            if f.unique_id == key:
                return f
        raise errors.file_not_found(unique_id)

    def item_for_url(self, url: str) -> tuple[SPList, Item]:
        lst = self.library_for(url)
        for item in lst.items.values():
            if item.file_url and item.file_url.lower() == url.lower():
                return lst, item
        raise errors.file_not_found(url)


class Backend:
    """All sites; one re-entrant lock serialises mutations (requests are short)."""

    def __init__(self):
        self.sites: dict[str, Site] = {}
        self.lock = threading.RLock()
        self.generation = 0  # bumps on every change; the store flushes when it moves
        self.change_retention_days: float = 60.0  # SharePoint keeps about 60 days of changes

    def touch(self) -> None:
        self.generation += 1

    def ensure_site(self, name: str) -> Site:
        key = name.lower()
        with self.lock:
            if key not in self.sites:
                self.sites[key] = Site(self, name)
                self.touch()
            return self.sites[key]

    def site(self, name: str) -> Site | None:
        return self.sites.get(name.lower())

    def reset(self) -> None:
        with self.lock:
            self.sites.clear()
            self.touch()

    def __getstate__(self):
        d = dict(self.__dict__)
        d.pop("lock")
        return d

    def __setstate__(self, d):
        self.__dict__.update(d)
        self.__dict__.setdefault("change_retention_days", 60.0)
        self.lock = threading.RLock()
