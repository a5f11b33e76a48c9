"""The verdict cache behind `GET /v1/verdict`: pre-serialised answers, the fast path, bounds, other processes."""

from __future__ import annotations

import asyncio
from collections.abc import Callable
from pathlib import Path
from typing import Any

import pytest
from api_doubles import AUTH, FakeChecker, TestClient, running_app, settings_for

from rxcheck.api.cache import CacheKey, VerdictCache
from rxcheck.api.models import CacheInfo, VerdictResponse
from rxcheck.api.storage.sqlite import SQLiteStorage
from rxcheck.api.verdicts import VerdictService
from rxcheck.result import Result

KEY = CacheKey("pharmacy.example", "auto", "test")


def _result(url: str = "https://pharmacy.example/", verdict: str = "legitimate", at: str = "2026-01-01") -> Result:
    return Result(url=url, verdict=verdict, risk_score=0, jurisdiction="GB", rules_version="test", checked_at=at)


def test_a_hit_is_the_same_json_as_the_model_would_write(client: TestClient) -> None:
    first = client.get("/v1/verdict", params={"url": "rogue-pills.example"})
    hit = client.get("/v1/verdict", params={"url": "http://www.rogue-pills.example/"})  # another URL of the site

    result = Result.model_validate({k: v for k, v in first.json().items() if k != "cache"})
    expected = VerdictResponse.model_construct(
        **dict(result.model_copy(update={"url": "http://www.rogue-pills.example/"})),
        cache=CacheInfo(hit=True, age_s=0, max_age_s=24 * 3600),
    ).model_dump_json()
    assert hit.content == expected.encode()
    assert first.content != hit.content and first.json()["cache"]["hit"] is False


def _routed_lookups(monkeypatch: pytest.MonkeyPatch) -> list[str]:
    """The URLs `VerdictService.lookup` is called with from now on: the requests the fast path left to the route."""
    routed: list[str] = []
    lookup = VerdictService.lookup

    async def counted(self: VerdictService, url: str, **kwargs: Any) -> Any:
        routed.append(url)
        return await lookup(self, url, **kwargs)

    monkeypatch.setattr(VerdictService, "lookup", counted)
    return routed


def _headers(response: Any) -> dict[str, str]:
    return {k: v for k, v in response.headers.items() if k != "date"}


@pytest.mark.parametrize(
    ("cors", "origin"),
    [
        ({}, None),
        ({}, "https://a.example"),
        ({"cors_origins": ("https://a.example",)}, "https://a.example"),
        ({"cors_origins": ("https://a.example",)}, "https://b.example"),
        ({"cors_origins": (), "cors_origin_regex": r"chrome-extension://\w+"}, "chrome-extension://abc"),
        ({"cors_origins": ()}, "chrome-extension://abc"),
    ],
)
def test_the_fast_path_answers_as_the_route_does(
    make_client: Callable[..., TestClient], monkeypatch: pytest.MonkeyPatch, cors: dict[str, Any], origin: str | None
) -> None:
    client = make_client(**cors)
    client.get("/v1/verdict", params={"url": "pharmacy.example"})
    routed_lookups = _routed_lookups(monkeypatch)
    headers = {"Origin": origin} if origin else {}

    fast = client.get("/v1/verdict", params={"url": "pharmacy.example"}, headers=headers)
    # An unknown parameter leaves the request to FastAPI's route, which ignores it.
    routed = client.get("/v1/verdict", params={"url": "pharmacy.example", "x": "1"}, headers=headers)

    assert routed_lookups == ["pharmacy.example"]  # the first was answered before the route
    assert fast.status_code == routed.status_code == 200
    assert fast.content == routed.content
    assert list(_headers(fast).items()) == list(_headers(routed).items())
    assert fast.headers["cache-control"] == "public, max-age=86400"
    assert fast.headers["x-content-type-options"] == "nosniff"
    assert fast.headers["vary"] == "Origin"


def test_the_fast_path_refuses_as_the_route_does(
    make_client: Callable[..., TestClient], monkeypatch: pytest.MonkeyPatch
) -> None:
    client = make_client(ip_rate_per_min=1, ip_burst=1, cors_origins=("https://a.example",))
    origin = {"Origin": "https://a.example"}
    assert client.get("/v1/verdict", params={"url": "pharmacy.example"}).status_code == 200
    routed_lookups = _routed_lookups(monkeypatch)

    fast = client.get("/v1/verdict", params={"url": "pharmacy.example"}, headers=origin)  # a hit, over the limit
    routed = client.get("/v1/verdict", params={"url": "other.example"}, headers=origin)  # a miss, over the limit

    assert routed_lookups == []  # the rate limit refused the miss before the route looked it up
    assert fast.status_code == routed.status_code == 429
    assert fast.content.replace(b"retry in 60", b"") == routed.content.replace(b"retry in 60", b"")
    assert _headers(fast).keys() == _headers(routed).keys()
    assert fast.headers["access-control-allow-origin"] == "https://a.example"


def test_hits_the_other_layers_would_refuse_are_left_to_them(
    make_client: Callable[..., TestClient], monkeypatch: pytest.MonkeyPatch
) -> None:
    client = make_client(max_headers=20, max_body_bytes=100)
    client.get("/v1/verdict", params={"url": "pharmacy.example"})
    routed_lookups = _routed_lookups(monkeypatch)
    params = {"url": "pharmacy.example"}

    too_many = client.get("/v1/verdict", params=params, headers={f"x-{i}": "a" for i in range(30)})
    too_large = client.request("GET", "/v1/verdict", params=params, content=b"x" * 101)
    with_body = client.request("GET", "/v1/verdict", params=params, content=b"x" * 10)

    assert too_many.status_code == 431
    assert too_large.status_code == 413
    assert with_body.status_code == 200 and with_body.json()["cache"]["hit"] is True
    assert routed_lookups == ["pharmacy.example"]  # only the one with a small body reached the route


def test_invalid_requests_still_get_the_routes_errors(client: TestClient) -> None:
    client.get("/v1/verdict", params={"url": "pharmacy.example"})

    assert client.get("/v1/verdict", params={"url": "pharmacy.example", "jurisdiction": "XX"}).status_code == 422
    assert client.get("/v1/verdict", params={"url": "pharmacy.example", "fresh": "maybe"}).status_code == 422
    assert client.get("/v1/verdict", params={"url": "http://10.0.0.1/"}).status_code == 400
    assert client.get("/v1/verdict", params={"url": ""}).status_code == 422


def test_a_hit_under_a_key_requirement_needs_the_key(make_client: Callable[..., TestClient]) -> None:
    client = make_client(verdict_requires_key=True)
    assert client.get("/v1/verdict", params={"url": "pharmacy.example"}, headers=AUTH).status_code == 200

    missing = client.get("/v1/verdict", params={"url": "pharmacy.example"})
    hit = client.get("/v1/verdict", params={"url": "pharmacy.example"}, headers=AUTH)

    assert missing.status_code == 401
    assert hit.json()["cache"]["hit"] is True
    assert hit.headers["cache-control"].startswith("private, ")


def test_hits_are_charged_once_to_the_request_rate_limit(make_client: Callable[..., TestClient]) -> None:
    client = make_client(ip_rate_per_min=6, ip_burst=3)

    codes = [client.get("/v1/verdict", params={"url": "pharmacy.example"}).status_code for _ in range(4)]
    refused = client.get("/v1/verdict", params={"url": "pharmacy.example"})

    assert codes == [200, 200, 200, 429]
    assert refused.json()["error"]["code"] == "rate_limited"
    assert refused.headers["retry-after"] == "10"
    assert refused.headers["x-content-type-options"] == "nosniff"


async def test_a_burst_of_cached_lookups_is_answered_under_the_default_limits(tmp_path: Path) -> None:
    defaults = {"ip_rate_per_min": 6000, "key_rate_per_min": 12000, "crawl_ip_rate_per_min": 6}
    checker = FakeChecker()
    async with running_app(settings_for(tmp_path, **defaults), checker) as http:
        sites = [f"shop{i}.example" for i in range(4)]
        for site in sites:
            assert (await http.get("/v1/verdict", params={"url": site})).status_code == 200

        burst = await asyncio.gather(*(http.get("/v1/verdict", params={"url": sites[i % 4]}) for i in range(200)))
        fresh = [(await http.get("/v1/verdict", params={"url": sites[0], "fresh": "true"})).status_code for _ in "ab"]

    assert [r.status_code for r in burst] == [200] * 200
    assert fresh == [200, 429]  # crawls still limited: 4 warm-ups and 1 fresh use the burst of 5


def test_a_fresh_check_replaces_the_cached_answer(client: TestClient, checker: FakeChecker) -> None:
    client.get("/v1/verdict", params={"url": "pharmacy.example"})
    client.app.state.services.verdicts.cache.clock = lambda: 2e9  # type: ignore[attr-defined]
    fresh = client.get("/v1/verdict", params={"url": "pharmacy.example", "fresh": "true"}).json()
    hit = client.get("/v1/verdict", params={"url": "pharmacy.example"}).json()

    assert hit["cache"]["hit"] is True
    assert hit["checked_at"] == fresh["checked_at"]
    assert len(checker.calls) == 2


async def test_memory_is_bounded_by_bytes_least_recent_first(tmp_path: Path) -> None:
    store = await SQLiteStorage.open(tmp_path / "c.sqlite")
    try:
        size = len(_result("https://a0.example/").model_dump_json())
        cache = VerdictCache(store, ttl_s=60, unreachable_ttl_s=60, memory_entries=100, memory_bytes=3 * size + 10)
        keys = [CacheKey(f"a{i}.example", "auto", "test") for i in range(5)]
        for i, key in enumerate(keys[:3]):
            await cache.put(key, _result(f"https://a{i}.example/"))
        assert cache.peek(keys[0]) is not None  # now the most recent
        for i, key in enumerate(keys[3:], start=3):
            await cache.put(key, _result(f"https://a{i}.example/"))

        assert len(cache) == 3 and cache.memory_bytes <= 3 * size + 10
        assert [cache.peek(k) is not None for k in keys] == [True, False, False, True, True]
        assert (await cache.get(keys[1])) is not None  # still in the database
    finally:
        await store.close()


async def test_a_verdict_stored_by_another_process_is_served_within_recheck_s(tmp_path: Path) -> None:
    store = await SQLiteStorage.open(tmp_path / "shared.sqlite")
    store.shared = True  # as PostgreSQL: two processes' caches over one database
    now = [0.0]
    try:
        options = {"ttl_s": 3600, "unreachable_ttl_s": 60, "memory_entries": 10, "recheck_s": 5.0}
        here, there = (VerdictCache(store, **options, monotonic=lambda: now[0]) for _ in range(2))  # type: ignore[arg-type]
        await here.put(KEY, _result(at="old"))
        await there.put(KEY, _result(at="new"))

        now[0] = 4.0
        assert here.peek(KEY) is not None and here.peek(KEY).result.checked_at == "old"  # type: ignore[union-attr]
        now[0] = 5.0
        assert here.peek(KEY) is None  # due for a look at the database: the slow path asks it
        entry = await here.get(KEY)
        assert entry is not None and entry.result.checked_at == "new"
        assert here.peek(KEY) is entry
    finally:
        await store.close()


async def test_an_expired_verdict_is_never_served_from_memory(tmp_path: Path) -> None:
    store = await SQLiteStorage.open(tmp_path / "c.sqlite")
    clock = [1000.0]
    try:
        cache = VerdictCache(store, ttl_s=60, unreachable_ttl_s=60, memory_entries=10, clock=lambda: clock[0])
        await cache.put(KEY, _result())
        clock[0] += 59
        assert cache.peek(KEY) is not None
        clock[0] += 1
        assert cache.peek(KEY) is None and await cache.get(KEY) is None
    finally:
        await store.close()
