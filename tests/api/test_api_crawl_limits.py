"""Crawls are the expensive path and have their own, small rate limit per client and per key; cached lookups are
charged only to the general limit, whose defaults let a burst from one address (a NAT) through."""

from __future__ import annotations

import asyncio
from collections.abc import Callable
from pathlib import Path
from typing import Any

from api_doubles import AUTH, FakeChecker, TestClient, running_app, settings_for

from rxcheck.api.settings import Settings

LIMITS = (
    "ip_rate_per_min", "ip_burst", "key_rate_per_min", "key_burst",
    "crawl_ip_rate_per_min", "crawl_ip_burst", "crawl_key_rate_per_min", "crawl_key_burst",
)  # fmt: skip
DEFAULT_LIMITS: dict[str, Any] = {name: Settings.model_fields[name].default for name in LIMITS}


async def test_200_concurrent_cached_lookups_from_one_address_are_all_answered(tmp_path: Path) -> None:
    checker = FakeChecker()
    async with running_app(settings_for(tmp_path, **DEFAULT_LIMITS), checker) as http:
        assert (await http.get("/v1/verdict", params={"url": "pharmacy.example"})).status_code == 200

        responses = await asyncio.gather(
            *(http.get("/v1/verdict", params={"url": "pharmacy.example"}) for _ in range(200))
        )

    assert [r.status_code for r in responses] == [200] * 200
    assert all(r.json()["cache"]["hit"] for r in responses)
    assert len(checker.calls) == 1


def test_fresh_crawls_are_limited_per_address_while_cached_lookups_go_on(
    make_client: Callable[..., TestClient],
) -> None:
    client = make_client(**DEFAULT_LIMITS)
    burst = DEFAULT_LIMITS["crawl_ip_burst"]

    fresh = [client.get("/v1/verdict", params={"url": "pharmacy.example", "fresh": "true"}) for _ in range(burst + 1)]
    cached = client.get("/v1/verdict", params={"url": "pharmacy.example"})

    assert [r.status_code for r in fresh] == [200] * burst + [429]
    refused = fresh[-1]
    assert refused.json()["error"]["code"] == "rate_limited"
    assert "crawls" in refused.json()["error"]["message"]
    assert int(refused.headers["retry-after"]) >= 1
    assert cached.status_code == 200 and cached.json()["cache"]["hit"] is True


def test_cache_misses_are_charged_as_crawls(make_client: Callable[..., TestClient], checker: FakeChecker) -> None:
    client = make_client(crawl_ip_rate_per_min=60, crawl_ip_burst=3)

    codes = [client.get("/v1/verdict", params={"url": f"shop{i}.example"}).status_code for i in range(4)]
    again = client.get("/v1/verdict", params={"url": "shop0.example"})

    assert codes == [200, 200, 200, 429]
    assert len(checker.calls) == 3  # the refused miss never crawled
    assert again.status_code == 200 and again.json()["cache"]["hit"] is True


def test_a_key_has_its_own_crawl_bucket(make_client: Callable[..., TestClient]) -> None:
    client = make_client(crawl_ip_rate_per_min=60, crawl_ip_burst=1, crawl_key_rate_per_min=60, crawl_key_burst=2)
    params = {"url": "pharmacy.example", "fresh": "true"}

    anonymous = [client.get("/v1/verdict", params=params).status_code for _ in range(2)]
    keyed = [client.get("/v1/verdict", params=params, headers=AUTH).status_code for _ in range(3)]
    other_key = client.get("/v1/verdict", params=params, headers={"Authorization": "Bearer other-key"})

    assert anonymous == [200, 429]
    assert keyed == [200, 200, 429]
    assert other_key.status_code == 200


def test_crawl_limits_can_be_turned_off(make_client: Callable[..., TestClient]) -> None:
    client = make_client(crawl_ip_rate_per_min=0, crawl_ip_burst=1)
    params = {"url": "pharmacy.example", "fresh": "true"}

    assert [client.get("/v1/verdict", params=params).status_code for _ in range(5)] == [200] * 5
