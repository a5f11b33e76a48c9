import asyncio
import gzip
import socket
import zlib

import certifi
import httpx
import pytest
from pytest_httpx import HTTPXMock, IteratorStream

from rxcheck.errors import (
    BlockedAddress,
    FetchError,
    FetchTimeout,
    InvalidURL,
    ProtocolFailed,
    RedirectLoop,
    TooLarge,
)
from rxcheck.fetch import guard, partial_fetch
from rxcheck.fetch.limits import DEFAULT_USER_AGENT, FetchLimits
from rxcheck.fetch.live import LiveFetcher

PROXY_VARIABLES = ("HTTP_PROXY", "HTTPS_PROXY", "ALL_PROXY", "NO_PROXY")


@pytest.fixture(autouse=True)
def no_environment_proxies(monkeypatch: pytest.MonkeyPatch) -> None:
    for name in PROXY_VARIABLES:
        monkeypatch.delenv(name, raising=False)
        monkeypatch.delenv(name.lower(), raising=False)


@pytest.fixture
async def fetcher() -> LiveFetcher:
    async with LiveFetcher() as live:
        yield live


def test_limits_defaults() -> None:
    limits = FetchLimits()
    assert (limits.connect_timeout, limits.read_timeout, limits.site_deadline) == (5.0, 10.0, 60.0)
    assert (limits.max_body_bytes, limits.max_redirects, limits.per_host_concurrency) == (3_000_000, 5, 2)
    assert limits.user_agent.startswith("rxcheck/0.1 (+https://github.com/rxcheck/rxcheck")
    with pytest.raises(TypeError):
        FetchLimits(5.0)  # type: ignore[misc]  # keyword-only
    with pytest.raises(ValueError):
        FetchLimits(per_host_concurrency=0)


async def test_simple_fetch_sends_user_agent(httpx_mock: HTTPXMock, fetcher: LiveFetcher) -> None:
    httpx_mock.add_response(url="https://shop.example/", html="<html>hi</html>")
    result = await fetcher.fetch("HTTPS://Shop.Example")
    assert result.url == result.final_url == "https://shop.example/"
    assert result.status == 200
    assert result.body == b"<html>hi</html>"
    assert result.content_type == "text/html"
    assert not result.truncated
    request = httpx_mock.get_request()
    assert request is not None
    assert request.headers["User-Agent"] == DEFAULT_USER_AGENT
    assert request.method == "GET"


async def test_custom_user_agent(httpx_mock: HTTPXMock) -> None:
    httpx_mock.add_response(url="https://shop.example/", match_headers={"User-Agent": "test-agent/1"})
    async with LiveFetcher(limits=FetchLimits(user_agent="test-agent/1")) as live:
        assert (await live.fetch("https://shop.example/")).status == 200


async def test_redirect_chain_is_recorded(httpx_mock: HTTPXMock, fetcher: LiveFetcher) -> None:
    httpx_mock.add_response(url="http://shop.example/", status_code=301, headers={"Location": "https://shop.example/"})
    httpx_mock.add_response(url="https://shop.example/", status_code=302, headers={"Location": "/en/home?x=1"})
    httpx_mock.add_response(
        url="https://shop.example/en/home?x=1",
        status_code=303,
        headers={"Location": "https://WWW.Shop.Example:443/"},
    )
    httpx_mock.add_response(url="https://www.shop.example/", html="<p>home</p>")
    result = await fetcher.fetch("http://shop.example/")
    assert result.redirect_chain == [
        "http://shop.example/",
        "https://shop.example/",
        "https://shop.example/en/home?x=1",
        "https://www.shop.example/",
    ]
    assert [hop.status for hop in result.exchanges] == [301, 302, 303, 200]
    assert result.exchanges[1].header("location") == "/en/home?x=1"
    assert result.url == "http://shop.example/"
    assert result.final_url == "https://www.shop.example/"
    assert result.body == b"<p>home</p>"


async def test_redirect_without_location_is_final(httpx_mock: HTTPXMock, fetcher: LiveFetcher) -> None:
    httpx_mock.add_response(url="https://shop.example/", status_code=302)
    result = await fetcher.fetch("https://shop.example/")
    assert [hop.status for hop in result.exchanges] == [302]


async def test_redirect_cap(httpx_mock: HTTPXMock) -> None:
    for i in range(8):
        httpx_mock.add_response(
            url=f"https://shop.example/{i}",
            status_code=302,
            headers={"Location": f"/{i + 1}"},
            is_optional=True,
        )
    httpx_mock.add_response(url="https://shop.example/5", html="end", is_optional=True)
    async with LiveFetcher(limits=FetchLimits(max_redirects=5)) as live:
        with pytest.raises(FetchError, match=r"^too many redirects \(>5\) from https://shop\.example/0$") as caught:
            await live.fetch("https://shop.example/0")
    partial = partial_fetch(caught.value)
    assert partial is not None
    assert len(partial.exchanges) == 6  # the first request and 5 redirects followed
    assert partial.failed_url is None
    assert len(httpx_mock.get_requests()) == 6


async def test_exactly_max_redirects_is_fine(httpx_mock: HTTPXMock) -> None:
    for i in range(2):
        httpx_mock.add_response(url=f"https://shop.example/{i}", status_code=307, headers={"Location": f"/{i + 1}"})
    httpx_mock.add_response(url="https://shop.example/2", text="end")
    async with LiveFetcher(limits=FetchLimits(max_redirects=2)) as live:
        result = await live.fetch("https://shop.example/0")
    assert len(result.exchanges) == 3


async def test_redirect_to_other_scheme_is_refused(httpx_mock: HTTPXMock, fetcher: LiveFetcher) -> None:
    httpx_mock.add_response(url="https://shop.example/", status_code=302, headers={"Location": "ftp://shop.example/x"})
    with pytest.raises(FetchError, match="only http and https are followed") as caught:
        await fetcher.fetch("https://shop.example/")
    assert type(caught.value) is BlockedAddress
    partial = partial_fetch(caught.value)
    assert partial is not None and len(partial.exchanges) == 1


async def test_oversized_body_is_too_large(httpx_mock: HTTPXMock) -> None:
    chunks = [b"a" * 400] * 10
    httpx_mock.add_response(url="https://shop.example/big", stream=IteratorStream(chunks))
    httpx_mock.add_response(url="https://shop.example/exact", content=b"b" * 1000)
    async with LiveFetcher(limits=FetchLimits(max_body_bytes=1000)) as live:
        with pytest.raises(TooLarge, match="larger than 1,000 bytes"):
            await live.fetch("https://shop.example/big")
        exact = await live.fetch("https://shop.example/exact")
    assert exact.body == b"b" * 1000
    assert not exact.truncated


async def test_compressed_body_is_decoded_and_capped_after_decoding(httpx_mock: HTTPXMock) -> None:
    httpx_mock.add_response(
        url="https://shop.example/small",
        stream=IteratorStream([gzip.compress(b"x" * 3000)]),
        headers={"Content-Encoding": "gzip"},
    )
    httpx_mock.add_response(
        url="https://shop.example/bomb",
        stream=IteratorStream([gzip.compress(b"x" * 5000)]),
        headers={"Content-Encoding": "gzip"},
    )
    async with LiveFetcher(limits=FetchLimits(max_body_bytes=3000)) as live:
        result = await live.fetch("https://shop.example/small")
        with pytest.raises(TooLarge, match="once decompressed"):
            await live.fetch("https://shop.example/bomb")
    assert result.body == b"x" * 3000
    assert result.final.header("content-encoding") == "gzip"  # headers are kept as received


@pytest.mark.parametrize(
    ("exception", "message"),
    [
        (
            httpx.ReadTimeout("read timed out"),
            r"timed out waiting for shop\.example to respond \(after 10s\)",
        ),
        (httpx.ConnectTimeout("connect timed out"), r"timed out connecting to shop\.example \(after 5s\)"),
        (httpx.PoolTimeout("pool"), r"timed out fetching https://shop\.example/"),
    ],
)
async def test_timeouts(httpx_mock: HTTPXMock, fetcher: LiveFetcher, exception: Exception, message: str) -> None:
    httpx_mock.add_exception(exception, url="https://shop.example/")
    with pytest.raises(FetchTimeout, match=f"^{message}$"):
        await fetcher.fetch("https://shop.example/")


async def test_timeout_after_a_redirect_keeps_the_received_hops(httpx_mock: HTTPXMock, fetcher: LiveFetcher) -> None:
    httpx_mock.add_response(url="https://shop.example/", status_code=302, headers={"Location": "/slow"})
    httpx_mock.add_exception(httpx.ReadTimeout("slow"), url="https://shop.example/slow")
    with pytest.raises(FetchTimeout) as caught:
        await fetcher.fetch("https://shop.example/")
    partial = partial_fetch(caught.value)
    assert partial is not None
    assert [hop.url for hop in partial.exchanges] == ["https://shop.example/"]
    assert partial.failed_url == "https://shop.example/slow"


@pytest.mark.parametrize(
    ("exception", "message"),
    [
        (
            httpx.ConnectError("[Errno 111] Connection refused"),
            "could not connect to shop.example: connection refused",
        ),
        (
            httpx.ConnectError(
                "[SSL: CERTIFICATE_VERIFY_FAILED] certificate verify failed: self-signed certificate (_ssl.c:1006)"
            ),
            "could not connect to shop.example: certificate verify failed: self-signed certificate",
        ),
        (
            httpx.RemoteProtocolError("Server disconnected"),
            "shop.example sent a broken HTTP response: server disconnected",
        ),
        (
            httpx.ProxyError("407 Proxy Authentication Required"),
            "proxy error while fetching https://shop.example/: ",
        ),
        (httpx.ReadError("pop from an empty deque"), "shop.example broke off the connection"),
    ],
)
async def test_transport_errors_become_one_line_fetch_errors(
    httpx_mock: HTTPXMock, fetcher: LiveFetcher, exception: Exception, message: str
) -> None:
    httpx_mock.add_exception(exception, url="https://shop.example/")
    with pytest.raises(FetchError) as caught:
        await fetcher.fetch("https://shop.example/")
    assert str(caught.value).startswith(message)
    assert "\n" not in str(caught.value)


async def test_real_connection_refused() -> None:
    with socket.socket() as sock:  # find a port nobody listens on
        sock.bind(("127.0.0.1", 0))
        port = sock.getsockname()[1]
    async with LiveFetcher(allow_private=True) as live:
        with pytest.raises(FetchError, match=r"^could not connect to 127\.0\.0\.1: ") as caught:
            await live.fetch(f"http://127.0.0.1:{port}/")
    assert not isinstance(caught.value, FetchTimeout)


async def test_non_html_and_error_statuses_are_returned(httpx_mock: HTTPXMock, fetcher: LiveFetcher) -> None:
    pdf = b"%PDF-1.4 binary \x00\xff"
    httpx_mock.add_response(
        url="https://shop.example/leaflet.pdf", content=pdf, headers={"Content-Type": "application/pdf"}
    )
    httpx_mock.add_response(url="https://shop.example/missing", status_code=404, text="gone")
    result = await fetcher.fetch("https://shop.example/leaflet.pdf")
    assert result.content_type == "application/pdf"
    assert result.body == pdf
    missing = await fetcher.fetch("https://shop.example/missing")
    assert missing.status == 404 and missing.body == b"gone"


async def test_headers_keep_case_order_and_duplicates(httpx_mock: HTTPXMock, fetcher: LiveFetcher) -> None:
    httpx_mock.add_response(
        url="https://shop.example/",
        headers=[("Set-Cookie", "a=1"), ("X-Powered-By", "PHP"), ("Set-Cookie", "b=2")],
    )
    result = await fetcher.fetch("https://shop.example/")
    names = [name for name, _ in result.final.headers]
    assert names[:3] == ["Set-Cookie", "X-Powered-By", "Set-Cookie"]
    assert [v for k, v in result.final.headers if k == "Set-Cookie"] == ["a=1", "b=2"]


async def test_invalid_and_blocked_urls_are_refused_before_fetching(
    httpx_mock: HTTPXMock, fetcher: LiveFetcher
) -> None:
    with pytest.raises(InvalidURL):
        await fetcher.fetch("mailto:shop@example.com")
    with pytest.raises(BlockedAddress):
        await fetcher.fetch("http://192.168.0.1/")
    assert httpx_mock.get_requests() == []


async def test_per_host_concurrency_cap_holds(httpx_mock: HTTPXMock) -> None:
    in_flight: dict[str, int] = {}
    peak: dict[str, int] = {}

    async def slow(request: httpx.Request) -> httpx.Response:
        host = request.url.host
        in_flight[host] = in_flight.get(host, 0) + 1
        peak[host] = max(peak.get(host, 0), in_flight[host])
        await asyncio.sleep(0.02)
        in_flight[host] -= 1
        return httpx.Response(200, text="ok")

    httpx_mock.add_callback(slow, is_reusable=True)
    async with LiveFetcher(limits=FetchLimits(per_host_concurrency=2)) as live:
        urls = [f"https://{host}/{i}" for host in ("a.example", "b.example") for i in range(6)]
        results = await asyncio.gather(*(live.fetch(url) for url in urls))
        assert all(result.status == 200 for result in results)
        assert peak == {"a.example": 2, "b.example": 2}  # the cap holds and is reached, per host
        assert len(live._sites) == 0  # no semaphore outlives its users: memory stays flat


async def test_concurrency_slot_released_on_error(httpx_mock: HTTPXMock) -> None:
    httpx_mock.add_exception(httpx.ConnectError("refused"), is_reusable=True)
    async with LiveFetcher(limits=FetchLimits(per_host_concurrency=1)) as live:
        for _ in range(3):
            with pytest.raises(FetchError):
                await asyncio.wait_for(live.fetch("https://shop.example/"), 1)
        assert len(live._sites) == 0


async def test_proxy_and_ca_bundle_are_accepted(httpx_mock: HTTPXMock, monkeypatch: pytest.MonkeyPatch) -> None:
    resolved: list[str] = []

    async def fake_getaddrinfo(host: str, port: int) -> list[str]:
        resolved.append(host)
        return ["93.184.216.34"]

    monkeypatch.setattr(guard, "_getaddrinfo", fake_getaddrinfo)
    httpx_mock.add_response(url="https://shop.example/", proxy_url="http://proxy.internal:3128/", text="via proxy")
    async with LiveFetcher(proxy="http://proxy.internal:3128", ca_bundle=certifi.where()) as live:
        result = await live.fetch("https://shop.example/")
    assert result.body == b"via proxy"
    assert resolved == ["shop.example"]  # through a proxy, the target is checked before the request


async def test_proxied_request_to_private_name_is_refused(
    httpx_mock: HTTPXMock, monkeypatch: pytest.MonkeyPatch
) -> None:
    async def fake_getaddrinfo(host: str, port: int) -> list[str]:
        return ["10.0.0.7"]

    monkeypatch.setattr(guard, "_getaddrinfo", fake_getaddrinfo)
    async with LiveFetcher(proxy="http://proxy.internal:3128") as live:
        with pytest.raises(BlockedAddress, match="private"):
            await live.fetch("https://intranet.example/")
    assert httpx_mock.get_requests() == []


async def test_environment_proxy_is_used(httpx_mock: HTTPXMock, monkeypatch: pytest.MonkeyPatch) -> None:
    async def fake_getaddrinfo(host: str, port: int) -> list[str]:
        return ["93.184.216.34"]

    monkeypatch.setattr(guard, "_getaddrinfo", fake_getaddrinfo)
    monkeypatch.setenv("HTTPS_PROXY", "http://envproxy.internal:8080")
    httpx_mock.add_response(url="https://shop.example/", proxy_url="http://envproxy.internal:8080/")
    async with LiveFetcher() as live:
        assert (await live.fetch("https://shop.example/")).status == 200


def test_missing_ca_bundle_is_a_fetch_error(tmp_path) -> None:  # type: ignore[no-untyped-def]
    with pytest.raises(FetchError, match="CA bundle"):
        LiveFetcher(ca_bundle=str(tmp_path / "nope.pem"))


async def test_aclose_closes_the_client() -> None:
    live = LiveFetcher()
    await live.aclose()
    assert live._client.is_closed


@pytest.mark.parametrize("packer", [zlib.compressobj(), zlib.compressobj(wbits=-zlib.MAX_WBITS)], ids=["zlib", "raw"])
async def test_deflate_bodies_are_decoded_both_ways(httpx_mock: HTTPXMock, packer) -> None:
    body = packer.compress(b"<p>deflated</p>" * 100) + packer.flush()
    httpx_mock.add_response(url="https://shop.example/", content=body, headers={"Content-Encoding": "deflate"})
    async with LiveFetcher() as live:
        result = await live.fetch("https://shop.example/")
    assert result.body == b"<p>deflated</p>" * 100


async def test_a_gzip_bomb_stops_at_the_cap_while_streaming(httpx_mock: HTTPXMock) -> None:
    packer = zlib.compressobj(9, zlib.DEFLATED, zlib.MAX_WBITS | 16)
    bomb = b"".join(packer.compress(bytes(1024 * 1024)) for _ in range(64)) + packer.flush()  # 64 MB of zeros
    httpx_mock.add_response(url="https://shop.example/", content=bomb, headers={"Content-Encoding": "gzip"})
    async with LiveFetcher(limits=FetchLimits(max_body_bytes=100_000)) as live:
        with pytest.raises(TooLarge, match="once decompressed"):
            await live.fetch("https://shop.example/")


async def test_corrupt_compressed_bodies_and_unknown_encodings_are_protocol_errors(httpx_mock: HTTPXMock) -> None:
    for path, encoding in [("a", "gzip"), ("b", "snappy")]:
        stream = IteratorStream([b"not ", b"gzip"])  # a stream: the mock would decode `content=` itself
        httpx_mock.add_response(
            url=f"https://shop.example/{path}", stream=stream, headers={"Content-Encoding": encoding}
        )
    async with LiveFetcher() as live:
        with pytest.raises(ProtocolFailed, match="corrupt"):
            await live.fetch("https://shop.example/a")
        with pytest.raises(ProtocolFailed, match="unsupported content encoding"):
            await live.fetch("https://shop.example/b")


@pytest.mark.parametrize(("status", "retry_after"), [(503, "3600"), (429, None)])
async def test_503_and_429_are_retried_a_bounded_number_of_times_without_long_waits(
    httpx_mock: HTTPXMock, monkeypatch: pytest.MonkeyPatch, status: int, retry_after: str | None
) -> None:
    waits: list[float] = []

    async def sleep(seconds: float) -> None:
        waits.append(seconds)

    monkeypatch.setattr("rxcheck.fetch.live.asyncio.sleep", sleep)
    headers = {"Retry-After": retry_after} if retry_after else {}
    httpx_mock.add_response(url="https://shop.example/", status_code=status, headers=headers, is_reusable=True)
    async with LiveFetcher() as live:
        result = await live.fetch("https://shop.example/")
    assert result.status == status
    assert len(httpx_mock.get_requests()) == 3  # the first attempt and 2 retries
    assert waits == ([2.0, 2.0] if retry_after else [0.5, 1.0])  # Retry-After: 3600 is capped at 2 s


async def test_a_retry_that_would_outlive_the_page_deadline_is_not_made(httpx_mock: HTTPXMock) -> None:
    httpx_mock.add_response(url="https://shop.example/", status_code=503, headers={"Retry-After": "3600"})
    async with LiveFetcher(limits=FetchLimits(page_deadline=1.0)) as live:
        result = await live.fetch("https://shop.example/")
    assert result.status == 503
    assert len(httpx_mock.get_requests()) == 1


async def test_a_redirect_loop_is_told_from_a_cookie_round_trip(httpx_mock: HTTPXMock) -> None:
    for path, to in [("a", "/b"), ("b", "/a")]:
        httpx_mock.add_response(url=f"https://shop.example/{path}", status_code=302, headers={"Location": to},
                                is_reusable=True)  # fmt: skip
    httpx_mock.add_response(url="https://shop.example/", status_code=302, headers={"Location": "/consent"})
    httpx_mock.add_response(url="https://shop.example/consent", status_code=302, headers={"Location": "/"})
    httpx_mock.add_response(url="https://shop.example/", html="<p>home</p>")
    async with LiveFetcher() as live:
        with pytest.raises(RedirectLoop, match="leads back to https://shop.example/a"):
            await live.fetch("https://shop.example/a")
        home = await live.fetch("https://shop.example/")
    assert home.redirect_chain == ["https://shop.example/", "https://shop.example/consent", "https://shop.example/"]


async def test_a_meta_refresh_within_seconds_is_followed_as_a_redirect(
    httpx_mock: HTTPXMock, fetcher: LiveFetcher
) -> None:
    doorway = '<html><head><meta http-equiv="refresh" content="3; url=https://store.example/?ref=7"></head></html>'
    httpx_mock.add_response(url="https://club.example/news/", html=doorway)
    httpx_mock.add_response(url="https://store.example/?ref=7", html="<p>store</p>")
    result = await fetcher.fetch("https://club.example/news/")
    assert result.redirect_chain == ["https://club.example/news/", "https://store.example/?ref=7"]
    assert result.body == b"<p>store</p>"


@pytest.mark.parametrize(
    "content",
    ["300; url=https://store.example/", "0", "5; url=https://club.example/news/", "0; url=javascript:alert(1)"],
)
async def test_a_reload_timer_or_a_refresh_to_nowhere_is_not_a_redirect(
    content: str, httpx_mock: HTTPXMock, fetcher: LiveFetcher
) -> None:
    page = f"<html><head><meta http-equiv='refresh' content='{content}'></head><body>news</body></html>"
    httpx_mock.add_response(url="https://club.example/news/", html=page)
    result = await fetcher.fetch("https://club.example/news/")
    assert result.redirect_chain == ["https://club.example/news/"]


async def test_a_meta_refresh_that_cannot_be_followed_leaves_the_page(
    httpx_mock: HTTPXMock, fetcher: LiveFetcher
) -> None:
    doorway = '<html><head><meta http-equiv="refresh" content="0; url=https://gone.example/"></head><p>club</p></html>'
    httpx_mock.add_response(url="https://club.example/", html=doorway)
    httpx_mock.add_exception(httpx.ConnectError("refused"), url="https://gone.example/")
    result = await fetcher.fetch("https://club.example/")
    assert result.redirect_chain == ["https://club.example/"]
    assert b"club" in result.body
    assert "meta refresh to https://gone.example/ was not followed" in result.notes[0]


async def test_a_meta_refresh_to_a_private_address_is_refused_like_a_redirect(
    httpx_mock: HTTPXMock, fetcher: LiveFetcher
) -> None:
    doorway = '<html><head><meta http-equiv="refresh" content="0; url=http://169.254.169.254/latest/"></head></html>'
    httpx_mock.add_response(url="https://club.example/", html=doorway)
    result = await fetcher.fetch("https://club.example/")
    assert result.redirect_chain == ["https://club.example/"]
    assert len(httpx_mock.get_requests()) == 1


async def test_a_meta_refresh_after_the_last_redirect_allowed_leaves_the_page(httpx_mock: HTTPXMock) -> None:
    httpx_mock.add_response(
        url="https://club.example/", status_code=301, headers={"Location": "https://club.example/a"}
    )
    refresh = '<html><head><meta http-equiv="refresh" content="0; url=https://store.example/"></head><p>a</p></html>'
    httpx_mock.add_response(url="https://club.example/a", html=refresh)
    async with LiveFetcher(limits=FetchLimits(max_redirects=1)) as live:
        result = await live.fetch("https://club.example/")
    assert result.redirect_chain == ["https://club.example/", "https://club.example/a"]
    assert "was not followed" in result.notes[0]
