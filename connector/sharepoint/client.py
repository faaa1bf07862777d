"""The connection to one site: the Office365 client's context with copil's retry policy, typed
errors, and GETs through the client's request pipeline."""

from __future__ import annotations

import logging
from typing import Self
from urllib.parse import urlsplit

from office365.runtime.client_request_exception import ClientRequestException
from office365.runtime.http.request_options import RequestOptions
from office365.runtime.retry import retry
from requests import exceptions as req_exc

from connector.config import Config
from connector.sharepoint.auth import build_context
from connector.sharepoint.forms import Locale
from connector.sharepoint.records import ListInfo
from connector.sharepoint.retries import digest_policy as _digest_policy
from connector.sharepoint.retries import log_retry, unreachable
from connector.sharepoint.retries import raise_typed as _raise_typed
from connector.sharepoint.retries import retriable as _retriable

log = logging.getLogger("copil.sp")


class Client:
    """The Office365 client context, the HTTP session and copil's retry policy around them."""

    def list_info(self, title: str, refresh: bool = False) -> ListInfo:
        raise NotImplementedError  # lists.Lists; declared here for the methods below

    def __init__(
        self,
        ctx,
        session,
        *,
        site_url: str,
        page_size: int = 5000,
        batch_size: int = 100,
        max_retries: int = 6,
        backoff: float = 1.0,
    ):
        self.ctx = ctx
        self.session = session
        self.site_url = site_url.rstrip("/")
        self.page_size = min(page_size, 5000)
        self.batch_size = min(batch_size, 100)
        self.max_retries = max_retries
        self.backoff = backoff  # base of the exponential delay when the server gives none
        self._lists: dict[str, ListInfo] = {}
        self._folders: set[str] = set()
        self._assumed_folders = False  # some folders known from earlier nights, not checked
        self._locale: Locale | None = None
        self._regional_settings: dict | None = None
        self.reached = False  # nothing answered yet: a refused connection means a wrong address
        _digest_policy(ctx, max_retries, backoff, self._retriable)

    @classmethod
    def from_config(cls, config: Config) -> Self:
        sp = config.sharepoint
        ctx, session = build_context(sp, config.run.silent_after)
        return cls(
            ctx,
            session,
            site_url=sp.site_url,
            page_size=sp.page_size,
            batch_size=sp.batch_size,
            max_retries=sp.max_retries,
            backoff=sp.retry_backoff_seconds,
        )

    @property
    def requests(self) -> int:
        return self.session.count

    @property
    def server_relative(self) -> str:
        return urlsplit(self.site_url).path.rstrip("/")

    def _run(self, what: str):
        """Execute pending queries, mapping failures to copil's typed errors."""
        try:
            # with_auto_retry() ignores Retry-After in office365 3.3; this path honours it.
            self.ctx.execute_query_retry(
                max_retry=self.max_retries + 1,
                timeout_secs=self.backoff,  # attempts
                failure_callback=log_retry,
                is_retriable=self._retriable,
            )
            self.reached = True
        except (ClientRequestException, req_exc.RequestException) as e:
            self._drop_pending()
            _raise_typed(e, what)

    def _retriable(self, ex: Exception) -> bool:
        """Transient failures; a refused connection only once SharePoint has answered in this
        run (a front end recycled mid-run comes back; an address that never answered is wrong)."""
        if unreachable(ex):
            return self.reached
        if isinstance(ex, req_exc.ReadTimeout) or isinstance(getattr(ex, "__cause__", None), req_exc.ReadTimeout):
            # a server that has never answered in this run is not waited for twice; one that
            # has is retried until the session finds it silent (`[run] silent_after`)
            return self.reached
        return _retriable(ex)

    def _drop_pending(self) -> None:
        """Forget the queries queued behind a failed one: `clear()` empties the queue and starts a
        new request object, which `reuse()` gives back the authentication, transport and limits
        of the old one (both public client API); the digest policy is laid on it again."""
        previous = self.ctx.pending_request()
        self.ctx.clear()
        self.ctx.pending_request().reuse(previous)
        _digest_policy(self.ctx, self.max_retries, self.backoff, self._retriable)

    def _get_json(self, url: str, what: str) -> dict:
        """GET through the client's pipeline with its retry policy (Retry-After honoured)."""

        def once():
            req = RequestOptions(url)
            req.set_header("Accept", "application/json;odata=verbose")
            return self.ctx.pending_request().execute_request_direct(req).json()

        try:
            result = retry(
                once,
                max_retry=self.max_retries + 1,
                timeout_secs=self.backoff,  # type: ignore[arg-type]  # seconds, a float works
                is_retriable=self._retriable,
                on_failure=log_retry,
            )
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

    def _list_url(self, info: "ListInfo") -> str:
        """Lists are addressed by id: a title is never built into a URL (spaces, quotes, # and %)."""
        return f"{self.site_url}/_api/web/lists(guid'{info.id}')"
