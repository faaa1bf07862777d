"""Reading items page by page, writing copil's columns as system updates in $batch requests."""

from __future__ import annotations

import json
import logging
import time
from urllib.parse import quote

from office365.runtime.client_request_exception import ClientRequestException
from office365.runtime.client_result import ClientResult
from office365.runtime.client_value_collection import ClientValueCollection
from office365.runtime.queries.service_operation import ServiceOperationQuery
from office365.sharepoint.listitems.form_update_value import ListItemFormUpdateValue
from requests import exceptions as req_exc

from connector import deadline
from connector.sharepoint.forms import form_value, iso_to_form
from connector.sharepoint.lists import Lists
from connector.sharepoint.records import (
    EMAIL_SUFFIX,
    FieldInfo,
    ItemStatus,
    ItemUpdate,
    ItemWriteResult,
    ListInfo,
    status_of,
)
from connector.sharepoint.retries import client_single_try, log_retry, server_delay
from connector.sharepoint.retries import retriable as _retriable
from connector.sharepoint.retries import short as _short
from connector.sharepoint.retries import why as _why

log = logging.getLogger("copil.sp")

# An operation answering 500 inside a $batch is tried this many times in all: a front end
# recycled mid-batch comes back at once; an item that refuses every write (a broken event
# receiver, a corrupt item) is dead-lettered in seconds, not after the throttling policy's minutes.
ITEM_ERROR_TRIES = 3


def _status(ex) -> int | None:
    return getattr(getattr(ex, "response", None), "status_code", None)


class Items(Lists):
    # -- items ----------------------------------------------------------------------
    def read_items(
        self,
        title: str,
        fields: list[FieldInfo],
        *,
        with_editor: bool = True,
        limit: int | None = None,
        ids: list[int] | None = None,
    ) -> list[dict]:
        """All items of a list (or the first `limit`), only the given fields, paged by ID. Returns
        dicts keyed by internal name: lookups as the looked-up item id, persons as display name
        (and their e-mail under the internal name + EMAIL_SUFFIX);
        plus _id, _modified, _editor (login) and _editor_title."""
        select, expand = ["Id", "Modified"], []
        for f in fields:  # entity names: a name starting with "_" is "OData_..." on the wire
            if f.kind == "Lookup":
                select.append(f.entity_name + "Id")
            elif f.kind == "User":
                # the e-mail as SharePoint returns it: where copil's digests go (connector.notify)
                select += [f"{f.entity_name}/Title", f"{f.entity_name}/Id", f"{f.entity_name}/EMail"]
                expand.append(f.entity_name)
            else:
                select.append(f.entity_name)
        if with_editor:
            select += ["Editor/Name", "Editor/Title"]
            expand.append("Editor")
        # Pages are fetched through the client's request pipeline (auth, session, retries) but
        # parsed as plain JSON: mapping every item onto a ListItem object costs ~20x the HTTP time.
        query = {
            "$select": ",".join(select),
            "$top": str(min(limit or self.page_size, self.page_size)),
            "$orderby": "ID",
        }
        if ids:  # a few items again (re-read after a 412): filtered on ID, which is always indexed
            if len(ids) > 50:
                return [
                    r
                    for i in range(0, len(ids), 50)
                    for r in self.read_items(title, fields, with_editor=with_editor, ids=ids[i : i + 50])
                ]
            query["$filter"] = " or ".join(f"ID eq {int(i)}" for i in ids)
        if expand:
            query["$expand"] = ",".join(expand)
        url = (
            self._list_url(self.list_info(title))
            + "/items?"
            + "&".join(f"{k}={quote(v, safe=',/')}" for k, v in query.items())
        )
        rows_json: list[dict] = []
        next_url: str | None = url
        while next_url:
            page = self._get_json(next_url, f"lecture des éléments de « {title} »")["d"]
            rows_json.extend(page.get("results", []))
            next_url = page.get("__next") if not limit or len(rows_json) < limit else None
        out = []
        for p in rows_json:
            row = {"_id": p.get("Id"), "_modified": p.get("Modified"), "_etag": (p.get("__metadata") or {}).get("etag")}
            ed = p.get("Editor") or {}
            row["_editor"] = _get(ed, "Name")
            row["_editor_title"] = _get(ed, "Title")
            for f in fields:
                if f.kind == "Lookup":
                    row[f.internal] = p.get(f.entity_name + "Id")
                elif f.kind == "User":
                    person = p.get(f.entity_name) or {}
                    row[f.internal] = _get(person, "Title")
                    row[f.internal + EMAIL_SUFFIX] = _get(person, "EMail")
                else:
                    v = p.get(f.entity_name)
                    if isinstance(v, dict) and "results" in v:
                        v = list(v["results"])
                    row[f.internal] = v
            out.append(row)
        return out

    def update_items(
        self, title: str, updates: list[ItemUpdate], *, system: bool = True, progress=None
    ) -> list[ItemWriteResult]:
        """System updates in $batch requests of at most `batch_size`. Per-item failures are
        returned, never raised; a throttled or dropped batch is retried whole (idempotent)."""
        info = self.list_info(title)
        results: list[ItemWriteResult] = []
        for start in range(0, len(updates), self.batch_size):
            chunk = updates[start : start + self.batch_size]
            results += self._write_chunk(title, info, chunk, system)
            if progress:
                progress(len(chunk))
        return results

    def _write_chunk(self, title, info: ListInfo, chunk: list[ItemUpdate], system: bool):
        """One $batch of system updates, under copil's retry policy alone (the client's own loop
        is made single-try: nested, the two made one item answering 500 cost 9 minutes). A whole
        batch throttled or dropped is sent again; an operation throttled inside it (429, 503) is
        sent again with the others that were, after the server's delay; an operation answering
        500 is tried `ITEM_ERROR_TRIES` times in all, then returned for the dead letters like a
        refusal (4xx). Every write is idempotent (the same values), so a retry never writes a
        different value."""
        results: dict[int, ItemWriteResult] = {}
        pending = list(chunk)
        for attempt in range(self.max_retries + 1):
            queued = self._queue_updates(info, pending, system)
            try:
                with self.ctx.collect_batch_failures() as failures, client_single_try():
                    self.ctx.execute_batch(items_per_batch=self.batch_size)
            except (ClientRequestException, req_exc.RequestException) as e:
                self._drop_pending()
                if attempt >= self.max_retries or not self._retriable(e):
                    status = status_of(getattr(getattr(e, "response", None), "status_code", None))
                    for u in pending:
                        results[u.item_id] = ItemWriteResult(u.item_id, status, f"lot refusé : {_short(e)}")
                    break
                delay = log_retry(attempt + 1, e)
                time.sleep(min(self.backoff * 2**attempt, 30) if delay is None else delay)
                continue
            failed = {id(q): ex for q, ex in failures}
            again, reason, waits = [], "", []
            for u, qry, rt in queued:
                ex = failed.get(id(qry))
                if ex is not None:
                    throttled = _status(ex) in (429, 503)
                    tries = self.max_retries if throttled else ITEM_ERROR_TRIES - 1
                    if _retriable(ex) and attempt < tries:
                        again.append(u)
                        reason = _why(ex)
                        waits.append(server_delay(ex))
                    else:
                        results[u.item_id] = ItemWriteResult(u.item_id, status_of(_status(ex)), _short(ex))
                    continue
                bad = [v for v in (rt.value or []) if v.HasException]
                results[u.item_id] = ItemWriteResult(
                    u.item_id,
                    ItemStatus.FAILED if bad else ItemStatus.OK,
                    "; ".join(f"{v.FieldName} : {v.ErrorMessage}" for v in bad) or None,
                )
            if not again:
                break
            given = [w for w in waits if w is not None]
            delay = max(given) if given else min(self.backoff * 2**attempt, 30)
            log.info(
                "nouvel essai de %d écriture(s) sur %d du lot dans %s s (%s)",
                len(again),
                len(pending),
                f"{delay:g}".replace(".", ","),
                reason,
            )
            if given:
                deadline.wait_allowed(delay, f"attente de {delay} s demandée par SharePoint ({reason})")
            time.sleep(delay)
            pending = again
        return [results[u.item_id] for u in chunk if u.item_id in results]

    def _queue_updates(self, info: ListInfo, updates: list[ItemUpdate], system: bool) -> list:
        splist = self.ctx.web.lists.get_by_id(info.id)  # by id: a title in a $batch part is not encoded
        queued = []
        for u in updates:
            form = [
                {
                    "__metadata": {"type": "SP.ListItemFormUpdateValue"},
                    "FieldName": k,
                    "FieldValue": form_value(_kind(info, k), v, self.locale),
                }
                for k, v in u.values.items()
            ]
            if u.modified:
                form.append(
                    {
                        "__metadata": {"type": "SP.ListItemFormUpdateValue"},
                        "FieldName": "Modified",
                        "FieldValue": iso_to_form(u.modified, self.locale),
                    }
                )
            if u.editor:
                form.append(
                    {
                        "__metadata": {"type": "SP.ListItemFormUpdateValue"},
                        "FieldName": "Editor",
                        "FieldValue": json.dumps([{"Key": u.editor}]),
                    }
                )
            rt = ClientResult(self.ctx, ClientValueCollection(ListItemFormUpdateValue))
            payload = {"formValues": form, "bNewDocumentUpdate": system, "datesInUTC": True}
            qry = _IfMatchQuery(splist.get_item_by_id(u.item_id), "ValidateUpdateListItem", None, payload, None, rt)
            qry.etag = u.etag
            self.ctx.add_query(qry)
            queued.append((u, qry, rt))
        return queued


class _IfMatchQuery(ServiceOperationQuery):
    """A service operation sent with `If-Match: <ETag as read>`: an item a person edited since
    copil read it answers 412 instead of being written with stale Modified/Editor values."""

    etag: str | None = None

    def build_request(self):
        request = super().build_request()
        if self.etag:
            request.set_header("IF-MATCH", self.etag)
        return request


def _get(obj, key):
    if isinstance(obj, dict):
        return obj.get(key)
    props = getattr(obj, "properties", None)
    return props.get(key) if isinstance(props, dict) else getattr(obj, key, None)


def _kind(info: ListInfo, internal: str) -> str:
    """A field's type, « Text » for one the list does not describe (sent as typed)."""
    found = info.by_internal(internal)
    return found.kind if found else "Text"
