"""`check`, `audit` and the API against the hostile farm: each misbehaving server gives its own typed error, never a
traceback, and a tarpit hit by many checks at once does not hold up a healthy site.

No test here can send a packet off loopback, even with a broken guard: see `conftest.py` (`loopback_only`).
"""

from __future__ import annotations

import asyncio
import json

import pytest
from hostile_farm import EXPECTED, FROM_PUBLIC, PHARMACY_VERDICTS, PUBLIC_IP, Farm
from typer.testing import CliRunner

from rxcheck.cli import app
from rxcheck.fetch.limits import ANY_PORT, FetchLimits
from rxcheck.fetch.live import LiveFetcher
from rxcheck.pipeline import Checker
from rxcheck.result import Result

# Short deadlines keep the suite fast; the farm's drip and tarpit send more often than the read timeout, so only
# the total page deadline can stop them.
LIMITS = FetchLimits(page_deadline=1.5, read_timeout=1.0, connect_timeout=1.0, max_retry_wait=0.05, ports=ANY_PORT)
CLI_LIMITS = ["--allow-private", "--page-timeout", "1.5", "--site-timeout", "6"]
LEAKS = ("Traceback", "deque", "bytearray", "Error:", "\n")


@pytest.fixture(scope="module")
def site_checker() -> Checker:
    return Checker(deadline=6.0)


def outcome(result: Result) -> str:
    return result.error.type if result.error else result.verdict


def assert_clean(result: Result) -> None:
    """A one-line message in the user's terms: no traceback, no internal exception text."""
    if result.error is not None:
        assert not any(leak in result.error.message for leak in LEAKS), result.error.message


@pytest.mark.parametrize("name", sorted(EXPECTED))
async def test_check_gives_each_hostile_server_its_typed_error(farm: Farm, site_checker: Checker, name: str) -> None:
    async with LiveFetcher(limits=LIMITS, allow_private=True) as fetcher:
        result = await site_checker.check(farm.urls[name], fetcher)
    assert outcome(result) == EXPECTED[name], result.error
    assert_clean(result)
    if name in ("status_500", "status_503", "status_429"):
        assert result.error is not None and result.error.status == int(name[-3:])


async def test_healthy_site_is_judged_a_pharmacy(farm: Farm, site_checker: Checker) -> None:
    async with LiveFetcher(limits=LIMITS, allow_private=True) as fetcher:
        result = await site_checker.check(farm.urls["healthy"], fetcher)
    assert result.verdict in PHARMACY_VERDICTS, result.error
    assert len(result.pages) > 1


async def test_tarpit_hit_by_many_checks_does_not_hold_up_a_healthy_site(farm: Farm, site_checker: Checker) -> None:
    finished: list[str] = []
    limits = FetchLimits(page_deadline=4.0, read_timeout=2.0, ports=ANY_PORT)

    async def check(name: str) -> Result:
        result = await site_checker.check(farm.urls[name], fetcher)
        finished.append(name)
        return result

    async with LiveFetcher(limits=limits, allow_private=True) as fetcher:
        tarpits = [asyncio.create_task(check("tarpit")) for _ in range(40)]
        await asyncio.sleep(0.2)  # every tarpit check has started and waits for its slot or its answer
        healthy = await check("healthy")
        assert finished == ["healthy"]  # judged while all 40 tarpit checks were still held
        results = await asyncio.gather(*tarpits)
    assert healthy.verdict in PHARMACY_VERDICTS
    assert {outcome(r) for r in results} == {"timeout"}


@pytest.mark.parametrize("name", sorted(FROM_PUBLIC))
async def test_redirect_from_a_public_address_to_a_private_one_is_refused_even_with_allow_private(
    farm: Farm, site_checker: Checker, dns: dict[str, list[str]], public_route: dict[int, int], name: str
) -> None:
    dns["public-shop.example"] = [PUBLIC_IP]
    public_route[80] = int(farm.urls[name].rsplit(":", 1)[1].strip("/"))
    async with LiveFetcher(limits=LIMITS, allow_private=True) as fetcher:
        result = await site_checker.check("http://public-shop.example/", fetcher)
    assert outcome(result) == FROM_PUBLIC[name]
    assert result.error is not None and "after a redirect from a public address" in result.error.message
    assert "127.0.0.1" not in result.error.message  # which rule refused, not what the name resolves to


def test_cli_audit_over_the_whole_farm_gives_one_typed_line_per_url(farm: Farm, tmp_path) -> None:
    names = [*sorted(EXPECTED), "healthy"]
    urls = tmp_path / "urls.txt"
    urls.write_text("".join(farm.urls[name] + "\n" for name in names))
    out = tmp_path / "out.jsonl"
    result = CliRunner().invoke(
        app, ["audit", str(urls), "--out", str(out), "--concurrency", str(len(names)), *CLI_LIMITS]
    )
    assert result.exit_code == 0, result.output
    assert "Traceback" not in result.output
    lines = [json.loads(line) for line in out.read_text().splitlines()]
    by_url = {line["url"]: line for line in lines}
    assert len(lines) == len(by_url) == len(names)
    for name in names:
        line = by_url[farm.urls[name]]
        got = line["error"]["type"] if line["error"] else line["verdict"]
        if name == "healthy":
            assert got in PHARMACY_VERDICTS
        else:
            assert got == EXPECTED[name], (name, line["error"])


@pytest.mark.parametrize("name", ["reset_mid_body", "not_http", "gzip_bomb", "to_link_local"])
def test_cli_check_reports_a_hostile_server_in_one_line(farm: Farm, name: str) -> None:
    result = CliRunner().invoke(app, ["check", farm.urls[name], "--json", *CLI_LIMITS])
    assert result.exit_code == 0, result.output
    body = json.loads(result.output)
    assert body["verdict"] == "unreachable" and body["error"]["type"] == EXPECTED[name]
    assert "Traceback" not in result.output


def test_api_answers_each_hostile_server_with_a_typed_result(farm: Farm, tmp_path) -> None:
    import warnings

    from starlette.exceptions import StarletteDeprecationWarning

    from rxcheck.api.app import create_app
    from rxcheck.api.settings import Settings

    settings = Settings(
        db_path=tmp_path / "api.sqlite",
        allow_private_addresses=True,
        page_deadline_s=1.5,
        verdict_deadline_s=8.0,
        crawl_ip_rate_per_min=0,  # eight fresh crawls from one address: past the default crawl burst
    )
    names = ["slow_drip", "reset_mid_body", "huge_headers", "gzip_bomb", "redirect_chain", "to_link_local", "pdf"]
    with warnings.catch_warnings():
        warnings.simplefilter("ignore", StarletteDeprecationWarning)  # Starlette prefers httpx2; httpx works
        from fastapi.testclient import TestClient
    with TestClient(create_app(settings)) as client:
        for name in names:
            response = client.get("/v1/verdict", params={"url": farm.urls[name], "fresh": "true"})
            assert response.status_code == 200, response.text
            body = response.json()
            assert (body["verdict"], body["error"]["type"]) == ("unreachable", EXPECTED[name])
        healthy = client.get("/v1/verdict", params={"url": farm.urls["healthy"], "fresh": "true"}).json()
    assert healthy["verdict"] in PHARMACY_VERDICTS
