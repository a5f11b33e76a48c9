"""With a proxy configured, every hop's name must resolve here to allowed addresses before the proxy gets it.

The proxy is a fake on 127.0.0.1 that records what it is asked and never connects anywhere; names resolve through
the stub resolver of `conftest.py` (`dns`), and `loopback_only` refuses anything else.
"""

from __future__ import annotations

import asyncio
from collections.abc import AsyncIterator

import pytest
from hostile_farm import PUBLIC_IP

from rxcheck.errors import BlockedAddress
from rxcheck.fetch.limits import FetchLimits
from rxcheck.fetch.live import LiveFetcher

LIMITS = FetchLimits(page_deadline=3.0)


@pytest.fixture
async def proxy() -> AsyncIterator[tuple[str, list[str]]]:
    """A recording HTTP proxy: `public-shop.example` redirects to the GCP metadata name; other GETs get a page."""
    seen: list[str] = []

    async def handle(reader: asyncio.StreamReader, writer: asyncio.StreamWriter) -> None:
        try:
            head = await reader.readuntil(b"\r\n\r\n")
            request_line = head.split(b"\r\n", 1)[0].decode("latin-1")
            seen.append(request_line)
            if request_line.startswith("CONNECT"):
                writer.write(b"HTTP/1.1 403 Forbidden\r\nContent-Length: 0\r\n\r\n")
            elif "public-shop.example" in request_line:
                location = b"http://metadata.google.internal/computeMetadata/v1/"
                writer.write(b"HTTP/1.1 302 Found\r\nLocation: " + location + b"\r\nContent-Length: 0\r\n\r\n")
            else:
                writer.write(b"HTTP/1.1 200 OK\r\nContent-Type: text/html\r\nContent-Length: 9\r\n\r\n<p>ok</p>")
            await writer.drain()
        except (asyncio.IncompleteReadError, ConnectionError):
            pass
        finally:
            writer.close()

    server = await asyncio.start_server(handle, "127.0.0.1", 0)
    port = server.sockets[0].getsockname()[1]
    try:
        yield f"http://127.0.0.1:{port}", seen
    finally:
        server.close()
        await server.wait_closed()


@pytest.mark.parametrize(
    "url",
    [
        "http://metadata.google.internal/computeMetadata/v1/",
        "https://metadata.google.internal/computeMetadata/v1/",  # would be CONNECT metadata.google.internal:443
        "http://not-in-dns.example/",
    ],
)
async def test_a_name_that_does_not_resolve_is_not_handed_to_the_proxy(
    proxy: tuple[str, list[str]], dns: dict[str, list[str]], url: str
) -> None:
    proxy_url, seen = proxy
    async with LiveFetcher(proxy=proxy_url, limits=LIMITS) as fetcher:
        with pytest.raises(BlockedAddress, match="does not resolve here"):
            await fetcher.fetch(url)
    assert seen == []


@pytest.mark.parametrize("address", ["10.0.0.1", "169.254.169.254", "127.0.0.1", "fd00:ec2::254"])
async def test_a_name_resolving_to_a_forbidden_address_is_not_handed_to_the_proxy(
    proxy: tuple[str, list[str]], dns: dict[str, list[str]], address: str
) -> None:
    proxy_url, seen = proxy
    dns["inside.example"] = [address]
    async with LiveFetcher(proxy=proxy_url, limits=LIMITS) as fetcher:
        with pytest.raises(BlockedAddress, match="inside.example: it resolves to an? .*address$") as caught:
            await fetcher.fetch("http://inside.example/")
    assert address not in str(caught.value)
    assert seen == []


async def test_allow_private_with_a_proxy_still_refuses_metadata(
    proxy: tuple[str, list[str]], dns: dict[str, list[str]]
) -> None:
    proxy_url, seen = proxy
    dns["meta.example"] = ["169.254.169.254"]
    async with LiveFetcher(proxy=proxy_url, limits=LIMITS, allow_private=True) as fetcher:
        with pytest.raises(BlockedAddress, match="cloud metadata"):
            await fetcher.fetch("http://meta.example/")
    assert seen == []


async def test_a_redirect_through_the_proxy_is_checked_like_the_first_hop(
    proxy: tuple[str, list[str]], dns: dict[str, list[str]]
) -> None:
    proxy_url, seen = proxy
    dns["public-shop.example"] = [PUBLIC_IP]
    async with LiveFetcher(proxy=proxy_url, limits=LIMITS) as fetcher:
        with pytest.raises(BlockedAddress, match="metadata.google.internal"):
            await fetcher.fetch("http://public-shop.example/")
    assert seen == ["GET http://public-shop.example/ HTTP/1.1"]  # the metadata name never reached the proxy


async def test_proxy_resolves_names_passes_unknown_names_but_never_metadata_or_internal_ones(
    proxy: tuple[str, list[str]], dns: dict[str, list[str]]
) -> None:
    proxy_url, seen = proxy
    async with LiveFetcher(proxy=proxy_url, limits=LIMITS, proxy_resolves_names=True) as fetcher:
        result = await fetcher.fetch("http://only-the-proxy-knows.example/")
        for url, reason in [
            ("http://metadata.google.internal/", "cloud metadata"),
            ("http://metadata/", "cloud metadata"),
            ("http://db.internal/", "internal name"),
            ("http://printer.local/", "internal name"),
            ("http://fileserver/", "single-label"),
        ]:
            with pytest.raises(BlockedAddress, match=reason):
                await fetcher.fetch(url)
    assert result.status == 200
    assert seen == ["GET http://only-the-proxy-knows.example/ HTTP/1.1"]


async def test_proxy_from_the_environment_is_guarded_the_same_way(
    proxy: tuple[str, list[str]], dns: dict[str, list[str]], monkeypatch: pytest.MonkeyPatch
) -> None:
    proxy_url, seen = proxy
    monkeypatch.setenv("HTTP_PROXY", proxy_url)
    monkeypatch.setenv("HTTPS_PROXY", proxy_url)
    monkeypatch.delenv("NO_PROXY", raising=False)
    monkeypatch.delenv("no_proxy", raising=False)
    async with LiveFetcher(limits=LIMITS) as fetcher:
        with pytest.raises(BlockedAddress):
            await fetcher.fetch("http://metadata.google.internal/computeMetadata/v1/")
    assert seen == []
