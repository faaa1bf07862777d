"""Lists and their fields, read once per run (two round trips for every list a run needs)."""

from __future__ import annotations

import difflib
import logging

from office365.runtime.client_request_exception import ClientRequestException
from requests import exceptions as req_exc

from connector.errors import CopilError, SchemaError, SiteNotFound
from connector.sharepoint.records import FieldInfo, ListInfo
from connector.sharepoint.regional import Regional
from connector.sharepoint.retries import client_single_try
from connector.sharepoint.retries import short as _short

log = logging.getLogger("copil.sp")


class Lists(Regional):
    _known_ids: dict[str, str] = {}

    def remember_list_ids(self, ids: dict[str, str]) -> None:
        """Lists' ids by title (lower case) as a previous run found them."""
        self._known_ids = dict(ids)

    def known_list_ids(self) -> dict[str, str]:
        """The ids remembered and those read this run (a refresh does not read the reports'
        library: the night still finds its id)."""
        return {**self._known_ids, **{title: info.id for title, info in self._lists.items()}}

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
                raise SchemaError(
                    f"la liste « {title} » n'existe pas sur le site {self.site_url}. {self._closest_lists(title)}"
                ) from None
            raise
        return self._store(lst, fields, root)

    def _closest_lists(self, title: str) -> str:
        """« Listes proches : « Jalons » » — the site's titles nearest to a misnamed one (one GET,
        only when a list is missing)."""
        titles = getattr(self, "_site_titles", None)  # once per run, however many lists are missing
        if titles is None:
            try:
                lists = self.ctx.web.lists.select(["Title"]).get()
                self._run("liste des listes du site")
                titles = self._site_titles = [lst.properties.get("Title", "") for lst in lists]
            except CopilError:
                return ""
        near = (
            difflib.get_close_matches(title, titles, n=3, cutoff=0.5)
            or [t for t in titles if t.lower()[:4] == title.lower()[:4]][:3]
        )
        return ("Listes proches : " + ", ".join(f"« {t} »" for t in near) + ".") if near else "Aucune liste proche."

    def _queue_metadata(self, lst):
        # CurrentChangeToken comes with the metadata, so read before the items: a change made
        # during the read is after it, and the next run sees it (connector.sources)
        lst.select(
            ["Id", "Title", "ListItemEntityTypeFullName", "BaseTemplate", "ItemCount", "CurrentChangeToken"]
        ).get()
        return lst.fields.get(), lst.root_folder.select(["ServerRelativeUrl"]).get()

    def _store(self, lst, fields, root) -> ListInfo:
        p = lst.properties
        info = ListInfo(
            p["Title"],
            p["Id"],
            p["ListItemEntityTypeFullName"],
            p["BaseTemplate"],
            p.get("ItemCount", 0),
            root.properties.get("ServerRelativeUrl", ""),
            change_token=_token_text(p.get("CurrentChangeToken")),
        )
        for f in fields:
            fp = f.properties
            choices = fp.get("Choices") or ()
            if isinstance(choices, dict):
                choices = choices.get("results", ())
            info.fields[fp["Title"]] = FieldInfo(
                fp["InternalName"],
                fp["Title"],
                fp["TypeAsString"],
                fp.get("EntityPropertyName") or fp["InternalName"],
                (fp.get("LookupList") or "").strip("{}") or None,
                bool(fp.get("Indexed")),
                bool(fp.get("ReadOnlyField")),
                tuple(choices),
                fp.get("CustomFormatter") or "",
            )
        self._lists[info.title.lower()] = info
        return info

    def prefetch(self, titles) -> None:
        """The metadata of many lists (list, fields, root folder) and the regional settings in two
        round trips: one GET naming every list (skipped when every id is remembered), then one
        $batch by list id (never by title: a title with a space breaks a $batch request line). Anything that fails here is simply
        read again one by one, with the usual errors and retries."""
        wanted = {t.strip().lower() for t in titles if t and t.strip().lower() not in self._lists}
        if not wanted and self._regional_settings is not None:
            return
        try:
            # ids kept by the last run spare the GET of every list's title; a list recreated
            # since answers 404 in the batch, and everything is then read one by one
            ids = {t: self._known_ids[t] for t in wanted if t in self._known_ids}
            if wanted - set(ids):
                lists = self.ctx.web.lists.select(["Id", "Title"]).get()
                self._run("liste des listes du site")
                ids = {
                    lst.properties["Title"].lower(): lst.properties["Id"]
                    for lst in lists
                    if lst.properties.get("Title", "").lower() in wanted
                }
            queued = []
            for lid in ids.values():
                lst = self.ctx.web.lists.get_by_id(lid)
                queued.append((lst, *self._queue_metadata(lst)))
            rs = None
            if self._regional_settings is None:
                rs = self.ctx.web.regional_settings.expand(["TimeZone"]).get()
            if queued or rs is not None:
                with client_single_try():  # a failure falls back to one read per list at once
                    self.ctx.execute_batch(items_per_batch=100)  # reads: SharePoint's limit, not the write size
                self.reached = True
        except SiteNotFound:
            raise  # nothing to read one by one: the address is wrong
        except (ClientRequestException, req_exc.RequestException, CopilError) as e:
            log.debug("lecture groupée des métadonnées abandonnée (%s) : lecture liste par liste", _short(e))
            self._drop_pending()
            return
        for title, (lst, fields, root) in zip(ids, queued):
            if lst.properties.get("Id"):
                info = self._store(lst, fields, root)
                if info.title.lower() != title:  # renamed since: the kept id named another title
                    self._lists.pop(info.title.lower(), None)
        if rs is not None and rs.properties.get("LocaleId") is not None:
            props = {k: v for k, v in rs.properties.items() if k != "TimeZone"}
            tz = rs.properties.get("TimeZone")
            props["TimeZone"] = dict(getattr(tz, "properties", None) or {})
            self._regional_settings = props


def _token_text(value) -> str:
    """A change token as the client hands it: a ChangeToken value, its dict, or nothing."""
    if value is None:
        return ""
    text = getattr(value, "StringValue", None)
    if text is None and isinstance(value, dict):
        text = value.get("StringValue")
    return str(text or "")
