import asyncio
import gzip
import io
from pathlib import Path

import httpx
import pytest
from pytest_httpx import HTTPXMock, IteratorStream
from warcio.archiveiterator import ArchiveIterator
from warcio.statusandheaders import StatusAndHeaders
from warcio.warcwriter import WARCWriter

from rxcheck.errors import BlockedAddress, FetchError, FetchTimeout, NotInArchive, TooLarge, TooManyRedirects
from rxcheck.fetch import Exchange, FetchResult, partial_fetch
from rxcheck.fetch.archive import ArchiveFetcher, RecordingFetcher, WarcWriter
from rxcheck.fetch.limits import FetchLimits
from rxcheck.fetch.live import LiveFetcher


@pytest.fixture(autouse=True)
def no_environment_proxies(monkeypatch: pytest.MonkeyPatch) -> None:
    for name in ("HTTP_PROXY", "HTTPS_PROXY", "ALL_PROXY", "NO_PROXY"):
        monkeypatch.delenv(name, raising=False)
        monkeypatch.delenv(name.lower(), raising=False)


async def outcome(fetcher, url: str) -> object:  # type: ignore[no-untyped-def]
    """A fetch's result, or for a failure its error type, message and the hops received."""
    try:
        return await fetcher.fetch(url)
    except FetchError as exc:
        return type(exc), str(exc), partial_fetch(exc)


def mock_site(httpx_mock: HTTPXMock) -> list[str]:
    """A small site with every kind of hop worth recording; returns the URLs to fetch."""
    httpx_mock.add_response(url="http://shop.example/", status_code=301, headers={"Location": "https://shop.example/"})
    httpx_mock.add_response(
        url="https://shop.example/",
        headers=[
            (b"Content-Type", b"text/html; charset=utf-8"),
            (b"Set-Cookie", b"a=1"),
            (b"Set-Cookie", b"b=2"),
            (b"X-Note", "café".encode()),
        ],
        html="<html>welcome</html>",
    )
    httpx_mock.add_response(url="https://shop.example/big", stream=IteratorStream([b"x" * 600] * 5))
    httpx_mock.add_response(
        url="https://shop.example/gz",
        headers={"Content-Encoding": "gzip", "Transfer-Encoding": "chunked", "Content-Type": "text/plain"},
        stream=IteratorStream([gzip.compress(b"decoded text")]),
    )
    httpx_mock.add_response(url="https://shop.example/missing", status_code=404, text="not here")
    httpx_mock.add_response(
        url="https://shop.example/leaflet.pdf",
        content=b"%PDF\x00\xff",
        headers={"Content-Type": "application/pdf"},
    )
    httpx_mock.add_response(url="https://shop.example/go", status_code=302, headers={"Location": "/slow"})
    httpx_mock.add_exception(httpx.ReadTimeout("slow"), url="https://shop.example/slow")
    for i in range(3):
        httpx_mock.add_response(
            url=f"https://shop.example/loop{i}", status_code=302, headers={"Location": f"/loop{i + 1}"}
        )
    httpx_mock.add_response(
        url="https://shop.example/meta", status_code=302, headers={"Location": "http://169.254.169.254/"}
    )
    return [
        "http://shop.example/",
        "https://shop.example/big",
        "https://shop.example/gz",
        "https://shop.example/missing",
        "https://shop.example/leaflet.pdf",
        "https://shop.example/go",
        "https://shop.example/loop0",
        "https://shop.example/meta",
    ]


async def record(httpx_mock: HTTPXMock, path: Path) -> tuple[list[str], list[object]]:
    urls = mock_site(httpx_mock)
    limits = FetchLimits(max_body_bytes=1000, max_redirects=2)
    with WarcWriter(path) as writer:
        async with RecordingFetcher(LiveFetcher(limits=limits), writer) as recorder:
            live = [await outcome(recorder, url) for url in urls]
    return urls, live


async def test_record_then_replay_gives_the_same_exchanges(httpx_mock: HTTPXMock, tmp_path: Path) -> None:
    path = tmp_path / "run.warc.gz"
    urls, live = await record(httpx_mock, path)

    async with ArchiveFetcher(path, max_redirects=2) as archive:
        replayed = [await outcome(archive, url) for url in urls]
    assert replayed == live

    home, big, gz, missing, pdf, timeout, loop, meta = live
    assert isinstance(home, FetchResult) and home.redirect_chain == [
        "http://shop.example/",
        "https://shop.example/",
    ]
    assert home.final.header("x-note") == "café"
    assert [v for k, v in home.final.headers if k == "Set-Cookie"] == ["a=1", "b=2"]
    assert big[:2] == (TooLarge, "shop.example sent a body larger than 1,000 bytes once decompressed")  # type: ignore[index]
    assert isinstance(gz, FetchResult) and gz.body == b"decoded text"
    assert gz.final.header("content-encoding") == "gzip"
    assert isinstance(missing, FetchResult) and missing.status == 404
    assert isinstance(pdf, FetchResult) and pdf.body == b"%PDF\x00\xff"
    # failures replay as the same error, with the same hops received before it
    assert timeout[:2] == (FetchTimeout, "timed out waiting for shop.example to respond (after 10s)")  # type: ignore[index]
    assert [hop.url for hop in timeout[2].exchanges] == ["https://shop.example/go"]  # type: ignore[index]
    assert loop[:2] == (TooManyRedirects, "too many redirects (>2) from https://shop.example/loop0")  # type: ignore[index]
    assert meta[0] is BlockedAddress  # type: ignore[index]


async def test_recorded_warc_is_standard(httpx_mock: HTTPXMock, tmp_path: Path) -> None:
    path = tmp_path / "run.warc.gz"
    await record(httpx_mock, path)
    with open(path, "rb") as f:
        records = list(
            (r.rec_type, r.rec_headers, r.http_headers, r.content_stream().read()) for r in ArchiveIterator(f)
        )
    kind, warc_headers, _, info = records[0]
    assert kind == "warcinfo"
    assert b"rxcheck" in info
    assert {"request", "response", "metadata"} <= {r[0] for r in records}
    responses = {r[1].get_header("WARC-Target-URI"): r for r in records if r[0] == "response"}
    assert "https://shop.example/big" not in responses  # too large: recorded as a failure, no body kept
    assert responses["https://shop.example/"][1].get_header("WARC-Truncated") is None
    gz_headers = responses["https://shop.example/gz"][2]
    # the body is stored decoded, so the framing headers are stored renamed (tools will not re-decode)
    assert gz_headers.get_header("Content-Encoding") is None
    assert gz_headers.get_header("X-Rxcheck-Original-Content-Encoding") == "gzip"
    assert responses["https://shop.example/gz"][3] == b"decoded text"
    requests = [r for r in records if r[0] == "request"]
    assert requests[0][2].protocol == "GET"


async def test_concurrent_recording_does_not_interleave(httpx_mock: HTTPXMock, tmp_path: Path) -> None:
    async def page(request: httpx.Request) -> httpx.Response:
        await asyncio.sleep(0.001)
        return httpx.Response(200, content=request.url.path.encode() * 2000)

    httpx_mock.add_callback(page, is_reusable=True)
    path = tmp_path / "many.warc.gz"
    urls = [f"https://site{i % 5}.example/p{i}" for i in range(40)]
    with WarcWriter(path) as writer:
        async with RecordingFetcher(LiveFetcher(), writer) as recorder:
            results = await asyncio.gather(*(recorder.fetch(url) for url in urls))
    async with ArchiveFetcher(path) as archive:
        assert len(archive) == 40
        for url, result in zip(urls, results, strict=True):
            assert await archive.fetch(url) == result


def write_warc(
    path: Path, records: list[tuple[str, str, int, list[tuple[str, str]], bytes]], *, gz: bool = True
) -> None:
    """Write (type, url, status, headers, body) records with warcio, as another tool would."""
    with open(path, "wb") as f:
        writer = WARCWriter(f, gzip=gz)
        for kind, url, status, headers, body in records:
            if kind == "request":
                http_headers = StatusAndHeaders("GET / HTTP/1.1", headers, is_http_request=True)
            else:
                http_headers = StatusAndHeaders(f"{status} OK", headers, protocol="HTTP/1.1")
            writer.write_record(
                writer.create_warc_record(
                    url, kind, payload=io.BytesIO(body), length=len(body), http_headers=http_headers
                )
            )


@pytest.mark.parametrize("gz", [True, False])
async def test_lookup_rules(tmp_path: Path, gz: bool) -> None:
    path = tmp_path / ("a.warc.gz" if gz else "a.warc")
    write_warc(
        path,
        [
            ("response", "http://shop.example/page", 200, [("Content-Type", "text/html")], b"first"),
            ("request", "http://shop.example/only-requested", 0, [("Host", "shop.example")], b""),
            ("response", "http://shop.example/page", 200, [("Content-Type", "text/html")], b"second"),
            ("response", "https://Shop.Example:443/x?q=1", 200, [], b"x"),
        ],
        gz=gz,
    )
    async with ArchiveFetcher(path) as archive:
        assert (await archive.fetch("http://shop.example/page")).body == b"second"  # the last one wins
        assert (await archive.fetch("HTTP://SHOP.EXAMPLE:80/page")).body == b"second"  # scheme/host/port
        assert (await archive.fetch("https://shop.example/x?q=1")).body == b"x"
        with pytest.raises(NotInArchive, match=r"^not in the archive: http://shop\.example/page/$"):
            await archive.fetch("http://shop.example/page/")  # paths are exact: no slash folding
        with pytest.raises(NotInArchive):
            await archive.fetch("http://shop.example/only-requested")  # request records answer nothing
        with pytest.raises(NotInArchive):
            await archive.fetch("http://shop.example/PAGE")


async def test_missing_redirect_target_is_not_in_archive(tmp_path: Path) -> None:
    path = tmp_path / "a.warc.gz"
    write_warc(path, [("response", "https://shop.example/", 302, [("Location", "/gone")], b"")])
    async with ArchiveFetcher(path) as archive:
        with pytest.raises(NotInArchive, match="not in the archive: https://shop.example/gone") as caught:
            await archive.fetch("https://shop.example/")
    partial = partial_fetch(caught.value)
    assert partial is not None and [hop.status for hop in partial.exchanges] == [302]


async def test_redirects_in_archive_are_followed_and_capped(tmp_path: Path) -> None:
    path = tmp_path / "a.warc.gz"
    write_warc(
        path,
        [
            ("response", "http://shop.example/", 301, [("Location", "https://shop.example/")], b""),
            ("response", "https://shop.example/", 200, [("Content-Type", "text/html")], b"<html>"),
        ]
        + [("response", f"https://shop.example/r{i}", 302, [("Location", f"/r{i + 1}")], b"") for i in range(7)],
    )
    async with ArchiveFetcher(path, max_redirects=5) as archive:
        result = await archive.fetch("http://shop.example/")
        assert result.exchanges == (
            Exchange("http://shop.example/", 301, (("Location", "https://shop.example/"),)),
            Exchange("https://shop.example/", 200, (("Content-Type", "text/html"),), b"<html>"),
        )
        with pytest.raises(FetchError, match=r"too many redirects \(>5\) from https://shop.example/r0"):
            await archive.fetch("https://shop.example/r0")


async def test_third_party_compressed_and_chunked_bodies_are_decoded(tmp_path: Path) -> None:
    path = tmp_path / "a.warc.gz"
    write_warc(
        path,
        [
            (
                "response",
                "https://shop.example/gz",
                200,
                [("Content-Encoding", "gzip")],
                gzip.compress(b"hello"),
            ),
            (
                "response",
                "https://shop.example/chunked",
                200,
                [("Transfer-Encoding", "chunked")],
                b"5\r\nhello\r\n0\r\n\r\n",
            ),
        ],
    )
    async with ArchiveFetcher(path, max_body_bytes=5) as archive:
        gz = await archive.fetch("https://shop.example/gz")
        chunked = await archive.fetch("https://shop.example/chunked")
    assert gz.body == b"hello" and not gz.truncated
    assert chunked.body == b"hello"
    assert gz.final.header("content-encoding") == "gzip"
    async with ArchiveFetcher(path, max_body_bytes=3) as archive:
        with pytest.raises(TooLarge):
            await archive.fetch("https://shop.example/gz")


def test_missing_file_is_a_fetch_error(tmp_path: Path) -> None:
    with pytest.raises(FetchError, match="cannot open the WARC .*nope.warc.gz: No such file or directory"):
        ArchiveFetcher(tmp_path / "nope.warc.gz")


@pytest.mark.parametrize(
    ("content", "message"),
    [
        (b"", "empty"),
        (b"<html>not a warc</html>\n", "not a WARC file"),
        (bytes(range(256)) * 4, "not a WARC file"),
        (gzip.compress(b"garbage\r\n\r\n"), "not a WARC file"),
    ],
)
def test_corrupt_file_is_a_fetch_error(tmp_path: Path, content: bytes, message: str) -> None:
    path = tmp_path / "bad.warc.gz"
    path.write_bytes(content)
    with pytest.raises(FetchError, match=message) as caught:
        ArchiveFetcher(path)
    assert "\n" not in str(caught.value)


def test_single_stream_gzip_is_refused_with_a_hint(tmp_path: Path) -> None:
    plain = tmp_path / "a.warc"
    write_warc(
        plain,
        [("response", f"https://shop.example/{i}", 200, [], b"body") for i in range(3)],
        gz=False,
    )
    path = tmp_path / "a.warc.gz"
    path.write_bytes(gzip.compress(plain.read_bytes()))  # one gzip stream: not seekable per record
    with pytest.raises(FetchError, match="warcio recompress"):
        ArchiveFetcher(path)


async def test_writer_refuses_after_close(tmp_path: Path) -> None:
    writer = WarcWriter(tmp_path / "w.warc.gz")
    writer.close()
    with pytest.raises(FetchError, match="closed"):
        await writer.write([Exchange("https://shop.example/", 200, ())])
