"""SharePointSite: every SharePoint call copil makes goes through here, on the Office365 client.

Reads page by ID with `__next`; writes are `ValidateUpdateListItem` system updates in `$batch`
requests (no new version; `Modified`/`Editor` passed back unchanged); throttling (429/503) is
waited out per Retry-After by the client's retry policy."""
from __future__ import annotations

import json
import logging
import math
import time
from dataclasses import dataclass, field
from datetime import date, datetime, timezone
from urllib.parse import quote

from office365.runtime.client_request_exception import ClientRequestException
from office365.runtime.client_result import ClientResult
from office365.runtime.client_value_collection import ClientValueCollection
from office365.runtime.queries.service_operation import ServiceOperationQuery
from office365.runtime.retry import is_transient_error, response_retry_after
from office365.sharepoint.fields.type import FieldType
from office365.sharepoint.listitems.form_update_value import ListItemFormUpdateValue
from office365.sharepoint.lists.creation_information import ListCreationInformation
from requests import exceptions as req_exc

from connector import timezones
from connector.errors import AuthError, CopilError, RetryableError, SchemaError

log = logging.getLogger("copil.sp")
THRESHOLD_HRESULT = "-2147024860"


@dataclass
class FieldInfo:
    internal: str
    display: str
    kind: str
    entity_name: str            # property name in JSON answers (OData_ prefix when needed)
    lookup_list: str | None = None
    indexed: bool = False
    read_only: bool = False
    choices: tuple[str, ...] = ()
    formatter: str = ""          # column formatting JSON (CustomFormatter), "" when none


@dataclass
class ListInfo:
    title: str
    id: str
    entity_type: str
    template: int
    item_count: int
    root_url: str
    fields: dict[str, FieldInfo] = field(default_factory=dict)   # by display name

    def find(self, display: str) -> FieldInfo | None:
        """By display name (exact, then ignoring case and surrounding spaces), then by internal
        name ("Title" on a French site whose built-in column is shown as "Titre")."""
        key = display.strip().lower()
        return self.fields.get(display) or next(
            (x for x in self.fields.values() if x.display.strip().lower() == key), None) or next(
            (x for x in self.fields.values() if x.internal == display.strip()), None)

    def by_internal(self, internal: str) -> FieldInfo | None:
        for f in self.fields.values():
            if f.internal == internal:
                return f
        return None


@dataclass
class ItemUpdate:
    item_id: int
    values: dict                # internal name -> Python value (formatted here)
    modified: str | None = None  # the item's Modified as read (ISO), written back unchanged
    editor: str | None = None    # the item's Editor login as read
    etag: str | None = None      # the item's ETag as read: a person's edit since then gives 412


@dataclass
class ItemWriteResult:
    item_id: int
    ok: bool
    error: str | None = None


@dataclass
class FileInfo:
    name: str
    server_relative_url: str
    url: str
    modified: datetime | None
    item_id: int
    fields: dict = field(default_factory=dict)   # by internal name


def unreachable(ex: BaseException) -> bool:
    """Connection refused, unknown host, connection timeout: nothing answers at that address;
    retrying for minutes would only delay the message (a dropped connection, by contrast, is a
    server that answered and is worth retrying)."""
    from urllib3.exceptions import ConnectTimeoutError, NewConnectionError
    seen = set()
    while ex is not None and id(ex) not in seen:
        seen.add(id(ex))
        if isinstance(ex, (NewConnectionError, ConnectTimeoutError, req_exc.ConnectTimeout)):
            return True
        reason = getattr(ex, "reason", None)
        if isinstance(reason, (NewConnectionError, ConnectTimeoutError)):
            return True
        nxt = ex.args[0] if ex.args and isinstance(ex.args[0], BaseException) else None
        ex = nxt or ex.__cause__ or ex.__context__
    return False


def _retriable(ex: Exception) -> bool:
    """Transient failures only; the list view threshold is a 500 that retrying cannot fix."""
    resp = getattr(ex, "response", None)
    if resp is not None and resp.status_code == 500 and THRESHOLD_HRESULT in (resp.text or ""):
        return False
    if unreachable(ex):
        return False
    return is_transient_error(ex)


def _why(ex: Exception) -> str:
    resp = getattr(ex, "response", None)
    if resp is not None:
        return f"HTTP {resp.status_code}"
    return type(ex).__name__


def log_retry(attempt: int, ex: Exception) -> int | None:
    """Every retry is logged at info level with its delay and reason; returns the server's delay."""
    delay = server_delay(ex)
    log.info("nouvel essai n° %d après %s (%s)", attempt,
             f"{delay} s demandées par SharePoint" if delay is not None else "un délai croissant", _why(ex))
    return delay


def _raise_typed(e: Exception, what: str):
    """Re-raise a failed request as what the caller does next: fatal (auth), retry later, or as is."""
    if isinstance(e, req_exc.RequestException) and not isinstance(e, ClientRequestException):
        if unreachable(e):
            err = RetryableError(f"SharePoint injoignable à cette adresse pendant : {what} (connexion refusée, "
                                 "nom inconnu ou délai de connexion dépassé)")
            err.hint = "Vérifiez `sharepoint.site_url`, le réseau et le proxy (variable HTTPS_PROXY)."
            raise err from None
        err = RetryableError(f"SharePoint injoignable pendant : {what} ({type(e).__name__})")
        err.hint = "Réessayez plus tard ; si cela se répète, vérifiez le réseau et le proxy (HTTPS_PROXY)."
        raise err from None
    status = getattr(getattr(e, "response", None), "status_code", None)
    if status in (401, 403):
        raise AuthError(f"accès refusé par SharePoint ({status}) pendant : {what}. "
                        "Vérifiez le jeton ou les droits de l'application sur le site.") from None
    if status in (429, 503, 502, 504) or (status == 500 and THRESHOLD_HRESULT not in str(e)):
        raise RetryableError(f"SharePoint indisponible ({status}) pendant : {what}") from None
    raise e


@dataclass(frozen=True)
class Locale:
    """How the site expects form values: ValidateUpdateListItem parses them in the web's locale."""
    decimal: str = ","
    month_first: bool = False     # en-US: MM/dd/yyyy
    locale_id: int = 1036

    @property
    def name(self) -> str:
        return {1036: "fr-FR", 1033: "en-US", 1031: "de-DE", 2057: "en-GB"}.get(self.locale_id, f"LCID {self.locale_id}")

    def date_format(self, with_time: bool) -> str:
        d = "%m/%d/%Y" if self.month_first else "%d/%m/%Y"
        return d + (" %H:%M:%S" if with_time else "")


FR = Locale()


def form_value(kind: str, value, locale: Locale = FR) -> str:
    """A Python value as a ValidateUpdateListItem form value (site locale; dates sent in UTC)."""
    if value is None or (isinstance(value, float) and math.isnan(value)):
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


class SharePointSite:
    def __init__(self, ctx, session, *, site_url: str, page_size: int = 5000, batch_size: int = 100,
                 max_retries: int = 6, backoff: float = 1.0):
        self.ctx = ctx
        self.session = session
        self.site_url = site_url.rstrip("/")
        self.page_size = min(page_size, 5000)
        self.batch_size = min(batch_size, 100)
        self.max_retries = max_retries
        self.backoff = backoff   # base of the exponential delay when the server gives none
        self._lists: dict[str, ListInfo] = {}
        self._folders: set[str] = set()
        self._assumed_folders = False   # some folders known from earlier nights, not checked
        self._locale: Locale | None = None
        self._regional_settings: dict | None = None
        self.reached = False   # nothing answered yet: a refused connection means a wrong address
        _digest_policy(ctx, max_retries, backoff, self._retriable)

    @classmethod
    def from_config(cls, config) -> "SharePointSite":
        from connector.auth import build_context
        sp = config.sharepoint
        ctx, session = build_context(sp)
        return cls(ctx, session, site_url=sp.site_url, page_size=sp.page_size, batch_size=sp.batch_size,
                   max_retries=getattr(sp, "max_retries", 6), backoff=getattr(sp, "retry_backoff_seconds", 1.0))

    @property
    def requests(self) -> int:
        return self.session.count

    @property
    def server_relative(self) -> str:
        from urllib.parse import urlsplit
        return urlsplit(self.site_url).path.rstrip("/")

    def _run(self, what: str):
        """Execute pending queries, mapping failures to copil's typed errors."""
        try:
            # with_auto_retry() ignores Retry-After in office365 3.3; this path honours it.
            self.ctx.execute_query_retry(max_retry=self.max_retries + 1, timeout_secs=self.backoff,  # attempts
                                         failure_callback=log_retry, is_retriable=self._retriable)
            self.reached = True
        except (ClientRequestException, req_exc.RequestException) as e:
            self._drop_pending()
            _raise_typed(e, what)

    def _retriable(self, ex: Exception) -> bool:
        """Transient failures; a refused connection only once SharePoint has answered in this
        run (a front end recycled mid-run comes back; an address that never answered is wrong)."""
        if unreachable(ex):
            return self.reached
        return _retriable(ex)

    def _drop_pending(self) -> None:
        """Forget the queries queued behind a failed one. ClientContext.clear() would also drop
        the authenticated request object, so only the queue is reset (office365 3.x internals)."""
        self.ctx._queries.clear()
        self.ctx._current_query = None

    def _get_json(self, url: str, what: str) -> dict:
        """GET through the client's pipeline with its retry policy (Retry-After honoured)."""
        from office365.runtime.http.request_options import RequestOptions
        from office365.runtime.retry import retry

        def once():
            req = RequestOptions(url)
            req.set_header("Accept", "application/json;odata=verbose")
            return self.ctx.pending_request().execute_request_direct(req).json()
        try:
            result = retry(once, max_retry=self.max_retries + 1, timeout_secs=self.backoff,
                           is_retriable=self._retriable, on_failure=log_retry)
        except (ClientRequestException, req_exc.RequestException) as e:
            _raise_typed(e, what)
        self.reached = True
        return result

    # -- site -------------------------------------------------------------------
    def ping(self) -> str:
        web = self.ctx.web.get()
        self._run("lecture du site")
        return web.properties.get("Title", "")

    def can_edit_items(self, title: str) -> bool:
        """Whether this identity may edit the list's items (EditListItems in EffectiveBasePermissions),
        checked without writing anything."""
        url = self._list_url(self.list_info(title)) + "/EffectiveBasePermissions"
        perms = self._get_json(url, f"droits sur « {title} »")["d"]
        perms = perms.get("EffectiveBasePermissions", perms)
        return bool(int(perms.get("Low", 0)) & 0x4)

    def _regional(self) -> dict:
        """The web's regional settings with its time zone, in one round trip, read once."""
        if self._regional_settings is None:
            try:
                self._regional_settings = self._get_json(
                    f"{self.site_url}/_api/web/RegionalSettings?$expand=TimeZone", "paramètres régionaux")["d"]
            except (ClientRequestException, KeyError) as e:   # unreachable: raised, not papered over
                log.warning("paramètres régionaux du site illisibles (%s)", _short(e))
                self._regional_settings = {}
        return self._regional_settings

    @property
    def locale(self) -> Locale:
        """Form values are parsed by SharePoint in the web's locale."""
        if self._locale is None:
            rs = self._regional()
            self._locale = Locale(rs.get("DecimalSeparator") or ",", rs.get("LocaleId") == 1033,
                                  int(rs.get("LocaleId") or 1036)) if rs else FR
        return self._locale

    def timezone(self, default: str = "Europe/Paris") -> str:
        """The site's time zone as an IANA name; `default` (the TOML's) only when it cannot be read."""
        tz = self._regional().get("TimeZone") or {}
        found = timezones.resolve(tz.get("Id"), preferred=default)
        if found is None:
            log.warning("fuseau horaire du site illisible (%s) : fuseau de la configuration utilisé (%s)",
                        tz.get("Description") or tz.get("Id") or "réponse vide", default)
            return default
        return found

    @property
    def timezone_label(self) -> str | None:
        """The site's zone as SharePoint describes it, e.g. "(UTC+11:00) Solomon Is., New Caledonia"."""
        tz = self._regional().get("TimeZone") or {}
        return tz.get("Description") if timezones.by_id(tz.get("Id")) else None

    def _list_url(self, info: "ListInfo") -> str:
        """Lists are addressed by id: a title is never built into a URL (spaces, quotes, # and %)."""
        return f"{self.site_url}/_api/web/lists(guid'{info.id}')"

    # -- lists and fields ---------------------------------------------------------
    def list_exists(self, title: str) -> bool:
        try:
            self.list_info(title)
            return True
        except SchemaError:
            return False

    def list_info(self, title: str, refresh: bool = False) -> ListInfo:
        key = title.lower()
        if key in self._lists and not refresh:
            return self._lists[key]
        lst = self.ctx.web.lists.get_by_title(title)
        fields, root = self._queue_metadata(lst)
        try:
            self._run(f"lecture de la liste « {title} »")
        except ClientRequestException as e:
            if getattr(e.response, "status_code", None) == 404:
                log.debug("404: %s", e)
                raise SchemaError(f"la liste « {title} » n'existe pas sur le site {self.site_url}.") from None
            raise
        return self._store(lst, fields, root)

    def _queue_metadata(self, lst):
        lst.select(["Id", "Title", "ListItemEntityTypeFullName", "BaseTemplate", "ItemCount"]).get()
        return lst.fields.get(), lst.root_folder.select(["ServerRelativeUrl"]).get()

    def _store(self, lst, fields, root) -> ListInfo:
        p = lst.properties
        info = ListInfo(p["Title"], p["Id"], p["ListItemEntityTypeFullName"], p["BaseTemplate"],
                        p.get("ItemCount", 0), root.properties.get("ServerRelativeUrl", ""))
        for f in fields:
            fp = f.properties
            choices = fp.get("Choices") or ()
            if isinstance(choices, dict):
                choices = choices.get("results", ())
            info.fields[fp["Title"]] = FieldInfo(
                fp["InternalName"], fp["Title"], fp["TypeAsString"],
                fp.get("EntityPropertyName") or fp["InternalName"],
                (fp.get("LookupList") or "").strip("{}") or None, bool(fp.get("Indexed")),
                bool(fp.get("ReadOnlyField")), tuple(choices), fp.get("CustomFormatter") or "")
        self._lists[info.title.lower()] = info
        return info

    def prefetch(self, titles) -> None:
        """The metadata of many lists (list, fields, root folder) and the regional settings in two
        round trips: one GET naming every list, then one $batch by list id (never by title: a
        title with a space breaks a $batch request line). Anything that fails here is simply
        read again one by one, with the usual errors and retries."""
        wanted = {t.strip().lower() for t in titles if t and t.strip().lower() not in self._lists}
        if not wanted and self._regional_settings is not None:
            return
        try:
            ids = {}
            if wanted:
                lists = self.ctx.web.lists.select(["Id", "Title"]).get()
                self._run("liste des listes du site")
                ids = {lst.properties["Title"].lower(): lst.properties["Id"] for lst in lists
                       if lst.properties.get("Title", "").lower() in wanted}
            queued = []
            for lid in ids.values():
                lst = self.ctx.web.lists.get_by_id(lid)
                queued.append((lst, *self._queue_metadata(lst)))
            rs = None
            if self._regional_settings is None:
                rs = self.ctx.web.regional_settings.expand(["TimeZone"]).get()
            if queued or rs is not None:
                self.ctx.execute_batch(items_per_batch=100)   # reads: SharePoint's limit, not the write size
                self.reached = True
        except (ClientRequestException, req_exc.RequestException, CopilError) as e:
            log.debug("lecture groupée des métadonnées abandonnée (%s) : lecture liste par liste", _short(e))
            self._drop_pending()
            return
        for lst, fields, root in queued:
            if lst.properties.get("Id"):
                self._store(lst, fields, root)
        if rs is not None and rs.properties.get("LocaleId") is not None:
            props = {k: v for k, v in rs.properties.items() if k != "TimeZone"}
            tz = rs.properties.get("TimeZone")
            props["TimeZone"] = dict(getattr(tz, "properties", None) or {})
            self._regional_settings = props

    def create_list(self, title: str, template: int = 100) -> None:
        self.ctx.web.lists.add(ListCreationInformation(title, None, template))
        self._run(f"création de la liste « {title} »")
        self._lists.pop(title.lower(), None)

    def create_field(self, list_title: str, display_name: str, kind: str, *, choices=(),
                     lookup_list_title: str | None = None, indexed: bool = False) -> FieldInfo:
        fields = self.ctx.web.lists.get_by_id(self.list_info(list_title).id).fields
        if kind == "Lookup":
            target = self.list_info(lookup_list_title)
            fields.add_lookup_field(display_name, target.id, "Title")
        elif kind in ("Choice", "MultiChoice"):
            fields.add_choice_field(display_name, list(choices), multiple_values=kind == "MultiChoice")
        elif kind == "User":
            fields.add_user_field(display_name)
        else:
            fields.add(FieldType[{"Note": "Note", "Text": "Text", "Number": "Number", "Currency": "Currency",
                                  "DateTime": "DateTime", "Boolean": "Boolean", "URL": "URL"}[kind]],
                       Title=display_name)
        self._run(f"création de la colonne « {display_name} » dans « {list_title} »")
        if indexed:
            fld = self.ctx.web.lists.get_by_id(self.list_info(list_title).id).fields.get_by_title(display_name)
            fld.set_property("Indexed", True).update()
            self._run(f"indexation de la colonne « {display_name} »")
        info = self.list_info(list_title, refresh=True)
        return info.fields[display_name]

    def set_field(self, list_title: str, internal: str, **props) -> None:
        """Change a column's settings (CustomFormatter, Indexed): never its data."""
        fld = self.ctx.web.lists.get_by_id(self.list_info(list_title).id).fields.get_by_internal_name_or_title(internal)
        for k, v in props.items():
            fld.set_property(k, v)
        fld.update()
        self._run(f"réglage de la colonne « {internal} » de « {list_title} »")

    # -- views -----------------------------------------------------------------------
    def views(self, list_title: str) -> list[dict]:
        """The list's views: id, title, query and columns (from ListViewXml: one request)."""
        import xml.etree.ElementTree as ET
        views = self.ctx.web.lists.get_by_id(self.list_info(list_title).id).views.select(
            ["Id", "Title", "ViewQuery", "ListViewXml", "RowLimit", "PersonalView"]).get()
        self._run(f"lecture des vues de « {list_title} »")
        out = []
        for v in views:
            p = v.properties
            try:
                vf = ET.fromstring(p.get("ListViewXml") or "<View/>").find("ViewFields")
                names = [el.get("Name") for el in (vf if vf is not None else [])]
            except ET.ParseError:
                names = []
            out.append({"id": p.get("Id"), "title": p.get("Title") or "", "query": p.get("ViewQuery") or "",
                        "fields": names, "row_limit": p.get("RowLimit"), "personal": bool(p.get("PersonalView"))})
        return out

    def add_view(self, list_title: str, title: str, query: str, fields: list[str], row_limit: int = 100) -> None:
        from office365.runtime.types.collections import StringCollection
        from office365.sharepoint.views.create_information import ViewCreationInformation
        lst = self.ctx.web.lists.get_by_id(self.list_info(list_title).id)
        lst.views.add(ViewCreationInformation(Title=title, Query=query, ViewFields=StringCollection(fields),
                                              RowLimit=row_limit, Paged=True, ViewTypeKind=1))
        self._run(f"création de la vue « {title} »")

    def update_view(self, list_title: str, view_id: str, *, query: str | None = None,
                    fields: list[str] | None = None, row_limit: int | None = None) -> None:
        view = self.ctx.web.lists.get_by_id(self.list_info(list_title).id).views.get_by_id(view_id)
        if query is not None or row_limit is not None:
            if query is not None:
                view.set_property("ViewQuery", query)
            if row_limit is not None:
                view.set_property("RowLimit", row_limit)
            view.update()
        if fields is not None:
            view.view_fields.remove_all_view_fields()
            for name in fields:
                view.view_fields.add_view_field(name)
        self._run(f"mise à jour de la vue {view_id}")

    # -- items ----------------------------------------------------------------------
    def read_items(self, title: str, fields: list[FieldInfo], *, with_editor: bool = True,
                   limit: int | None = None, ids: list[int] | None = None) -> list[dict]:
        """All items of a list (or the first `limit`), only the given fields, paged by ID. Returns
        dicts keyed by internal name: lookups as the looked-up item id, persons as display name;
        plus _id, _modified, _editor (login) and _editor_title."""
        select, expand = ["Id", "Modified"], []
        for f in fields:   # entity names: a name starting with "_" is "OData_..." on the wire
            if f.kind == "Lookup":
                select.append(f.entity_name + "Id")
            elif f.kind == "User":
                select += [f"{f.entity_name}/Title", f"{f.entity_name}/Id"]
                expand.append(f.entity_name)
            else:
                select.append(f.entity_name)
        if with_editor:
            select += ["Editor/Name", "Editor/Title"]
            expand.append("Editor")
        # Pages are fetched through the client's request pipeline (auth, session, retries) but
        # parsed as plain JSON: mapping every item onto a ListItem object costs ~20x the HTTP time.
        query = {"$select": ",".join(select), "$top": str(min(limit or self.page_size, self.page_size)),
                 "$orderby": "ID"}
        if ids:   # a few items again (re-read after a 412): filtered on ID, which is always indexed
            if len(ids) > 50:
                return [r for i in range(0, len(ids), 50)
                        for r in self.read_items(title, fields, with_editor=with_editor, ids=ids[i:i + 50])]
            query["$filter"] = " or ".join(f"ID eq {int(i)}" for i in ids)
        if expand:
            query["$expand"] = ",".join(expand)
        url = (self._list_url(self.list_info(title)) + "/items?"
               + "&".join(f"{k}={quote(v, safe=',/')}" for k, v in query.items()))
        rows_json = []
        while url:
            page = self._get_json(url, f"lecture des éléments de « {title} »")["d"]
            rows_json.extend(page.get("results", []))
            url = page.get("__next") if not limit or len(rows_json) < limit else None
        out = []
        for p in rows_json:
            row = {"_id": p.get("Id"), "_modified": p.get("Modified"),
                   "_etag": (p.get("__metadata") or {}).get("etag")}
            ed = p.get("Editor") or {}
            row["_editor"] = _get(ed, "Name")
            row["_editor_title"] = _get(ed, "Title")
            for f in fields:
                if f.kind == "Lookup":
                    row[f.internal] = p.get(f.entity_name + "Id")
                elif f.kind == "User":
                    row[f.internal] = _get(p.get(f.entity_name) or {}, "Title")
                else:
                    v = p.get(f.entity_name)
                    if isinstance(v, dict) and "results" in v:
                        v = list(v["results"])
                    row[f.internal] = v
            out.append(row)
        return out

    def update_items(self, title: str, updates: list[ItemUpdate], *, system: bool = True,
                     progress=None) -> list[ItemWriteResult]:
        """System updates in $batch requests of at most `batch_size`. Per-item failures are
        returned, never raised; a throttled or dropped batch is retried whole (idempotent)."""
        info = self.list_info(title)
        results: list[ItemWriteResult] = []
        for start in range(0, len(updates), self.batch_size):
            chunk = updates[start:start + self.batch_size]
            results += self._write_chunk(title, info, chunk, system)
            if progress:
                progress(len(chunk))
        return results

    def _write_chunk(self, title, info: ListInfo, chunk: list[ItemUpdate], system: bool):
        """One $batch of system updates. A whole batch throttled or dropped is sent again; an
        operation that failed transiently inside it (429, 5xx) is sent again alone with the
        others that did; a permanent refusal (4xx) is returned for the dead letters. Every
        write is idempotent (the same values), so a retry never writes a different value."""
        results: dict[int, ItemWriteResult] = {}
        pending = list(chunk)
        for attempt in range(self.max_retries + 1):
            queued = self._queue_updates(info, pending, system)
            try:
                with self.ctx.collect_batch_failures() as failures:
                    self.ctx.execute_batch(items_per_batch=self.batch_size)
            except (ClientRequestException, req_exc.RequestException) as e:
                self._drop_pending()
                if attempt >= self.max_retries or not self._retriable(e):
                    for u in pending:
                        results[u.item_id] = ItemWriteResult(u.item_id, False, f"lot refusé : {_short(e)}")
                    break
                delay = log_retry(attempt + 1, e)
                delay = min(self.backoff * 2 ** attempt, 30) if delay is None else delay
                time.sleep(delay)
                continue
            failed = {id(q): ex for q, ex in failures}
            again, reason = [], ""
            for u, qry, rt in queued:
                ex = failed.get(id(qry))
                if ex is not None:
                    if _retriable(ex) and attempt < self.max_retries:
                        again.append(u)
                        reason = _why(ex)
                    else:
                        results[u.item_id] = ItemWriteResult(u.item_id, False, _short(ex))
                    continue
                bad = [v for v in (rt.value or []) if v.HasException]
                results[u.item_id] = ItemWriteResult(u.item_id, not bad, "; ".join(
                    f"{v.FieldName} : {v.ErrorMessage}" for v in bad) or None)
            if not again:
                break
            log.info("nouvel essai de %d écriture(s) sur %d du lot (%s)", len(again), len(pending), reason)
            time.sleep(min(self.backoff * 2 ** attempt, 30) * 0.1)
            pending = again
        return [results[u.item_id] for u in chunk if u.item_id in results]

    def _queue_updates(self, info: ListInfo, updates: list[ItemUpdate], system: bool) -> list:
        splist = self.ctx.web.lists.get_by_id(info.id)   # by id: a title in a $batch part is not encoded
        queued = []
        for u in updates:
            form = [{"__metadata": {"type": "SP.ListItemFormUpdateValue"}, "FieldName": k,
                     "FieldValue": form_value(info.by_internal(k).kind if info.by_internal(k) else "Text", v,
                                              self.locale)}
                    for k, v in u.values.items()]
            if u.modified:
                form.append({"__metadata": {"type": "SP.ListItemFormUpdateValue"},
                             "FieldName": "Modified", "FieldValue": iso_to_form(u.modified, self.locale)})
            if u.editor:
                form.append({"__metadata": {"type": "SP.ListItemFormUpdateValue"},
                             "FieldName": "Editor", "FieldValue": json.dumps([{"Key": u.editor}])})
            rt = ClientResult(self.ctx, ClientValueCollection(ListItemFormUpdateValue))
            payload = {"formValues": form, "bNewDocumentUpdate": system, "datesInUTC": True}
            qry = _IfMatchQuery(splist.get_item_by_id(u.item_id), "ValidateUpdateListItem",
                                None, payload, None, rt)
            qry.etag = u.etag
            self.ctx.add_query(qry)
            queued.append((u, qry, rt))
        return queued

    # -- libraries ----------------------------------------------------------------------
    def known_folders(self, urls) -> None:
        """Folders known to exist (and their parents): no request to create them again. An upload
        into one a person removed since is retried after creating it."""
        for url in urls:
            parts = url.rstrip("/").split("/")
            self._folders.update("/".join(parts[:i]).lower() for i in range(2, len(parts) + 1))
            self._assumed_folders = True

    def ensure_folders(self, library: str, paths) -> None:
        """Create the folders many reports go to in $batch requests, parents first, one level
        at a time: a first night over 1,000 projects sends about 11 requests instead of 1,000.
        Creating a folder that exists is harmless; one a batch could not create is created
        alone at upload (`ensure_folder`)."""
        info = self.list_info(library)
        wanted: set[str] = set()
        for path in paths:
            url = info.root_url
            for part in [p for p in str(path).strip("/").split("/") if p]:
                url = f"{url}/{part}"
                wanted.add(url)
        # the client leaves spaces raw in a $batch request line, which SharePoint refuses: a
        # folder whose path has one is created alone at upload
        missing = [u for u in wanted if u.lower() not in self._folders and " " not in u[len(info.root_url):]]
        for depth in sorted({u.count("/") for u in missing}):
            level = sorted(u for u in missing if u.count("/") == depth)
            for start in range(0, len(level), self.batch_size):
                queued = []
                for url in level[start:start + self.batch_size]:
                    # addressed from the library's id: its title (« Rapports COPIL ») has a space
                    parent = self.ctx.web.lists.get_by_id(info.id).root_folder
                    *parents, name = url[len(info.root_url) + 1:].split("/")
                    for part in parents:
                        parent = parent.folders.get_by_url(part)
                    parent.folders.add(name)
                    queued.append((url, self.ctx.last_query))
                try:
                    with self.ctx.collect_batch_failures() as failures:
                        self.ctx.execute_batch(items_per_batch=self.batch_size)
                except (ClientRequestException, req_exc.RequestException) as e:
                    self._drop_pending()
                    log.info("création groupée des dossiers interrompue (%s) : création un par un au dépôt", _short(e))
                    return
                failed = {id(q) for q, _ in failures}
                self._folders.update(url.lower() for url, q in queued if id(q) not in failed)

    def ensure_folder(self, library: str, path: str) -> str:
        info = self.list_info(library)
        url = info.root_url
        for part in [p for p in path.strip("/").split("/") if p]:
            parent, url = url, f"{url}/{part}"
            if url.lower() in self._folders:
                continue
            self.ctx.web.get_folder_by_server_relative_path(parent).folders.add(part)
            self._run(f"création du dossier {url}")
            self._folders.add(url.lower())
        return url

    def upload_file(self, library: str, folder: str, name: str, content: bytes,
                    fields: dict | None = None) -> str:
        """Upload (overwriting: SharePoint keeps the previous version), then set metadata by
        display name with a system update so one upload makes one version."""
        folder_url = self.ensure_folder(library, folder)
        f = self.ctx.web.get_folder_by_server_relative_path(folder_url).upload_file(name, content)
        try:
            self._run(f"dépôt du fichier {name}")
        except ClientRequestException as e:   # a folder assumed to exist was removed: create, upload again
            if getattr(e.response, "status_code", None) != 404 or not self._assumed_folders:
                raise
            self._folders = {u for u in self._folders if not (folder_url.lower() + "/").startswith(u + "/")}
            folder_url = self.ensure_folder(library, folder)
            f = self.ctx.web.get_folder_by_server_relative_path(folder_url).upload_file(name, content)
            self._run(f"dépôt du fichier {name}")
        url = f.properties.get("ServerRelativeUrl") or f"{folder_url}/{name}"
        if fields:
            info = self.list_info(library)
            form = []
            for display, value in fields.items():
                fi = info.find(display)
                if fi is None:
                    raise SchemaError(f"la colonne « {display} » n'existe pas dans la bibliothèque « {library} ».")
                form.append({"__metadata": {"type": "SP.ListItemFormUpdateValue"}, "FieldName": fi.internal,
                             "FieldValue": form_value(fi.kind, value, self.locale)})
            item = self.ctx.web.get_file_by_server_relative_path(url).listItemAllFields
            rt = ClientResult(self.ctx, ClientValueCollection(ListItemFormUpdateValue))
            self.ctx.add_query(ServiceOperationQuery(item, "ValidateUpdateListItem", None,
                                                     {"formValues": form, "bNewDocumentUpdate": True,
                                                      "datesInUTC": True}, None, rt))
            self._run(f"métadonnées du fichier {name}")
            bad = [v for v in (rt.value or []) if v.HasException]
            if bad:
                raise SchemaError("métadonnées refusées : " + "; ".join(f"{v.FieldName} : {v.ErrorMessage}" for v in bad))
        return url

    def set_file_fields(self, library: str, entries: list[tuple[str, dict]]) -> dict[str, str | None]:
        """Metadata of many uploaded files in $batch requests of up to 100 (by item id: one read
        of the library gives the ids), instead of one request per file. Returns url -> None when
        written, or the reason it was refused."""
        info = self.list_info(library)
        ids = {f.server_relative_url.lower(): f.item_id for f in self.list_files(library)}
        updates, by_id, out = [], {}, {}
        for url, fields in entries:
            item_id = ids.get(url.lower())
            if item_id is None:
                out[url] = "fichier introuvable après son dépôt"
                continue
            values = {}
            for display, value in fields.items():
                fi = info.find(display)
                if fi is None:
                    raise SchemaError(f"la colonne « {display} » n'existe pas dans la bibliothèque « {library} ».")
                values[fi.internal] = value
            updates.append(ItemUpdate(item_id, values))
            by_id[item_id] = url
        for r in self.update_items(library, updates, system=True):   # one version per upload
            out[by_id[r.item_id]] = None if r.ok else r.error
        return out

    def download_file(self, server_relative_url: str) -> bytes:
        res = self.ctx.web.get_file_by_server_relative_path(server_relative_url).get_content()
        self._run(f"téléchargement de {server_relative_url}")
        return res.value

    def delete_file(self, server_relative_url: str) -> None:
        self.ctx.web.get_file_by_server_relative_path(server_relative_url).delete_object()
        self._run(f"suppression de {server_relative_url}")

    def list_files(self, library: str, folder: str | None = None, *, recursive: bool = True,
                   fields: list[FieldInfo] = ()) -> list[FileInfo]:
        """Files of a library (one paged query), optionally under a folder."""
        info = self.list_info(library)
        base = info.root_url + ("/" + folder.strip("/") if folder else "")
        extra = list(fields)
        rows = self._read_library(library, extra)
        host = self.site_url[: len(self.site_url) - len(self.server_relative)]
        out = []
        for r in rows:
            ref = r.get("FileRef") or ""
            if r.get("FSObjType") == 1 or not ref.lower().startswith(base.lower() + "/"):
                continue
            if not recursive and "/" in ref[len(base) + 1:]:
                continue
            mod = r.get("_modified")
            out.append(FileInfo(r.get("FileLeafRef"), ref, host + quote(ref),
                                datetime.fromisoformat(mod.replace("Z", "+00:00")) if mod else None,
                                r["_id"], {f.internal: r.get(f.internal) for f in extra}))
        return out

    def _read_library(self, library: str, extra: list[FieldInfo]) -> list[dict]:
        builtins = [FieldInfo(n, n, "Text", n) for n in ("FileLeafRef", "FileRef", "FSObjType")]
        return self.read_items(library, builtins + extra, with_editor=False)


class _IfMatchQuery(ServiceOperationQuery):
    """A service operation sent with `If-Match: <ETag as read>`: an item a person edited since
    copil read it answers 412 instead of being written with stale Modified/Editor values."""
    etag: str | None = None

    def build_request(self):
        request = super().build_request()
        if self.etag:
            request.set_header("IF-MATCH", self.etag)
        return request


def _digest_policy(ctx, max_retries: int, backoff: float = 1.0, is_retriable=None) -> None:
    """The client fetches its form digest with its own retry loop (5 tries, 5 s base backoff:
    about 90 s against a host that does not answer). copil's policy replaces it: `max_retries`,
    the server's delay when it gives one, and no retry at all when nothing answers."""
    req = ctx.pending_request()
    original = getattr(req, "_fetch_context_web_information", None)
    if original is None or getattr(original, "_copil", False):
        return
    from office365.runtime.retry import retry

    def fetch():
        def once():
            # the client's own fetch (it imports `retry` when called), made single-try for the
            # duration of the call; copil makes its SharePoint calls from one thread at a time
            from office365.runtime import retry as client_retry
            saved = client_retry.retry
            client_retry.retry = lambda func, **_kw: func()
            try:
                return original()
            finally:
                client_retry.retry = saved
        return retry(once, max_retry=max_retries + 1, timeout_secs=backoff, is_retriable=is_retriable,
                     on_failure=log_retry)
    fetch._copil = True
    req._fetch_context_web_information = fetch


def _get(obj, key):
    if isinstance(obj, dict):
        return obj.get(key)
    props = getattr(obj, "properties", None)
    return props.get(key) if isinstance(props, dict) else getattr(obj, key, None)


def _short(e: Exception) -> str:
    resp = getattr(e, "response", None)
    if resp is not None:
        try:
            msg = resp.json()["error"]["message"]["value"]
        except Exception:
            msg = (resp.text or "")[:200]
        return f"HTTP {resp.status_code} : {msg}"
    return f"{type(e).__name__} : {str(e)[:200]}"


def server_delay(e: Exception) -> int | None:
    """Seconds the server asked us to wait: the greater of Retry-After and RateLimit-Reset."""
    resp = getattr(e, "response", None)
    if resp is None:
        return None
    waits = [response_retry_after(resp)]
    try:
        waits.append(int(float(resp.headers.get("RateLimit-Reset"))))
    except (TypeError, ValueError):
        pass
    waits = [w for w in waits if w is not None]
    return max(waits) if waits else None
