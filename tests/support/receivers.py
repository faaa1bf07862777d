"""Real receivers for what copil sends: an SMTP server (aiosmtpd) that keeps every message, and an
HTTP endpoint that records the posts (Microsoft Graph's sendMail, a Teams webhook) and answers
with the status a test asks for. Both listen on 127.0.0.1, on a free port."""

from __future__ import annotations

import json
import socket
import threading
from email import message_from_bytes, policy
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer

from aiosmtpd.controller import Controller


def free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return s.getsockname()[1]


class _Keep:
    def __init__(self, box: "SmtpReceiver"):
        self.box = box

    async def handle_RCPT(self, server, session, envelope, address, rcpt_options):
        if address.casefold() in self.box.refuse:
            return "550 5.1.1 boîte inconnue"
        envelope.rcpt_tos.append(address)
        return "250 OK"

    async def handle_DATA(self, server, session, envelope):
        self.box.messages.append(
            (envelope.mail_from, list(envelope.rcpt_tos), message_from_bytes(envelope.content, policy=policy.default))
        )
        return "250 Message accepted for delivery"


class SmtpReceiver:
    def __init__(self) -> None:
        self.messages: list = []  # (MAIL FROM, RCPT TO, EmailMessage)
        self.refuse: set[str] = set()
        self.port = free_port()
        self._ctl = Controller(_Keep(self), hostname="127.0.0.1", port=self.port)

    def __enter__(self) -> "SmtpReceiver":
        self._ctl.start()
        return self

    def __exit__(self, *exc) -> None:
        self._ctl.stop()

    def to(self, address: str) -> list:
        return [m for _, rcpt, m in self.messages if address in rcpt]


class HttpRecorder:
    """Records every POST: (path, headers, JSON body). `status`: what it answers."""

    def __init__(self, status: int = 202) -> None:
        self.status = status
        self.posts: list[tuple[str, dict, object]] = []
        recorder = self

        class Handler(BaseHTTPRequestHandler):
            def do_POST(self):
                n = int(self.headers.get("Content-Length") or 0)
                raw = self.rfile.read(n)
                try:
                    body = json.loads(raw)
                except ValueError:
                    body = raw
                recorder.posts.append((self.path, dict(self.headers), body))
                self.send_response(recorder.status)
                self.send_header("Content-Length", "0")
                self.end_headers()

            def log_message(self, *args):
                pass

        self._srv = ThreadingHTTPServer(("127.0.0.1", 0), Handler)
        self.url = f"http://127.0.0.1:{self._srv.server_address[1]}"
        self._thread = threading.Thread(target=self._srv.serve_forever, daemon=True)

    def __enter__(self) -> "HttpRecorder":
        self._thread.start()
        return self

    def __exit__(self, *exc) -> None:
        self._srv.shutdown()
        self._srv.server_close()
