"""Errors typed by what the caller does next.

- FatalError: stop the run before any write (config, auth, missing list/column).
- RetryableError: wait and try again (throttling, 5xx, dropped connection).
- SkipItem: give up on one item or value, report it, go on with the rest.
"""
from __future__ import annotations


class CopilError(Exception):
    """Base class; `exit_code` is what `copil` returns when this ends a run."""
    exit_code = 1


class FatalError(CopilError):
    exit_code = 1


class ConfigError(FatalError):
    """The configuration is invalid; the message names the key."""
    exit_code = 2


class AuthError(FatalError):
    """Authentication failed or the app lacks the rights it needs."""
    exit_code = 3


class SchemaError(FatalError):
    """SharePoint unreachable, or a configured list/column does not exist."""
    exit_code = 4


class RetryableError(CopilError):
    """Still failing after the retries: SharePoint unreachable or overloaded; try the next night."""
    exit_code = 4

    def __init__(self, message: str, retry_after: float | None = None):
        super().__init__(message)
        self.retry_after = retry_after


class SkipItem(CopilError):
    """One item cannot be processed; the run reports it and goes on."""


class RunInterrupted(CopilError):
    """The run was stopped by SIGTERM/SIGINT (systemctl stop, the Windows scheduler, Ctrl+C):
    marked interrupted, its lock released; the next run recomputes everything."""
    exit_code = 143
