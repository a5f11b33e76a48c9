"""Test doubles and helpers for the API tests.

`FakeChecker` stands in for `rxcheck.pipeline.Checker` (same `pack` and `check` interface) so the API is
tested without crawling; the end-to-end test (`test_server_e2e.py`) runs the real pipeline. Every test
gets a fake resolver (conftest.py): nothing resolves names over the network.
"""

from __future__ import annotations

import asyncio
import threading
import time
import warnings
from collections.abc import AsyncIterator
from contextlib import asynccontextmanager
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any
from urllib.parse import urlsplit

import httpx
from starlette.exceptions import StarletteDeprecationWarning

from rxcheck.api.app import create_app
from rxcheck.api.settings import Settings
from rxcheck.fetch import FetchResult
from rxcheck.result import Evidence, Finding, Result

with warnings.catch_warnings():
    # Starlette 1.x prefers the `httpx2` package for its TestClient; the `httpx` it falls back to works.
    warnings.simplefilter("ignore", StarletteDeprecationWarning)
    from fastapi.testclient import TestClient

RULES_VERSION = "test-pack-1"
API_KEY = "secret-key-1"
AUTH = {"Authorization": f"Bearer {API_KEY}"}

# What the fake resolver answers; any other name resolves to PUBLIC_ADDRESS.
RESOLVES = {"rebind.example": ["127.0.0.1"], "mixed.example": ["93.184.216.34", "10.0.0.7"]}
PUBLIC_ADDRESS = "93.184.216.34"


@dataclass(frozen=True)
class FakeRule:
    id: str
    name: str
    category: str
    kind: str
    severity: str


@dataclass
class FakePack:
    version: str = RULES_VERSION
    rules: list[FakeRule] = field(
        default_factory=lambda: [
            FakeRule("rx-not-required", "No prescription needed", "prescription", "red_flag", "critical"),
            FakeRule("registered-pharmacy", "Registered with the regulator", "licence", "trust_signal", "high"),
        ]
    )


class FakeChecker:
    """Answers `check` from the URL alone: host names starting with `rogue` are rogue, `dead` unreachable,
    `boom` raise, `slow` sleep `slow_s`, and `block` wait until `gate` is set (polling, so the gate can be
    opened from any thread)."""

    def __init__(self, *, version: str = RULES_VERSION, slow_s: float = 0.0) -> None:
        self.pack = FakePack(version=version)
        self.calls: list[tuple[str, str]] = []
        self.slow_s = slow_s
        self.gate = threading.Event()

    async def check(self, url: str, fetcher: Any, *, jurisdiction: str = "auto") -> Result:
        self.calls.append((url, jurisdiction))
        host = urlsplit(url).hostname or ""
        if host.startswith("boom"):
            raise RuntimeError("the checker broke")
        if host.startswith("slow") or self.slow_s:
            await asyncio.sleep(self.slow_s or 0.05)
        if host.startswith("block"):
            while not self.gate.is_set():
                await asyncio.sleep(0.01)
        jurisdiction = "GB" if jurisdiction == "auto" else jurisdiction
        if host.startswith("dead"):
            return Result(
                url=url,
                verdict="unreachable",
                risk_score=0,
                jurisdiction=jurisdiction,
                rules_version=self.pack.version,
                error={"type": "fetch_error", "message": f"no answer from {host}"},
            )
        rogue = host.startswith("rogue")
        finding = Finding(
            rule="rx-not-required" if rogue else "registered-pharmacy",
            name="x",
            category="prescription" if rogue else "licence",
            kind="red_flag" if rogue else "trust_signal",
            severity="critical" if rogue else "high",
            weight=50 if rogue else 20,
            message="evidence found",
            evidence=[Evidence(url=url, snippet="No prescription needed!" if rogue else "GPhC 1234567")],
        )
        return Result(
            url=url,
            final_url=url,
            verdict="rogue" if rogue else "legitimate",
            risk_score=95 if rogue else 5,
            jurisdiction=jurisdiction,
            rules_version=self.pack.version,
            findings=[finding],
        )


class FakeFetcher:
    async def fetch(self, url: str) -> FetchResult:  # pragma: no cover - the fake checker never fetches
        raise AssertionError("the API must not fetch by itself")

    async def aclose(self) -> None:
        pass


def settings_for(tmp_path: Path, **overrides: Any) -> Settings:
    values: dict[str, Any] = {
        "db_path": tmp_path / "api.sqlite",
        "api_keys": (API_KEY, "other-key"),
        "ip_rate_per_min": 0,  # rate limits off unless a test turns them on
        "key_rate_per_min": 0,
        "crawl_ip_rate_per_min": 0,
        "crawl_key_rate_per_min": 0,
        "verdict_deadline_s": 5.0,
    }
    values.update(overrides)
    return Settings(**values)


@asynccontextmanager
async def running_app(settings: Settings, checker: FakeChecker) -> AsyncIterator[httpx.AsyncClient]:
    """The app started in this event loop, with an httpx client talking to it in-process."""
    app = create_app(settings, checker=checker, fetcher=FakeFetcher())
    async with app.router.lifespan_context(app):
        transport = httpx.ASGITransport(app=app)
        async with httpx.AsyncClient(transport=transport, base_url="http://testserver") as http:
            yield http


def wait_for_audit(client: TestClient, audit_id: str, *, timeout: float = 10.0) -> dict[str, Any]:
    deadline = time.monotonic() + timeout
    while True:
        status = client.get(f"/v1/audits/{audit_id}", headers=AUTH).json()
        if status["status"] in ("done", "failed", "cancelled") or time.monotonic() > deadline:
            return status
        time.sleep(0.02)
