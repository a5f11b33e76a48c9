"""Fixtures for the API tests (the test doubles are in `api_doubles.py`)."""

from __future__ import annotations

from collections.abc import Callable, Iterator
from pathlib import Path
from typing import Any

import pytest
from api_doubles import PUBLIC_ADDRESS, RESOLVES, FakeChecker, FakeFetcher, TestClient, settings_for

from rxcheck.api.app import create_app


@pytest.fixture(autouse=True)
def fake_resolver(monkeypatch: pytest.MonkeyPatch) -> list[str]:
    """Resolve names from `RESOLVES` (else to a public address); returns the names looked up."""
    looked_up: list[str] = []

    async def getaddrinfo(host: str, port: int) -> list[str]:
        looked_up.append(host)
        return RESOLVES.get(host, [PUBLIC_ADDRESS])

    monkeypatch.setattr("rxcheck.fetch.guard._getaddrinfo", getaddrinfo)
    return looked_up


@pytest.fixture
def checker() -> FakeChecker:
    return FakeChecker()


@pytest.fixture
def make_client(tmp_path: Path, checker: FakeChecker) -> Iterator[Callable[..., TestClient]]:
    """`make_client(**settings)`: a started TestClient (stopped at teardown) on a fresh app."""
    clients: list[TestClient] = []

    def make(*, site_checker: FakeChecker | None = None, raise_errors: bool = True, **overrides: Any) -> TestClient:
        settings = settings_for(tmp_path, **overrides)
        app = create_app(settings, checker=site_checker or checker, fetcher=FakeFetcher())
        client = TestClient(app, raise_server_exceptions=raise_errors)
        client.__enter__()
        clients.append(client)
        return client

    yield make
    for client in reversed(clients):
        client.__exit__(None, None, None)


@pytest.fixture
def client(make_client: Callable[..., TestClient]) -> TestClient:
    return make_client()
