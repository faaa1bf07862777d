"""`$batch`: parse the client's multipart (LF or CRLF, changesets nested or not) and answer
in the flat CRLF form the Office365 client parses. Operations are independent: one failing
does not undo the others, as in SharePoint Online."""

from __future__ import annotations

import re
import uuid
from urllib.parse import unquote, urlsplit

from emulator import errors
from emulator.odata import parse_query
from emulator.responses import Response, dumps

MAX_OPERATIONS = 100
REASONS = {
    200: "OK",
    201: "Created",
    204: "No Content",
    400: "Bad Request",
    401: "Unauthorized",
    403: "Forbidden",
    404: "Not Found",
    409: "Conflict",
    412: "Precondition Failed",
    429: "Too Many Requests",
    500: "Internal Server Error",
    501: "Not Implemented",
    503: "Service Unavailable",
}


def _boundary(content_type: str) -> str | None:
    m = re.search(r'boundary="?([^";\s]+)"?', content_type or "", re.I)
    return m.group(1) if m else None


def _headers_and_body(block: str) -> tuple[dict, str]:
    m = re.search(r"\r?\n\r?\n", block)
    head, body = (block, "") if not m else (block[: m.start()], block[m.end() :])
    headers: dict = {}
    last = None
    for line in re.split(r"\r?\n", head):
        if not line:
            continue
        if line[0] in " \t" and last:  # folded header line
            headers[last] += " " + line.strip()
            continue
        k, _, v = line.partition(":")
        last = k.strip().lower()
        headers[last] = v.strip()
    return headers, body


def split_parts(text: str, boundary: str) -> list[str]:
    pieces = re.split(r"(?m)^--" + re.escape(boundary) + r"(?:--)?[ \t]*\r?$\n?", text)
    return [p for p in pieces[1:] if p.strip()]


def parse_operations(text: str, boundary: str) -> list[dict]:
    ops = []
    for part in split_parts(text, boundary):
        headers, content = _headers_and_body(part.lstrip("\r\n"))
        inner = _boundary(headers.get("content-type", ""))
        if inner and "multipart" in headers.get("content-type", "").lower():
            ops.extend(parse_operations(content, inner))
            continue
        first, _, rest = content.lstrip("\r\n").partition("\n")
        # a space left unencoded in the URL breaks the request line, as on SharePoint
        m = re.match(r"^(\w+)\s+(\S+)\s+HTTP/1\.[01]\s*$", first.strip())
        if not m:
            raise errors.bad_request("Invalid batch part: missing request line.")
        sub_headers, sub_body = _headers_and_body(rest)
        ops.append(
            {"method": m.group(1).upper(), "url": m.group(2), "headers": sub_headers, "body": sub_body.strip("\r\n")}
        )
    return ops


def format_response(parts: list[Response]) -> tuple[bytes, str]:
    boundary = f"batchresponse_{uuid.uuid4()}"
    out = []
    for r in parts:
        body = b"" if r.payload is None else (r.payload if isinstance(r.payload, bytes) else dumps(r.payload))
        lines = [
            f"--{boundary}",
            "Content-Type: application/http",
            "Content-Transfer-Encoding: binary",
            "",
            f"HTTP/1.1 {r.status} {REASONS.get(r.status, 'Unknown')}",
            f"CONTENT-TYPE: {r.content_type}",
        ]
        lines += [f"{k}: {v}" for k, v in r.headers.items()]
        lines += ["", ""]
        out.append("\r\n".join(lines).encode("utf-8") + body + b"\r\n")
    out.append(f"--{boundary}--\r\n".encode())
    return b"".join(out), boundary


def handle(server, site_name: str, qs: str, headers: dict, body: bytes, host: str):
    grant = server.auth.authenticate(headers.get("authorization"), unquote(site_name))
    boundary = _boundary(headers.get("content-type", ""))
    if not boundary:
        raise errors.bad_request("The batch request must have a multipart/mixed Content-Type with a boundary.")
    ops = parse_operations(body.decode("utf-8", "surrogateescape"), boundary)
    if len(ops) > MAX_OPERATIONS:
        raise errors.too_many_operations(len(ops))
    results = []
    for op in ops:
        parts = urlsplit(op["url"])
        path = parts.path
        low = path.lower()
        if "/_api/" not in low or not low.startswith("/sites/"):
            results.append(Response(400, errors.bad_request(f"Invalid batch URL {op['url']}").body()))
            continue
        try:
            server.faults.check_error_paths(unquote(path))
        except errors.SPError as e:
            results.append(Response(e.status, e.body()))
            continue
        sub_site = unquote(path.split("/")[2])
        api_path = path[low.index("/_api/") + 6 :]
        resp, route = server.handle_api(
            op["method"],
            sub_site,
            api_path,
            parse_query(parts.query),
            op["headers"],
            op["body"].encode("utf-8", "surrogateescape"),
            host,
            grant=grant,
        )
        server.faults.record_op("batch:" + route)
        results.append(resp)
    data, out_boundary = format_response(results)
    return Response(200, data, content_type=f"multipart/mixed; boundary={out_boundary}"), "batch.POST"
