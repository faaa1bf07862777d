"""Errors typed by what the caller does next.

- FatalError: stop the run before any write (config, auth, missing list/column).
- RetryableError: wait and try again (throttling, 5xx, dropped connection).
- SkipItem: give up on one item or value, report it, go on with the rest.
"""

from __future__ import annotations

from enum import IntEnum


class ExitCode(IntEnum):
    """What `copil` returns, defined once (README « Exit codes », docs/architecture.md)."""

    OK = 0
    UNEXPECTED = 1  # a bug or an error nobody typed: the log has the traceback
    CONFIG = 2  # the configuration file is wrong
    AUTH = 3  # the identity is refused or lacks a right
    SITE = 4  # the site, a list or a column is missing or unreachable
    PARTIAL = 5  # the run ended, some items dead-lettered or some reports failed
    BUSY = 6  # another run holds the lock on the same state
    STOPPED = 143  # stopped by SIGTERM/SIGINT (128 + 15)


class CopilError(Exception):
    """Base class; `exit_code` is what `copil` returns when this ends a run, `hint` what to do
    about it (French, printed under the message)."""

    exit_code: int = ExitCode.UNEXPECTED
    hint: str | None = None


class FatalError(CopilError):
    exit_code = ExitCode.UNEXPECTED


class ConfigError(FatalError):
    """The configuration is invalid; the message names the key."""

    exit_code = ExitCode.CONFIG


class TemplateRefused(ConfigError):
    """A report template breaks the rules of a template (or cannot be rendered): the night still
    updates the lists and stops only the reports (exit 5); the message names the file and where
    it came from (the local folder or the SharePoint library)."""

    exit_code = ExitCode.PARTIAL


class AuthError(FatalError):
    """Authentication failed or the app lacks the rights it needs."""

    exit_code = ExitCode.AUTH


class SchemaError(FatalError):
    """SharePoint unreachable, or a configured list/column does not exist."""

    exit_code = ExitCode.SITE


class SiteNotFound(SchemaError):
    """The site itself does not exist at the configured address: one message, not one per list."""


class RetryableError(CopilError):
    """Still failing after the retries: SharePoint unreachable or overloaded; try the next night."""

    exit_code = ExitCode.SITE

    def __init__(self, message: str, retry_after: float | None = None):
        super().__init__(message)
        self.retry_after = retry_after


class ChangeLogUnusable(CopilError):
    """SharePoint's change log cannot be trusted for this run (an error, an answer of an unknown
    shape, a token of another scope): the caller reads every list in full instead and says why."""


class SkipItem(CopilError):
    """One item cannot be processed; the run reports it and goes on."""


class RunStopped(BaseException):
    """The run must stop now, wherever it is: not an error of one item or one report. A
    BaseException, like KeyboardInterrupt, so that no `except Exception` that keeps a night going
    past one bad item (a report, a batch, a worker) can swallow it."""

    exit_code: int = ExitCode.STOPPED
    hint: str | None = None


class RunInterrupted(RunStopped):
    """The run was stopped by SIGTERM/SIGINT (systemctl stop, the Windows scheduler, Ctrl+C):
    marked interrupted, its lock released; the next run recomputes everything."""

    exit_code = ExitCode.STOPPED


class RunTimedOut(RunStopped):
    """The run reached its deadline (`[run] deadline_minutes`) or SharePoint stopped answering:
    stopped cleanly like an interruption, with exit 4 and what it was doing."""

    exit_code = ExitCode.SITE
