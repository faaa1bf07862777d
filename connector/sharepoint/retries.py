"""Failures typed by what the caller does next: retry (throttling, 5xx, a dropped connection), stop
(authentication, a wrong address), or report one item; the client's form-digest fetch under
copil's retry policy."""

from __future__ import annotations

import contextlib
import logging
import re

from office365.runtime.client_request_exception import ClientRequestException
from office365.runtime.retry import is_transient_error, response_retry_after, retry
from requests import exceptions as req_exc
from urllib3.exceptions import ConnectTimeoutError, NewConnectionError

from connector import deadline
from connector.errors import AuthError, RetryableError, SiteNotFound

log = logging.getLogger("copil.sp")


THRESHOLD_HRESULT = "-2147024860"  # the list view threshold: a 500 that retrying cannot fix


def unreachable(ex: BaseException) -> bool:
    """Connection refused, unknown host, connection timeout: nothing answers at that address;
    retrying for minutes would only delay the message (a dropped connection, by contrast, is a
    server that answered and is worth retrying)."""
    seen = set()
    while ex is not None and id(ex) not in seen:
        seen.add(id(ex))
        if isinstance(ex, (NewConnectionError, ConnectTimeoutError, req_exc.ConnectTimeout)):
            return True
        reason = getattr(ex, "reason", None)
        if isinstance(reason, (NewConnectionError, ConnectTimeoutError)):
            return True
        nxt = ex.args[0] if ex.args and isinstance(ex.args[0], BaseException) else None
        ex = nxt or ex.__cause__ or ex.__context__  # type: ignore[assignment]   # None ends the loop
    return False


def retriable(ex: Exception) -> bool:
    """Transient failures only; the list view threshold is a 500 that retrying cannot fix."""
    resp = getattr(ex, "response", None)
    if resp is not None and resp.status_code == 500 and THRESHOLD_HRESULT in (resp.text or ""):
        return False
    if unreachable(ex):
        return False
    return is_transient_error(ex)


def why(ex: Exception) -> str:
    resp = getattr(ex, "response", None)
    if resp is not None:
        return f"HTTP {resp.status_code}"
    return type(ex).__name__


def log_retry(attempt: int, ex: Exception) -> int | None:
    """Every retry is logged at info level with its delay and reason; returns the server's delay.
    A delay that would end after the run's deadline stops the run now rather than sleep past it."""
    delay = server_delay(ex)
    if delay is not None:
        deadline.wait_allowed(delay, f"attente de {delay} s demandée par SharePoint ({why(ex)})")
    log.info(
        "nouvel essai n° %d après %s (%s)",
        attempt,
        f"{delay} s demandées par SharePoint" if delay is not None else "un délai croissant",
        why(ex),
    )
    return delay


def raise_typed(e: Exception, what: str):
    """Re-raise a failed request as what the caller does next: fatal (auth), retry later, or as is."""
    if isinstance(e, req_exc.RequestException) and not isinstance(e, ClientRequestException):
        if isinstance(e, req_exc.ReadTimeout):
            err = RetryableError(f"SharePoint ne répond pas pendant : {what} (aucune réponse dans le délai imparti)")
            err.hint = (
                "Le serveur accepte la connexion mais ne répond pas (proxy bloqué, frontal saturé) : "
                "vérifiez le réseau et le proxy (HTTPS_PROXY) ; `sharepoint.timeout_seconds` règle "
                "l'attente par requête."
            )
            raise err from None
        if unreachable(e):
            err = RetryableError(
                f"SharePoint injoignable à cette adresse pendant : {what} (connexion refusée, "
                "nom inconnu ou délai de connexion dépassé)"
            )
            err.hint = "Vérifiez `sharepoint.site_url`, le réseau et le proxy (variable HTTPS_PROXY)."
            raise err from None
        err = RetryableError(f"SharePoint injoignable pendant : {what} ({type(e).__name__})")
        err.hint = "Réessayez plus tard ; si cela se répète, vérifiez le réseau et le proxy (HTTPS_PROXY)."
        raise err from None
    status = getattr(getattr(e, "response", None), "status_code", None)
    if status in (401, 403):
        raise AuthError(
            f"accès refusé par SharePoint ({status}) pendant : {what}. "
            "Vérifiez le jeton ou les droits de l'application sur le site."
        ) from None
    if status in (429, 503, 502, 504) or (status == 500 and THRESHOLD_HRESULT not in str(e)):
        raise RetryableError(f"SharePoint indisponible ({status}) pendant : {what}") from None
    if status == 404 and _SITE_MISSING.search(str(e)):
        # SharePoint's answer for a site path that leads nowhere (not a missing list or file)
        url = str(getattr(getattr(e, "response", None), "url", "") or "")
        missing = SiteNotFound(
            f"le site SharePoint « {url.split('/_api')[0] or '?'} » n'existe pas (adresse erronée ?)"
        )
        missing.hint = (
            "Vérifiez `sharepoint.site_url` : l'adresse du site telle qu'affichée dans le navigateur, "
            "par exemple https://contoso.sharepoint.com/sites/projets (site renommé ou supprimé ?)."
        )
        raise missing from None
    raise e


_SITE_MISSING = re.compile(r"The site \S* does not exist|Le site \S* n['’]existe pas", re.I)


@contextlib.contextmanager
def client_single_try():
    """The client's own retry loops (form digest: 5 tries from 5 s; `$batch`: 5 tries from 5 s
    per failed operation) made single-try for the duration of a call, so that copil's policy —
    its retries, the server's delays, the run's deadline — is applied once and never nested
    inside the client's (one item answering 500 cost 9 minutes that way). The client looks
    `retry` up in its module when it calls it; copil makes its SharePoint calls from one thread
    at a time."""
    from office365.runtime import (
        retry as client_retry,  # lazy: the module, not its function: the client looks `retry` up there at call time
    )

    saved = client_retry.retry
    client_retry.retry = lambda func, **_kw: func()
    try:
        yield
    finally:
        client_retry.retry = saved


def digest_policy(ctx, max_retries: int, backoff: float = 1.0, is_retriable=None) -> None:
    """The client fetches its form digest with its own retry loop (5 tries, 5 s base backoff:
    about 90 s against a host that does not answer). copil's policy replaces it: `max_retries`,
    the server's delay when it gives one, and no retry at all when nothing answers."""
    req = ctx.pending_request()
    original = getattr(req, "_fetch_context_web_information", None)
    if original is None or getattr(original, "_copil", False):
        return

    def fetch():
        def once():
            with client_single_try():
                return original()

        return retry(
            once, max_retry=max_retries + 1, timeout_secs=backoff, is_retriable=is_retriable, on_failure=log_retry
        )

    setattr(fetch, "_copil", True)  # noqa: B010   # marks the policy as laid, once per request object
    req._fetch_context_web_information = fetch


def short(e: Exception) -> str:
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
    found: list[int | None] = [response_retry_after(resp)]
    try:
        found.append(int(float(resp.headers.get("RateLimit-Reset"))))
    except (TypeError, ValueError):
        pass
    waits = [w for w in found if w is not None]
    return max(waits) if waits else None
