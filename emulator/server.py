"""HTTP front: parse requests, authenticate, inject faults, dispatch to routes, format answers.

`start()` runs a threaded server on 127.0.0.1 (port 0 = a free one) in a daemon thread, for
tests and the demo; `serve()` blocks, for `copil emulator`."""

from __future__ import annotations

import json
import secrets
import sys
import threading
import time
from dataclasses import dataclass
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from urllib.parse import unquote, urlsplit

# Route modules register themselves on import.
from emulator import (  # noqa: F401,E402
    auth,
    batch,
    changes,
    errors,
    fields,
    items,
    libraries,
    listdata,
    lists,
    recycle,
    responses,
    routing,
    users,
    views,
)
from emulator.faults import Drop, FaultConfig, Faults
from emulator.models import Backend
from emulator.odata import parse_query
from emulator.responses import Response, dumps
from emulator.store import Store

WRITE_METHODS = {"POST", "MERGE", "PATCH", "PUT", "DELETE"}
SYSTEM_OPTIONS = {"$select", "$filter", "$orderby", "$top", "$skip", "$skiptoken", "$expand", "$format", "$inlinecount"}


class _HTTPServer(ThreadingHTTPServer):
    daemon_threads = True

    def handle_error(self, request, client_address):
        """A client that went away (or a restart that cut it) is not an emulator error."""
        if isinstance(sys.exc_info()[1], (ConnectionError, TimeoutError)):
            return
        super().handle_error(request, client_address)


@dataclass
class Ctx:
    """One API request as the route handlers see it."""

    method: str
    path: str  # after /_api/
    query: dict
    headers: dict  # lower-case keys
    body: bytes
    site: object
    grant: auth.Grant
    base_url: str  # http://host:port/sites/<name>
    server: "EmulatorServer"
    route: str = ""

    @property
    def user(self):
        return self.site.ensure_user(self.grant.login, f"copil ({self.grant.role})")

    def json(self) -> dict:
        return routing.body_json(self.body)

    def api(self, rel: str) -> str:
        return f"{self.base_url}/_api/{rel}"


class EmulatorServer:
    def __init__(
        self,
        port: int = 0,
        *,
        data_dir: str | None = None,
        tokens: dict | None = None,
        faults: FaultConfig | None = None,
        host: str = "127.0.0.1",
        admin_token: str | None = None,
    ):
        self.store = Store(data_dir) if data_dir else None
        self.backend = self.store.load() if self.store else Backend()
        if tokens is None:
            grants = auth.default_grants()
        elif all(isinstance(v, auth.Grant) for v in tokens.values()):
            grants = dict(tokens)
        else:  # {role: token}
            grants = {t: auth.Grant(t, role) for role, t in tokens.items()}
        self.auth = auth.Tokens(grants)
        self.faults = Faults(faults)
        self.connections: set = set()
        # The admin API resets, reconfigures and lists tokens: it needs its own secret.
        self.admin_token = admin_token or secrets.token_urlsafe(24)
        self.httpd = _HTTPServer((host, port), _make_handler(self))
        self.port = self.httpd.server_address[1]
        self.url = f"http://{host}:{self.port}"
        self._thread: threading.Thread | None = None

    @property
    def tokens(self) -> dict[str, str]:
        return self.auth.by_role()

    def site_url(self, name: str = "projets") -> str:
        return f"{self.url}/sites/{name}"

    def start(self) -> "EmulatorServer":
        self._thread = threading.Thread(target=self.httpd.serve_forever, name="sp-emulator", daemon=True)
        self._thread.start()
        if self.store:
            self.store.start_flusher(self.backend)
        return self

    def restart(self, down_s: float = 0.3) -> None:
        """Stop answering for `down_s` seconds, then serve again on the same port with the same
        state (a SharePoint front end recycled mid-run). Returns at once."""

        def cycle():
            self.httpd.shutdown()
            self.httpd.server_close()
            for conn in list(self.connections):  # kept-alive connections drop too
                try:
                    conn.shutdown(2)
                except OSError:
                    pass
            time.sleep(down_s)
            self.httpd = _HTTPServer((self.url.split("//")[1].split(":")[0], self.port), _make_handler(self))
            self._thread = threading.Thread(target=self.httpd.serve_forever, name="sp-emulator", daemon=True)
            self._thread.start()

        threading.Thread(target=cycle, name="sp-emulator-restart", daemon=True).start()

    def stop(self) -> None:
        self.httpd.shutdown()
        self.httpd.server_close()
        if self.store:
            self.store.close(self.backend)

    def reset(self) -> None:
        self.backend.reset()
        self.faults.hooks.clear()
        self.faults.configure(FaultConfig())
        self.faults.reset_counters()

    def stats(self) -> dict:
        return self.faults.stats()

    def admin(self, method: str, what: str, **kw):
        """An authenticated call to the admin API (for tests and tools)."""
        import requests  # lazy: requests: only for stopping a server in another process

        headers = {"Authorization": f"Bearer {self.admin_token}", **kw.pop("headers", {})}
        kw.setdefault("timeout", 10)
        return requests.request(method, f"{self.url}/_emulator/{what}", headers=headers, **kw)

    def __enter__(self):
        return self

    def __exit__(self, *exc):
        self.stop()

    # -- dispatch ------------------------------------------------------------
    def handle_api(
        self,
        method: str,
        site_name: str,
        path: str,
        query: dict,
        headers: dict,
        body: bytes,
        host: str,
        grant: auth.Grant | None = None,
    ) -> tuple[Response, str]:
        """Serve one `/sites/<name>/_api/<path>` request (also used by $batch for each part)."""
        route = "?"
        try:
            if grant is None:
                grant = self.auth.authenticate(headers.get("authorization"), site_name)
            else:  # a $batch operation: the outer request's grant, checked against this operation's site
                self.auth.authorize_site(grant, site_name)
            for key in query:
                if key.startswith("$") and key.lower() not in SYSTEM_OPTIONS:
                    # e.g. the `$order_by` that office365 3.3's order_by() sends
                    raise errors.bad_request(
                        f"The query parameter '{key}' begins with a system-reserved "
                        "'$' character but is not recognized."
                    )
            tunnel = headers.get("x-http-method")
            if method == "POST" and tunnel:
                method = tunnel.upper()
            with self.backend.lock:
                site = self.backend.site(site_name)
                if site is None:  # sites are created by seeding, --site or the admin API, never by a URL
                    raise errors.site_not_found(site_name)
                ctx = Ctx(method, path, query, headers, body, site, grant, f"http://{host}/sites/{site.name}", self)
                segments = routing.parse_segments(path)
                target = routing.resolve(routing.Target("root", site), segments, method, path, query)
                route = f"{target.kind}.{method}"
                entry = routing.HANDLERS.get((target.kind, method))
                if entry is None:
                    raise errors.not_implemented(method, "/_api/" + path)
                fn, role = entry
                # a POST that only reads (a CAML query, GetChanges) needs the read right, as in SharePoint
                if (
                    method in WRITE_METHODS
                    and role == "read"
                    and target.kind not in ("contextinfo", "batch", "op:getitems", "op:getchanges")
                ):
                    role = "write"
                if not grant.allows(role):
                    raise errors.forbidden()
                ctx.route = route
                result = fn(ctx, target)
                if method == "GET" and query.get("$select") and target.kind not in SELECTS_ITSELF:
                    result = _select(result, query["$select"])
            if not isinstance(result, Response):
                result = Response(200, result)
            return responses.shape(result, headers.get("accept"), f"http://{host}/sites/{site_name}/_api"), route
        except errors.SPError as e:
            return responses.shape(Response(e.status, e.body(), dict(e.headers)), headers.get("accept")), route


# Routes that apply $select themselves (items have their own projection rules; web, lists and
# views already pass through lists.select_props); any other entity gets it here, so a property
# the type does not have is a 400 everywhere, as in SharePoint.
SELECTS_ITSELF = {
    "items",
    "item",
    "web",
    "list",
    "lists",
    "views",
    "view",
    "filevalue",
    "fieldvaluesastext",
    "op:tzconvert",
}


def _select(result, select: str):
    if not isinstance(result, dict) or not isinstance(result.get("d"), dict):
        return result
    d = result["d"]
    if isinstance(d.get("results"), list):
        rows = [lists.select_props(r, select) if isinstance(r, dict) and "__metadata" in r else r for r in d["results"]]
        return {**result, "d": {**d, "results": rows}}
    if "__metadata" in d:
        return {**result, "d": lists.select_props(d, select)}
    return result


def _make_handler(server: EmulatorServer):
    class Handler(BaseHTTPRequestHandler):
        protocol_version = "HTTP/1.1"
        server_version = "Microsoft-IIS/10.0"
        disable_nagle_algorithm = True  # headers and body are separate writes: avoid 40 ms delayed ACKs

        def log_message(self, *args):  # quiet; the request log is at /_emulator/log
            pass

        def setup(self):
            super().setup()
            server.connections.add(self.connection)

        def finish(self):
            server.connections.discard(self.connection)
            super().finish()

        def _any(self):
            t0 = time.perf_counter()
            parts = urlsplit(self.path)
            path = parts.path
            length = int(self.headers.get("Content-Length") or 0)
            body = self.rfile.read(length) if length else b""
            headers = {k.lower(): v for k, v in self.headers.items()}
            if path.startswith("/_emulator"):
                if not secrets.compare_digest(headers.get("authorization", ""), f"Bearer {server.admin_token}"):
                    return self._send(
                        Response(
                            401,
                            {
                                "error": "the admin API needs 'Authorization: Bearer "
                                "<admin token>' (printed at start-up)"
                            },
                            content_type="application/json",
                        )
                    )
                return self._admin(path, parts.query, body)
            route = "?"
            try:
                low = path.lower()
                marker = "/_api/"
                if not low.startswith("/sites/") or marker not in low:
                    resp = Response(404, errors.not_found(f"No SharePoint site at {path}.").body())
                else:
                    site_name = path.split("/")[2]
                    api_path = path[low.index(marker) + len(marker) :]
                    server.faults.before(self.command, path)
                    if api_path.lower() == "$batch":
                        resp, route = batch.handle(
                            server, site_name, parts.query, headers, body, self.headers.get("Host", "127.0.0.1")
                        )
                    else:
                        resp, route = server.handle_api(
                            self.command,
                            unquote(site_name),
                            api_path,
                            parse_query(parts.query),
                            headers,
                            body,
                            self.headers.get("Host", "127.0.0.1"),
                        )
            except Drop:
                server.faults.record(self.command, path, "dropped", 0, (time.perf_counter() - t0) * 1000)
                self.close_connection = True
                try:
                    self.connection.shutdown(2)
                except OSError:
                    pass
                return
            except errors.SPError as e:
                resp = responses.shape(Response(e.status, e.body(), dict(e.headers)), headers.get("accept"))
            except Exception as e:
                # a request the emulator could not handle is a 501 naming it, never a 500 a client
                # would retry as a transient SharePoint failure (500s are the injected faults only)
                err = errors.not_implemented(self.command, f"{path} ({type(e).__name__}: {e})")
                resp = responses.shape(Response(err.status, err.body(), dict(err.headers)), headers.get("accept"))
            # counted before answering, so a client that reads the stats right after sees it
            server.faults.record(
                self.command,
                self.path,
                route,
                resp.status,
                (time.perf_counter() - t0) * 1000,
                self.headers.get("User-Agent", ""),
            )
            self._send(resp)

        def _send(self, resp: Response):
            if resp.payload is None:
                data = b""
            elif isinstance(resp.payload, (bytes, bytearray)):
                data = bytes(resp.payload)
            else:
                data = dumps(resp.payload)
            self.send_response(resp.status)
            if data or resp.status not in (204,):
                self.send_header("Content-Type", resp.content_type)
            for k, v in resp.headers.items():
                self.send_header(k, v)
            self.send_header("Content-Length", str(len(data)))
            self.end_headers()
            if self.command != "HEAD":
                self.wfile.write(data)

        def _admin(self, path: str, qs: str, body: bytes):
            what = path[len("/_emulator") :].strip("/")
            q = parse_query(qs)
            if what == "reset" and self.command == "POST":
                server.reset()
                payload = {"ok": True}
            elif what == "stats" and self.command == "GET":
                payload = server.stats()
            elif what == "stats/reset" and self.command == "POST":
                server.faults.reset_counters()
                payload = {"ok": True}
            elif what == "log" and self.command == "GET":
                payload = {"entries": server.faults.entries(int(q.get("since", 0)))}
            elif what == "faults" and self.command == "POST":
                server.faults.configure(FaultConfig.from_json(json.loads(body or b"{}")))
                payload = server.faults.config.to_json()
            elif what == "faults" and self.command == "DELETE":
                server.faults.configure(FaultConfig())
                payload = {"ok": True}
            elif what == "faults" and self.command == "GET":
                payload = server.faults.config.to_json()
            elif what == "changelog" and self.command == "POST":
                spec = json.loads(body or b"{}")
                if "retention_days" in spec:
                    server.backend.change_retention_days = float(spec["retention_days"])
                payload = {"retention_days": server.backend.change_retention_days}
            elif what == "tokens" and self.command == "GET":
                payload = server.tokens
            elif what == "sites" and self.command == "POST":
                spec = json.loads(body or b"{}")
                site = server.backend.ensure_site(str(spec.get("name") or "projets"))
                site.set_regional(timezone_id=spec.get("timezone_id"), locale_id=spec.get("locale_id"))
                payload = {"name": site.name, "timezone_id": site.timezone_id, "locale_id": site.locale_id}
            elif what == "sites" and self.command == "GET":
                payload = {
                    "sites": [
                        {"name": x.name, "timezone_id": getattr(x, "timezone_id", 3), "locale_id": x.locale_id}
                        for x in server.backend.sites.values()
                    ]
                }
            else:
                return self._send(
                    Response(
                        404, {"error": f"unknown admin endpoint {self.command} {path}"}, content_type="application/json"
                    )
                )
            self._send(Response(200, payload, content_type="application/json"))

        do_GET = do_POST = do_PUT = do_PATCH = do_DELETE = do_MERGE = do_HEAD = _any

    return Handler


def start(
    port: int = 0, *, data_dir: str | None = None, tokens: dict | None = None, faults: FaultConfig | None = None
) -> EmulatorServer:
    return EmulatorServer(port, data_dir=data_dir, tokens=tokens, faults=faults).start()


def serve(
    port: int = 8765,
    data_dir: str | None = None,
    tokens: dict | None = None,
    faults: FaultConfig | None = None,
    host: str = "127.0.0.1",
    admin_token: str | None = None,
) -> None:
    srv = EmulatorServer(
        port, data_dir=data_dir, tokens=tokens, faults=faults, host=host, admin_token=admin_token
    ).start()
    try:
        while True:
            time.sleep(3600)
    except KeyboardInterrupt:
        pass
    finally:
        srv.stop()
