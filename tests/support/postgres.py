"""A real PostgreSQL for the tests: the `pgserver` wheel's server, started in a temporary folder;
the test is skipped, saying why, where it cannot be installed or cannot start."""

from __future__ import annotations

import pytest


def start_server(tmp_path_factory, *needed: str):
    """The pgserver server (call `.cleanup()` when done). `needed`: more modules the tests use."""
    try:
        import pgserver
        import psycopg  # noqa: F401

        for name in needed:
            __import__(name)
    except ImportError as e:
        pytest.skip(f"PostgreSQL not available here: {e} (pip install -e '.[dev]')")
    try:
        return pgserver.get_server(str(tmp_path_factory.mktemp("pg")), cleanup_mode="stop")
    except Exception as e:  # e.g. a machine where the bundled server cannot start
        pytest.skip(f"PostgreSQL server could not start: {e}")


def database(server, name: str) -> str:
    """A new database on the server; its libpq URL."""
    server.psql(f"CREATE DATABASE {name};")
    return server.get_uri().replace("/postgres?", f"/{name}?")
