"""Shared fixtures: one emulator per test worker, reset before each test that uses it.
Everything goes through the real Office365 client over HTTP on 127.0.0.1."""

from __future__ import annotations

import pytest
from office365.sharepoint.client_context import ClientContext

from emulator.server import start


@pytest.fixture(scope="session")
def _emulator_session():
    srv = start()
    yield srv
    srv.stop()


@pytest.fixture
def emulator(_emulator_session):
    _emulator_session.reset()
    _emulator_session.backend.ensure_site("projets")  # sites exist only once created, as in SharePoint
    return _emulator_session


def client(srv, role: str = "manage", site: str = "projets") -> ClientContext:
    token = srv.tokens[role]
    return ClientContext(srv.site_url(site)).with_access_token(
        lambda: {"access_token": token, "token_type": "Bearer", "expires_in": 3600}
    )


@pytest.fixture
def sp(emulator):
    """A ClientContext with the `manage` role on /sites/projets."""
    return client(emulator)


@pytest.fixture
def emulator_module(_emulator_session):
    """The worker's emulator without a reset: for tests that make their own sites (hypothesis
    runs many examples inside one test call). The faults a previous test set are cleared: its
    sites are kept, its injected 500s and hooks are not."""
    from emulator.faults import FaultConfig

    _emulator_session.faults.hooks.clear()
    _emulator_session.faults.configure(FaultConfig())
    return _emulator_session
