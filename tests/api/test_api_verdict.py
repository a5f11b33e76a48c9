"""`GET /v1/verdict`: results, cache, refusals, deadline, single-flight, load."""

from __future__ import annotations

import asyncio
import time
from collections.abc import Callable
from pathlib import Path

import pytest
from api_doubles import AUTH, FakeChecker, TestClient, running_app, settings_for

from rxcheck.result import Result


def test_verdict_is_a_result_with_cache_info(client: TestClient, checker: FakeChecker) -> None:
    response = client.get("/v1/verdict", params={"url": "rogue-pills.example"})

    assert response.status_code == 200
    body = response.json()
    assert body["cache"] == {"hit": False, "age_s": 0, "max_age_s": 24 * 3600}
    result = Result.model_validate({k: v for k, v in body.items() if k != "cache"})
    assert result.verdict == "rogue"
    assert result.url == "https://rogue-pills.example/"
    assert result.findings[0].evidence[0].snippet == "No prescription needed!"
    assert checker.calls == [("https://rogue-pills.example/", "auto")]


def test_second_lookup_is_a_cache_hit_with_its_age(client: TestClient, checker: FakeChecker) -> None:
    first = client.get("/v1/verdict", params={"url": "https://www.pharmacy.example/"}).json()
    client.app.state.services.verdicts.cache.clock = lambda: time.time() + 42  # type: ignore[attr-defined]

    # Same site: without www., other scheme, trailing path slash: one cache entry.
    second = client.get("/v1/verdict", params={"url": "http://pharmacy.example"}).json()

    assert first["cache"]["hit"] is False
    assert second["cache"] == {"hit": True, "age_s": 42, "max_age_s": 24 * 3600}
    assert second["verdict"] == first["verdict"] == "legitimate"
    assert len(checker.calls) == 1


def test_fresh_bypasses_the_cache_and_refreshes_it(client: TestClient, checker: FakeChecker) -> None:
    client.get("/v1/verdict", params={"url": "pharmacy.example"})
    fresh = client.get("/v1/verdict", params={"url": "pharmacy.example", "fresh": "true"}).json()
    again = client.get("/v1/verdict", params={"url": "pharmacy.example"}).json()

    assert fresh["cache"]["hit"] is False
    assert again["cache"]["hit"] is True
    assert len(checker.calls) == 2


def test_jurisdiction_is_part_of_the_key_and_normalised(client: TestClient, checker: FakeChecker) -> None:
    gb = client.get("/v1/verdict", params={"url": "pharmacy.example", "jurisdiction": "gb"}).json()
    us = client.get("/v1/verdict", params={"url": "pharmacy.example", "jurisdiction": "US"}).json()

    assert (gb["jurisdiction"], us["jurisdiction"]) == ("GB", "US")
    assert checker.calls == [("https://pharmacy.example/", "GB"), ("https://pharmacy.example/", "US")]


def test_unknown_jurisdiction_is_a_validation_error(client: TestClient) -> None:
    response = client.get("/v1/verdict", params={"url": "pharmacy.example", "jurisdiction": "XX"})

    assert response.status_code == 422
    error = response.json()["error"]
    assert error["code"] == "validation_error"
    assert error["message"].startswith("query.jurisdiction:")


def test_unreachable_verdicts_are_cached_briefly(client: TestClient) -> None:
    body = client.get("/v1/verdict", params={"url": "dead-shop.example"}).json()

    assert body["verdict"] == "unreachable"
    assert body["cache"]["max_age_s"] == 15 * 60


def test_cache_survives_a_restart(make_client: Callable[..., TestClient], checker: FakeChecker) -> None:
    first = make_client()
    first.get("/v1/verdict", params={"url": "pharmacy.example"})
    first.__exit__(None, None, None)

    other_checker = FakeChecker()
    second = make_client(site_checker=other_checker)
    body = second.get("/v1/verdict", params={"url": "pharmacy.example"}).json()

    assert body["cache"]["hit"] is True
    assert other_checker.calls == []


def test_a_new_rule_pack_does_not_serve_old_verdicts(make_client: Callable[..., TestClient]) -> None:
    make_client().get("/v1/verdict", params={"url": "pharmacy.example"})
    newer = FakeChecker(version="test-pack-2")

    body = make_client(site_checker=newer).get("/v1/verdict", params={"url": "pharmacy.example"}).json()

    assert body["cache"]["hit"] is False
    assert body["rules_version"] == "test-pack-2"


FORBIDDEN = [
    ("http://127.0.0.1/", "blocked_address", "127.0.0.1"),
    ("http://localhost/", "blocked_address", "localhost"),
    ("http://foo.localhost/", "blocked_address", "foo.localhost"),
    ("http://10.0.0.1/", "blocked_address", "10.0.0.1"),
    ("http://172.16.0.1/", "blocked_address", "172.16.0.1"),
    ("http://192.168.1.1/", "blocked_address", "192.168.1.1"),
    ("http://169.254.169.254/latest/meta-data/", "blocked_address", "169.254.169.254"),
    ("http://0.0.0.0/", "blocked_address", "0.0.0.0"),
    ("http://[::1]/", "blocked_address", "::1"),
    ("http://[::ffff:127.0.0.1]/", "blocked_address", "127.0.0.1"),
    ("http://2130706433/", "blocked_address", "127.0.0.1"),
    ("http://0177.0.0.1/", "blocked_address", "127.0.0.1"),
    ("http://0x7f000001/", "blocked_address", "127.0.0.1"),
    ("http://224.0.0.1/", "blocked_address", "224.0.0.1"),
    ("ftp://pharmacy.example/", "invalid_url", "ftp"),
    ("https://pharmacy.example/" + "a" * 3000, "invalid_url", "2048"),
]


@pytest.mark.parametrize(("url", "code", "named"), FORBIDDEN)
def test_forbidden_targets_are_refused_before_any_fetch(
    client: TestClient, checker: FakeChecker, fake_resolver: list[str], url: str, code: str, named: str
) -> None:
    response = client.get("/v1/verdict", params={"url": url})

    assert response.status_code == 400
    error = response.json()["error"]
    assert error["code"] == code
    assert named in error["message"]
    assert checker.calls == []
    assert fake_resolver == []  # refused from the URL's text alone


@pytest.mark.parametrize("host", ["rebind.example", "mixed.example"])
def test_a_name_resolving_to_a_private_address_is_refused(
    client: TestClient, checker: FakeChecker, fake_resolver: list[str], host: str
) -> None:
    response = client.get("/v1/verdict", params={"url": f"https://{host}/"})

    assert response.status_code == 400
    error = response.json()["error"]
    assert error["code"] == "blocked_address"
    assert host in error["message"]
    assert fake_resolver == [host]
    assert checker.calls == []


def test_replay_mode_refuses_forbidden_literals_but_resolves_nothing(
    make_client: Callable[..., TestClient], checker: FakeChecker, fake_resolver: list[str], tmp_path: Path
) -> None:
    client = make_client(replay=tmp_path / "sites.warc.gz")

    refused = client.get("/v1/verdict", params={"url": "http://10.0.0.1/"})
    served = client.get("/v1/verdict", params={"url": "https://rebind.example/"})

    assert refused.status_code == 400
    assert served.status_code == 200
    assert fake_resolver == []


def test_allow_private_addresses_lets_local_targets_through(
    make_client: Callable[..., TestClient], checker: FakeChecker
) -> None:
    client = make_client(allow_private_addresses=True)

    response = client.get("/v1/verdict", params={"url": "http://127.0.0.1:8080/"})

    assert response.status_code == 200
    assert checker.calls == [("http://127.0.0.1:8080/", "auto")]


def test_past_the_deadline_the_answer_is_504(make_client: Callable[..., TestClient]) -> None:
    client = make_client(site_checker=FakeChecker(slow_s=2.0), verdict_deadline_s=0.2)

    response = client.get("/v1/verdict", params={"url": "pharmacy.example"})

    assert response.status_code == 504
    error = response.json()["error"]
    assert error["code"] == "deadline_exceeded"
    assert "https://pharmacy.example/" in error["message"]


def test_verdict_key_requirement(make_client: Callable[..., TestClient]) -> None:
    client = make_client(verdict_requires_key=True)
    params = {"url": "pharmacy.example"}

    missing = client.get("/v1/verdict", params=params)
    wrong = client.get("/v1/verdict", params=params, headers={"Authorization": "Bearer nope"})
    right = client.get("/v1/verdict", params=params, headers=AUTH)

    assert (missing.status_code, wrong.status_code, right.status_code) == (401, 401, 200)
    assert missing.json()["error"]["code"] == "unauthorized"
    assert missing.headers["www-authenticate"] == "Bearer"


def test_an_unexpected_checker_failure_is_a_500_json_error(
    make_client: Callable[..., TestClient], caplog: pytest.LogCaptureFixture
) -> None:
    client = make_client(raise_errors=False)

    response = client.get("/v1/verdict", params={"url": "boom.example"})

    assert response.status_code == 500
    assert response.json() == {
        "error": {
            "code": "internal_error",
            "message": "internal server error; the server log has the details",
        }
    }
    assert "Traceback" not in response.text
    assert "the checker broke" in caplog.text


async def test_concurrent_fresh_lookups_share_one_crawl(tmp_path: Path) -> None:
    checker = FakeChecker(slow_s=0.3)
    async with running_app(settings_for(tmp_path), checker) as http:
        params = {"url": "pharmacy.example", "fresh": "true"}
        first, second = await asyncio.gather(
            http.get("/v1/verdict", params=params),
            http.get("/v1/verdict", params={**params, "url": "https://www.pharmacy.example/"}),
        )

    assert first.status_code == second.status_code == 200
    assert len(checker.calls) == 1
    assert first.json()["checked_at"] == second.json()["checked_at"]


async def test_200_concurrent_cached_lookups_all_succeed(tmp_path: Path) -> None:
    checker = FakeChecker()
    async with running_app(settings_for(tmp_path), checker) as http:
        sites = [f"shop{i}.example" for i in range(20)]
        for site in sites:
            assert (await http.get("/v1/verdict", params={"url": site})).status_code == 200

        loop = asyncio.get_running_loop()
        started = loop.time()
        responses = await asyncio.gather(
            *(http.get("/v1/verdict", params={"url": sites[i % len(sites)]}) for i in range(200))
        )
        elapsed = loop.time() - started

    assert [r.status_code for r in responses] == [200] * 200
    assert all(r.json()["cache"]["hit"] for r in responses)
    assert len(checker.calls) == len(sites)
    assert elapsed < 10  # generous: in-process, about 1-2 ms a request


@pytest.mark.parametrize("url", ["http://xn--a{b/", "http://ü{x/", "http://xn--a/"])
def test_undecodable_international_names_are_400_not_500(
    client: TestClient, checker: FakeChecker, fake_resolver: list[str], url: str
) -> None:
    response = client.get("/v1/verdict", params={"url": url})

    assert response.status_code == 400
    assert response.json()["error"]["code"] == "invalid_url"
    assert checker.calls == [] and fake_resolver == []


def test_a_port_other_than_80_or_443_is_refused(client: TestClient, checker: FakeChecker) -> None:
    response = client.get("/v1/verdict", params={"url": "http://pharmacy.example:22/"})

    assert response.status_code == 400
    assert "port 22" in response.json()["error"]["message"]
    assert checker.calls == []


async def test_one_client_has_at_most_checks_per_client_crawls_running(tmp_path: Path) -> None:
    class CountingChecker(FakeChecker):
        running = peak = 0

        async def check(self, url: str, fetcher: object, *, jurisdiction: str = "auto") -> Result:
            self.running += 1
            self.peak = max(self.peak, self.running)
            try:
                return await super().check(url, fetcher, jurisdiction=jurisdiction)
            finally:
                self.running -= 1

    checker = CountingChecker()
    settings = settings_for(tmp_path, checks_per_client=2)
    async with running_app(settings, checker) as http:
        requests = [http.get("/v1/verdict", params={"url": f"block-{n}.example", "fresh": "true"}) for n in range(6)]
        pending = asyncio.gather(*requests)
        while len(checker.calls) < 2:
            await asyncio.sleep(0.01)
        await asyncio.sleep(0.1)  # the other four have arrived and wait for a slot
        assert checker.running == 2
        checker.gate.set()
        responses = await pending
    assert [r.status_code for r in responses] == [200] * 6
    assert checker.peak == 2 and len(checker.calls) == 6
