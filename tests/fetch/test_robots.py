import asyncio
from pathlib import Path

import pytest
from pytest_httpx import HTTPXMock

from rxcheck.errors import FetchError, FetchTimeout, NotInArchive
from rxcheck.fetch import Exchange, FetchResult
from rxcheck.fetch.archive import ArchiveFetcher, RecordingFetcher, WarcWriter
from rxcheck.fetch.live import LiveFetcher
from rxcheck.fetch.robots import RobotsPolicy

ROBOTS = b"""\
User-agent: *
Disallow: /private/
Crawl-delay: 2

User-agent: rxcheck
Disallow: /checkout
Allow: /checkout/faq
Crawl-delay: 1.5
"""


@pytest.fixture(autouse=True)
def no_environment_proxies(monkeypatch: pytest.MonkeyPatch) -> None:
    for name in ("HTTP_PROXY", "HTTPS_PROXY", "ALL_PROXY", "NO_PROXY"):
        monkeypatch.delenv(name, raising=False)
        monkeypatch.delenv(name.lower(), raising=False)


class FakeFetcher:
    """Answers from a dict of URL -> (status, content type, body) or exception; counts fetches."""

    def __init__(self, answers: dict[str, tuple[int, str, bytes] | Exception], delay: float = 0) -> None:
        self.answers = answers
        self.delay = delay
        self.calls: list[str] = []

    async def fetch(self, url: str) -> FetchResult:
        self.calls.append(url)
        await asyncio.sleep(self.delay)
        answer = self.answers.get(url, NotInArchive(f"not in the archive: {url}"))
        if isinstance(answer, Exception):
            raise answer
        status, content_type, body = answer
        headers = (("Content-Type", content_type),) if content_type else ()
        return FetchResult(url, (Exchange(url, status, headers, body),))

    async def aclose(self) -> None:
        pass


async def test_allow_and_deny() -> None:
    fetcher = FakeFetcher({"https://shop.example/robots.txt": (200, "text/plain", ROBOTS)})
    robots = RobotsPolicy(fetcher)
    assert await robots.allowed("https://shop.example/")
    assert await robots.allowed("https://shop.example/private/x")  # our group replaces the * group
    assert not await robots.allowed("https://shop.example/checkout")
    assert not await robots.allowed("https://shop.example/checkout/pay?x=1")
    assert await robots.allowed("https://shop.example/checkout/faq")
    assert await robots.crawl_delay("https://shop.example/") == 1.5
    assert fetcher.calls == ["https://shop.example/robots.txt"]  # fetched once per origin

    other_agent = RobotsPolicy(fetcher, user_agent_token="otherbot")
    assert not await other_agent.allowed("https://shop.example/private/x")
    assert await other_agent.allowed("https://shop.example/checkout")
    assert await other_agent.crawl_delay("https://shop.example/") == 2.0


@pytest.mark.parametrize(
    "answer",
    [
        (404, "text/html", b"<h1>Not found</h1>"),
        (401, "text/plain", b"User-agent: *\nDisallow: /"),
        (403, "text/plain", b"User-agent: *\nDisallow: /"),
        (500, "text/plain", b"User-agent: *\nDisallow: /"),
        (200, "text/html", b"<html>User-agent: *\nDisallow: /</html>"),  # soft 404 page
        (200, "application/octet-stream", b"User-agent: *\nDisallow: /"),
        NotInArchive("not in the archive: https://shop.example/robots.txt"),
        FetchTimeout("timed out"),
        FetchError("could not connect to shop.example: connection refused"),
    ],
)
async def test_missing_or_unusable_robots_allows_everything(
    answer: tuple[int, str, bytes] | Exception,
) -> None:
    robots = RobotsPolicy(FakeFetcher({"https://shop.example/robots.txt": answer}))
    assert await robots.allowed("https://shop.example/anything")
    assert await robots.crawl_delay("https://shop.example/anything") is None


async def test_robots_without_content_type_and_with_bom_is_used() -> None:
    body = b"\xef\xbb\xbfUser-agent: *\nDisallow: /"
    robots = RobotsPolicy(FakeFetcher({"https://shop.example/robots.txt": (200, "", body)}))
    assert not await robots.allowed("https://shop.example/page")


async def test_origins_are_separate() -> None:
    fetcher = FakeFetcher(
        {
            "https://shop.example/robots.txt": (200, "text/plain", b"User-agent: *\nDisallow: /"),
            "http://shop.example:8080/robots.txt": (200, "text/plain", b"User-agent: *\nDisallow:"),
        }
    )
    robots = RobotsPolicy(fetcher)
    assert not await robots.allowed("https://SHOP.example:443/page")
    assert await robots.allowed("http://shop.example:8080/page")
    assert await robots.allowed("http://www.shop.example/page")  # no robots there
    assert fetcher.calls == [
        "https://shop.example/robots.txt",
        "http://shop.example:8080/robots.txt",
        "http://www.shop.example/robots.txt",
    ]


async def test_concurrent_calls_share_one_fetch() -> None:
    fetcher = FakeFetcher({"https://shop.example/robots.txt": (200, "text/plain", ROBOTS)}, delay=0.02)
    robots = RobotsPolicy(fetcher)
    answers = await asyncio.gather(*(robots.allowed(f"https://shop.example/checkout/{i}") for i in range(20)))
    assert answers == [False] * 20
    assert fetcher.calls == ["https://shop.example/robots.txt"]


async def test_cancelled_caller_does_not_cancel_the_shared_fetch() -> None:
    fetcher = FakeFetcher({"https://shop.example/robots.txt": (200, "text/plain", ROBOTS)}, delay=0.05)
    robots = RobotsPolicy(fetcher)
    first = asyncio.ensure_future(robots.allowed("https://shop.example/checkout"))
    second = asyncio.ensure_future(robots.allowed("https://shop.example/checkout"))
    await asyncio.sleep(0.01)
    first.cancel()
    assert await second is False
    assert len(fetcher.calls) == 1


async def test_cache_is_bounded() -> None:
    fetcher = FakeFetcher({})
    robots = RobotsPolicy(fetcher, cache_size=2)
    for host in ("a", "b", "a", "c", "a", "b"):
        await robots.allowed(f"https://{host}.example/")
    # a, b cached; a used again (most recent); c evicts b; a still cached; b fetched again
    assert [url.split("/")[2] for url in fetcher.calls] == [
        "a.example",
        "b.example",
        "c.example",
        "b.example",
    ]
    assert len(robots._cache) == 2


async def test_robots_is_recorded_and_replayable(httpx_mock: HTTPXMock, tmp_path: Path) -> None:
    httpx_mock.add_response(url="https://shop.example/robots.txt", text="User-agent: *\nDisallow: /admin")
    path = tmp_path / "run.warc.gz"
    with WarcWriter(path) as writer:
        async with RecordingFetcher(LiveFetcher(), writer) as recorder:
            assert not await RobotsPolicy(recorder).allowed("https://shop.example/admin")
    async with ArchiveFetcher(path) as archive:
        replayed = RobotsPolicy(archive)
        assert not await replayed.allowed("https://shop.example/admin")
        assert await replayed.allowed("https://shop.example/")


class HangingFetcher:
    """Never answers; records the fetches that were cancelled."""

    def __init__(self) -> None:
        self.cancelled: list[str] = []

    async def fetch(self, url: str) -> FetchResult:
        try:
            await asyncio.Event().wait()
        except asyncio.CancelledError:
            self.cancelled.append(url)
            raise
        raise AssertionError("unreachable")

    async def aclose(self) -> None:
        pass


async def test_a_robots_txt_that_never_answers_counts_as_none_after_its_deadline() -> None:
    fetcher = HangingFetcher()
    robots = RobotsPolicy(fetcher, deadline=0.05)
    assert await robots.allowed("https://tarpit.example/")
    assert fetcher.cancelled == ["https://tarpit.example/robots.txt"]


async def test_aclose_cancels_the_loads_still_running() -> None:
    fetcher = HangingFetcher()
    robots = RobotsPolicy(fetcher, deadline=3600)
    waiter = asyncio.create_task(robots.allowed("https://tarpit.example/"))
    await asyncio.sleep(0.01)
    waiter.cancel()  # the check gave up: shield keeps the shared load running...
    await asyncio.gather(waiter, return_exceptions=True)
    assert fetcher.cancelled == []
    await robots.aclose()  # ...until the check that owns the policy ends
    assert fetcher.cancelled == ["https://tarpit.example/robots.txt"]


async def test_a_crawl_past_its_deadline_leaves_nothing_running() -> None:
    from rxcheck.crawl import Crawler, CrawlSettings
    from rxcheck.engine.loader import load_pack

    fetcher = HangingFetcher()
    crawler = Crawler(fetcher, load_pack().roles, CrawlSettings(deadline=0.1))
    with pytest.raises(FetchTimeout):
        await crawler.crawl("https://tarpit.example/", "https://tarpit.example/")
    assert fetcher.cancelled == ["https://tarpit.example/robots.txt"]
    assert asyncio.all_tasks() == {asyncio.current_task()}
