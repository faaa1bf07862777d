"""One clock for the whole run: a night that reaches `[run] deadline_minutes` stops cleanly
(state recorded, lock released, exit 4) instead of holding the next night, and every request's
read timeout is cut to what is left of it.

The clock is per process (a run is one process, or one thread of the scheduler at a time), set
by the pipeline for the duration of a run and read where the run waits: each HTTP request, each
retry delay, each report. Outside a run (`copil check`, the tests' helpers) there is none."""

from __future__ import annotations

import contextlib
import time
from collections.abc import Iterator

from connector.errors import RunInterrupted, RunTimedOut

_current: Deadline | None = None
# A stop asked from outside the run's thread (the scheduler daemon's SIGTERM): the run sees it
# at its next request or report and stops like a `copil sync` does on SIGTERM (exit 143).
_stop_asked: list[str] = []


class Deadline:
    def __init__(self, seconds: float):
        self.seconds = seconds
        self.at = time.monotonic() + seconds
        self.stage = "démarrage"  # what the run is doing, for the message when time is up

    def remaining(self) -> float:
        return self.at - time.monotonic()

    def check(self, what: str | None = None) -> None:
        if _stop_asked:
            raise RunInterrupted(f"exécution interrompue par le signal {_stop_asked[0]}")
        if self.remaining() <= 0:
            self.stop(what)

    def stop(self, what: str | None = None) -> None:
        minutes = self.seconds / 60
        shown = f"{minutes:.0f} min" if minutes >= 1 else f"{self.seconds:.0f} s"
        err = RunTimedOut(f"durée maximale de la synchronisation atteinte ({shown}) pendant : {what or self.stage}")
        err.hint = (
            "La synchronisation s'est arrêtée proprement ; la suivante reprendra tout. Si cela se "
            "répète, vérifiez la réponse de SharePoint (réseau, limitation) ou augmentez "
            "`[run] deadline_minutes`."
        )
        raise err


@contextlib.contextmanager
def running(seconds: float) -> Iterator[Deadline]:
    """The deadline of the run in progress; nested runs (a dossier inside a night) keep the outer one."""
    global _current
    if _current is not None:
        yield _current
        return
    _current = Deadline(seconds)
    _stop_asked.clear()
    try:
        yield _current
    finally:
        _current = None


def ask_stop(signal_name: str) -> None:
    """Stop the run in progress at its next check (thread-safe: a list append)."""
    _stop_asked.append(signal_name)


def stage(name: str) -> None:
    """Say what the run does now (named in the message when the deadline is reached), and check it."""
    if _current is not None:
        _current.stage = name
        _current.check()


def check(what: str | None = None) -> None:
    if _current is not None:
        _current.check(what)


def wait_allowed(seconds: float, what: str) -> None:
    """Stop now if waiting `seconds` (a server's Retry-After) would end after the deadline."""
    if _current is not None and seconds >= _current.remaining():
        _current.stop(what)


def cap(timeout: float) -> float:
    """A wait of `timeout` seconds, cut to what is left of the run (at least one second, so a
    request made just before the deadline still fails as a timeout, not as a crash)."""
    if _current is None:
        return timeout
    return max(1.0, min(timeout, _current.remaining()))
