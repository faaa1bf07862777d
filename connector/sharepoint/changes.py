"""SharePoint's change log: GetChanges on each list copil reads, all lists in one $batch.

The answer holds ids, never values: the caller reads the changed items again by id. A list
whose page came back full is asked again from its last change's token. Anything the log
answers that copil cannot use raises ChangeLogUnusable: the caller falls back to a full read."""

from __future__ import annotations

import logging
import time

from office365.runtime.client_request_exception import ClientRequestException
from office365.runtime.queries.service_operation import ServiceOperationQuery
from office365.sharepoint.changes.collection import ChangeCollection
from requests import exceptions as req_exc

from connector import deadline
from connector.errors import ChangeLogUnusable
from connector.sharepoint.items import Items
from connector.sharepoint.lists import _token_text
from connector.sharepoint.records import ChangeRecord
from connector.sharepoint.retries import client_single_try, log_retry
from connector.sharepoint.retries import short as _short

log = logging.getLogger("copil.sp")

# What copil asks for: every change of an item, of a column and of the list itself.
QUERY_FLAGS = {
    "Item": True,
    "Field": True,
    "List": True,
    "Add": True,
    "Update": True,
    "SystemUpdate": True,
    "DeleteObject": True,
    "Restore": True,
    "Rename": True,
}


class Changes(Items):
    def get_changes(
        self, tokens: dict[str, str], *, fetch_limit: int = 1000, max_changes: int = 20_000
    ) -> dict[str, list[ChangeRecord]]:
        """Changes after `tokens` (list id -> the list's token), oldest first, per list id. At
        most `max_changes` in all: beyond, reading the lists in full costs less (raises)."""
        out: dict[str, list[ChangeRecord]] = {lid: [] for lid in tokens}
        pending = dict(tokens)
        while pending:
            pages = self._changes_round(pending, fetch_limit)
            pending = {}
            for lid, page in pages.items():
                out[lid] += page
                if len(page) >= fetch_limit:  # a full page: there may be more after its last token
                    pending[lid] = page[-1].token
            if sum(len(v) for v in out.values()) > max_changes:
                raise ChangeLogUnusable(f"plus de {max_changes} modifications depuis la dernière lecture")
        return out

    def _changes_round(self, tokens: dict[str, str], fetch_limit: int) -> dict[str, list[ChangeRecord]]:
        for attempt in range(self.max_retries + 1):
            queued = []
            for lid, token in tokens.items():
                query = {
                    "__metadata": {"type": "SP.ChangeQuery"},
                    **QUERY_FLAGS,
                    "FetchLimit": fetch_limit,
                    # in client 3.3 ChangeQuery types this as a string; SharePoint wants an SP.ChangeToken
                    "ChangeTokenStart": {"__metadata": {"type": "SP.ChangeToken"}, "StringValue": token},
                }
                rt = ChangeCollection(self.ctx)
                target = self.ctx.web.lists.get_by_id(lid)
                qry = ServiceOperationQuery(target, "GetChanges", None, {"query": query}, None, rt)
                self.ctx.add_query(qry)
                queued.append((lid, qry, rt))
            try:
                with self.ctx.collect_batch_failures() as failures, client_single_try():
                    self.ctx.execute_batch(items_per_batch=100)
                self.reached = True
            except (ClientRequestException, req_exc.RequestException) as e:
                self._drop_pending()
                if attempt < self.max_retries and self._retriable(e):
                    self._wait(attempt, e)
                    continue
                raise ChangeLogUnusable(f"journal des modifications illisible : {_short(e)}") from None
            failed = [ex for _q, ex in failures]
            if failed:
                if attempt < self.max_retries and all(self._retriable(ex) for ex in failed):
                    self._wait(attempt, failed[0])
                    continue
                raise ChangeLogUnusable(f"journal des modifications refusé : {_short(failed[0])}")
            return {lid: [_record(c.properties) for c in rt] for lid, _q, rt in queued}
        raise ChangeLogUnusable("journal des modifications illisible")  # pragma: no cover - loop returns or raises

    def _wait(self, attempt: int, e: Exception) -> None:
        delay = log_retry(attempt + 1, e)
        delay = min(self.backoff * 2**attempt, 30) if delay is None else delay
        deadline.wait_allowed(delay, f"attente de {delay} s demandée par SharePoint (journal des modifications)")
        time.sleep(delay)


def _record(p: dict) -> ChangeRecord:
    """One change, told by the properties its type has (the client drops `__metadata`)."""
    token = _token_text(p.get("ChangeToken"))
    kind_value = p.get("ChangeType")
    kind_value = getattr(kind_value, "value", kind_value)
    if not token or not isinstance(kind_value, int):
        raise ChangeLogUnusable(f"modification sans jeton ni type dans la réponse : {sorted(p)[:8]}")
    if p.get("ItemId") is not None:
        kind = "item"
    elif p.get("FieldId"):
        kind = "field"
    elif p.get("ListId"):
        kind = "list"
    else:
        kind = "other"
    item = p.get("ItemId")
    return ChangeRecord(
        kind,
        int(kind_value),
        token,
        int(item) if item is not None else None,
        p.get("Time"),
        str(p.get("EditorLoginName") or p.get("Editor") or ""),
    )
