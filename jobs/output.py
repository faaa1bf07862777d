"""Logging, secret masking and progress display shared by every copil command."""

from __future__ import annotations

import json
import logging
import os
import re
import sys
import threading
from datetime import datetime, timezone

from rich.progress import (
    BarColumn,
    MofNCompleteColumn,
    Progress,
    SpinnerColumn,
    TextColumn,
    TimeElapsedColumn,
)

MASK = "***"

# A run's status as people read it (the state keeps the English keys).
STATUS_LABELS = {
    "ok": "réussie",
    "partial": "partielle",
    "failed": "échec",
    "running": "en cours",
    "interrupted": "interrompue",
    "timed_out": "arrêtée (durée maximale)",
    "abandoned": "abandonnée",
    "check": "vérification",
}


def status_label(status: object) -> str:
    return STATUS_LABELS.get(str(status), str(status))


def count(n: object, singular: str, plural: str | None = None) -> str:
    """« 0 élément écrit », « 1 élément écrit », « 2 éléments écrits » (French: 0 and 1 are singular)."""
    try:
        value = int(n)  # type: ignore[call-overload]
    except (TypeError, ValueError):
        return f"{n} {plural or singular}"
    word = singular if abs(value) < 2 else (plural or " ".join(w + "s" for w in singular.split()))
    return f"{value} {word}"


def seconds(v: object) -> str:
    """« 11,3 s »."""
    try:
        return f"{float(v):.1f} s".replace(".", ",")  # type: ignore[arg-type]
    except (TypeError, ValueError):
        return "?"


def guillemets(text: str) -> str:
    """French quotes held to their words: a line break never leaves « alone at the end of a line."""
    return text.replace("« ", "«\u00a0").replace(" »", "\u00a0»")


_secrets: set[str] = set()
_lock = threading.Lock()

# Secrets we do not know by value still have recognisable shapes.
_PATTERNS = [
    re.compile(r"(?i)(bearer\s+)[A-Za-z0-9._~+/=-]{6,}"),
    re.compile(
        r"(?i)((?:access_?token|token|passphrase|password|passwd|secret|client_secret)"
        r"[\"']?\s*[=:]\s*[\"']?)[^\s\"',;&]+"
    ),
]


def register_secret(value: str | None) -> None:
    """Mask this exact value in every later output (tokens, passphrases...)."""
    if value and len(value) >= 4:
        with _lock:
            _secrets.add(value)


def mask(text: object) -> str:
    s = str(text)
    for secret in sorted(_secrets, key=len, reverse=True):
        s = s.replace(secret, MASK)
    for pat in _PATTERNS:
        s = pat.sub(lambda m: m.group(1) + MASK, s)
    return s


class MaskingFilter(logging.Filter):
    def filter(self, record: logging.LogRecord) -> bool:
        record.msg = mask(record.getMessage())
        record.args = None
        if record.exc_info and not record.exc_text:
            record.exc_text = logging.Formatter().formatException(record.exc_info)
        if record.exc_text:
            record.exc_text = mask(record.exc_text)
        return True


class JsonFormatter(logging.Formatter):
    """One JSON object per line, for log collectors."""

    _skip = set(vars(logging.LogRecord("", 0, "", 0, "", None, None))) | {"message"}

    def format(self, record: logging.LogRecord) -> str:
        out = {
            "ts": datetime.fromtimestamp(record.created, timezone.utc).isoformat(),
            "level": record.levelname.lower(),
            "logger": record.name,
            "msg": record.getMessage(),
        }
        for k, v in vars(record).items():
            if k not in self._skip and not k.startswith("_"):
                out[k] = v
        if record.exc_text:
            out["exc"] = record.exc_text
        return mask(json.dumps(out, ensure_ascii=False, default=str))


class _CurrentStderr(logging.StreamHandler):
    """Writes to whatever sys.stderr is at the time of the record (it may be replaced after
    set-up, as test runners and embedding tools do)."""

    @property
    def stream(self):
        return sys.stderr

    @stream.setter
    def stream(self, value):
        pass


def add_log_file(path: str, max_megabytes: float = 10, keep: int = 10, json_mode: bool = False) -> None:
    """The log also written to `path`, rotated at `max_megabytes` with `keep` old files (a night
    every night for years fills no disk); masked like the console. Replaces an earlier one."""
    from logging.handlers import RotatingFileHandler  # lazy: only with a log file

    root = logging.getLogger()
    for h in list(root.handlers):
        if getattr(h, "_copil_file", False):
            root.removeHandler(h)
            h.close()
    target = os.path.abspath(os.path.expanduser(path))
    os.makedirs(os.path.dirname(target) or ".", exist_ok=True)
    handler = RotatingFileHandler(
        target, maxBytes=int(max_megabytes * 1024 * 1024), backupCount=keep, encoding="utf-8", delay=True
    )
    handler._copil_file = True  # type: ignore[attr-defined]
    handler.addFilter(MaskingFilter())
    handler.setFormatter(
        JsonFormatter()
        if json_mode
        else logging.Formatter("%(asctime)s %(levelname)s %(name)s: %(message)s", "%Y-%m-%d %H:%M:%S")
    )
    root.addHandler(handler)


def setup_logging(json_mode: bool = False, verbose: bool = False, stream=None, log_file: str | None = None) -> None:
    root = logging.getLogger()
    for h in list(root.handlers):
        if getattr(h, "_copil", False):
            root.removeHandler(h)
    handler = logging.StreamHandler(stream) if stream is not None else _CurrentStderr()
    handler._copil = True
    handler.addFilter(MaskingFilter())
    if json_mode:
        handler.setFormatter(JsonFormatter())
    else:
        handler.setFormatter(logging.Formatter("%(asctime)s %(levelname)s %(name)s: %(message)s", "%Y-%m-%d %H:%M:%S"))
    root.addHandler(handler)
    root.setLevel(logging.DEBUG if verbose else logging.INFO)
    for noisy in ("urllib3", "PIL", "msal"):
        logging.getLogger(noisy).setLevel(logging.WARNING)
    # APScheduler speaks English: its lines are replaced by copil's own (jobs.scheduler)
    logging.getLogger("apscheduler").setLevel(logging.DEBUG if verbose else logging.CRITICAL)
    # procrastinate too: its warnings and errors stay (a database lost), its English chatter goes
    logging.getLogger("procrastinate").setLevel(logging.DEBUG if verbose else logging.WARNING)
    if log_file:
        add_log_file(log_file, json_mode=json_mode)
    # The client logs its listeners' exceptions with tracebacks; copil reports them in French.
    logging.getLogger("office365").setLevel(logging.DEBUG if verbose else logging.CRITICAL)


class ProgressReporter:
    """`progress(step, done=None, total=None)` callback for pipeline.run_sync.

    Rich bars on a TTY (and not in JSON mode); plain log lines otherwise."""

    def __init__(self, enabled: bool | None = None, json_mode: bool = False):
        self.log = logging.getLogger("copil.progress")
        tty = sys.stdout.isatty() if enabled is None else enabled
        self.rich = tty and not json_mode
        self._progress = None
        self._tasks: dict[str, int] = {}
        self._last: dict[str, object] = {}

    def __enter__(self):
        if self.rich:
            self._progress = Progress(
                SpinnerColumn(),
                TextColumn("{task.description}"),
                BarColumn(),
                MofNCompleteColumn(),
                TimeElapsedColumn(),
            )
            self._progress.start()
        return self

    def __exit__(self, *exc):
        if self._progress:
            self._progress.stop()
        return False

    def __call__(self, step: str, done: int | None = None, total: int | None = None, **_):
        step = mask(step)
        if self._progress is not None:
            if step not in self._tasks:
                self._tasks[step] = self._progress.add_task(step, total=total)
            self._progress.update(self._tasks[step], completed=done or 0, total=total)
            return
        key = (done, total)
        if total is None or done in (None, 0, total) or self._last.get(step) is None:
            if self._last.get(step) != key:
                self.log.info("%s%s", step, f" ({done}/{total})" if total else "")
        self._last[step] = key
