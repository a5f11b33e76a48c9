"""Recording fetches into a WARC file and replaying them from one (warcio does the WARC format).

Recorded bodies are the decoded payloads the checker saw, so framing headers they no longer match
(Transfer-Encoding, Content-Encoding) are stored renamed with `ORIGINAL_HEADER_PREFIX` to keep the
WARC consistent for other tools; replay renames them back. A fetch that failed is recorded as a
`metadata` record (content type `ERROR_CONTENT_TYPE`) for the URL whose request failed, and replay
raises the same error, so a replayed run reaches the same verdict as the recorded one.
"""

from __future__ import annotations

import asyncio
import http
import io
import json
import threading
from collections.abc import Iterable
from os import PathLike
from pathlib import Path
from types import TracebackType
from typing import Any, BinaryIO

import httpx
from warcio.archiveiterator import ArchiveIterator
from warcio.statusandheaders import StatusAndHeaders
from warcio.warcwriter import WARCWriter

from rxcheck.errors import (
    BlockedAddress,
    ConnectFailed,
    DNSError,
    FetchError,
    FetchTimeout,
    InvalidURL,
    NotInArchive,
    ProtocolFailed,
    RedirectLoop,
    TLSFailed,
    TooLarge,
    TooManyRedirects,
)
from rxcheck.fetch import Exchange, Fetcher, FetchResult, follow_redirects, partial_fetch
from rxcheck.fetch.guard import normalize_target

ORIGINAL_HEADER_PREFIX = "X-Rxcheck-Original-"
ERROR_CONTENT_TYPE = "application/vnd.rxcheck.fetch-error+json"
_RENAMED_HEADERS = frozenset({"transfer-encoding", "content-encoding"})
_ERRORS: dict[str, type[FetchError]] = {
    cls.type: cls
    for cls in (
        FetchError, FetchTimeout, BlockedAddress, NotInArchive, DNSError, ConnectFailed, TLSFailed, ProtocolFailed,
        TooLarge, RedirectLoop, TooManyRedirects,
    )
}  # fmt: skip


def archive_key(url: str) -> str:
    """The form URLs are looked up in: as `check_url` normalises them (scheme/host case, default port)."""
    url = url.strip().removeprefix("<").removesuffix(">")
    try:
        return normalize_target(url)
    except InvalidURL:
        return url


class ArchiveFetcher:
    """Answers every fetch from a WARC (.warc or .warc.gz) instead of the network.

    The archive is indexed once when opened (URL -> record offset, the last record of a URL
    winning); bodies are read from disk on demand. `max_body_bytes` optionally caps bodies read.
    """

    def __init__(self, path: str | PathLike[str], *, max_redirects: int = 5, max_body_bytes: int | None = None) -> None:
        self.path = Path(path)
        self.max_redirects = max_redirects
        self.max_body_bytes = max_body_bytes
        try:
            self._file: BinaryIO = open(self.path, "rb")  # noqa: SIM115 - kept open until aclose()
        except OSError as exc:
            raise FetchError(f"cannot open the WARC {self.path}: {exc.strerror or exc}") from None
        try:
            self._index = self._build_index()
        except Exception as exc:
            self._file.close()
            raise FetchError(f"cannot read the WARC {self.path}: {_warc_problem(exc)}") from exc

    def __len__(self) -> int:
        return len(self._index)

    def __contains__(self, url: str) -> bool:
        return archive_key(url) in self._index

    async def fetch(self, url: str) -> FetchResult:
        """Replay `url` and its redirects. Raises NotInArchive for a URL the WARC does not hold."""
        return await follow_redirects(
            archive_key(url), self._replay_hop, max_redirects=self.max_redirects, check_target=self._normalise
        )

    async def aclose(self) -> None:
        self._file.close()

    async def __aenter__(self) -> ArchiveFetcher:
        return self

    async def __aexit__(
        self, exc_type: type[BaseException] | None, exc: BaseException | None, tb: TracebackType | None
    ) -> None:
        await self.aclose()

    def _build_index(self) -> dict[str, int]:
        index: dict[str, int] = {}
        records = 0
        iterator = ArchiveIterator(self._file, no_record_parse=True)
        for record in iterator:
            records += 1
            if record.rec_type == "response" or _is_error_record(record):
                uri = record.rec_headers.get_header("WARC-Target-URI")
                if uri:
                    index[archive_key(uri)] = iterator.get_record_offset()  # the last one wins
        if records == 0:
            raise ValueError("the file is empty")
        return index

    async def _normalise(self, url: str) -> str:
        return archive_key(url)

    async def _replay_hop(self, url: str) -> Exchange:
        offset = self._index.get(url)
        if offset is None:
            raise NotInArchive(f"not in the archive: {url}")
        try:
            self._file.seek(offset)
            record = next(iter(ArchiveIterator(self._file)))
            if _is_error_record(record):
                error = json.loads(_read(record.content_stream(), None))
                raise _ERRORS.get(error.get("type"), FetchError)(str(error.get("message") or url))
            status = int(record.http_headers.get_statuscode())
            headers = tuple((_original_name(k), v) for k, v in record.http_headers.headers)
            limit = self.max_body_bytes
            body = _read(record.content_stream(), None if limit is None else limit + 1)
        except FetchError:
            raise
        except Exception as exc:
            raise FetchError(f"cannot read the record for {url} in the WARC {self.path}: {_warc_problem(exc)}") from exc
        truncated = record.rec_headers.get_header("WARC-Truncated") is not None  # cut by the tool that recorded it
        if limit is not None and len(body) > limit:
            raise TooLarge(f"{httpx.URL(url).host} sent a body larger than {limit:,} bytes once decompressed")
        return Exchange(url, status, headers, body, truncated)


class WarcWriter:
    """A gzipped WARC being written, one gzip member per record (so it can be indexed and seeked).

    Safe to share between tasks and threads: each call writes all its records under one lock.
    """

    def __init__(self, path: str | PathLike[str], *, software: str = "rxcheck") -> None:
        self.path = Path(path)
        self._lock = threading.Lock()
        try:
            self._file: BinaryIO = open(self.path, "wb")  # noqa: SIM115 - kept open until close()
        except OSError as exc:
            raise FetchError(f"cannot create the WARC {self.path}: {exc.strerror or exc}") from None
        self._writer = WARCWriter(self._file, gzip=True)
        info = {
            "software": software,
            "format": "WARC File Format 1.0",
            "description": "pages fetched by rxcheck, an online pharmacy legitimacy checker",
        }
        self._writer.write_record(self._writer.create_warcinfo_record(self.path.name, info))

    def write_exchanges(self, exchanges: Iterable[Exchange], *, failure: tuple[str, Exception] | None = None) -> None:
        """Write a request and a response record per exchange, then the failure (URL, error) if any."""
        with self._lock:
            if self._file.closed:
                raise FetchError(f"the WARC {self.path} is closed")
            for exchange in exchanges:
                self._write_exchange(exchange)
            if failure is not None:
                self._write_failure(*failure)
            self._file.flush()

    async def write(self, exchanges: Iterable[Exchange], *, failure: tuple[str, Exception] | None = None) -> None:
        """`write_exchanges` off the event loop (compressing a 3 MB page takes a while)."""
        await asyncio.to_thread(self.write_exchanges, tuple(exchanges), failure=failure)

    def close(self) -> None:
        with self._lock:
            self._file.close()

    def __enter__(self) -> WarcWriter:
        return self

    def __exit__(
        self, exc_type: type[BaseException] | None, exc: BaseException | None, tb: TracebackType | None
    ) -> None:
        self.close()

    def _write_exchange(self, exchange: Exchange) -> None:
        url = httpx.URL(exchange.url)
        try:
            phrase = http.HTTPStatus(exchange.status).phrase
        except ValueError:
            phrase = ""
        response = self._writer.create_warc_record(
            exchange.url,
            "response",
            payload=io.BytesIO(exchange.body),
            length=len(exchange.body),
            http_headers=_Utf8Headers(
                f"{exchange.status} {phrase}".strip(),
                [(_recorded_name(k), v) for k, v in exchange.headers],
                protocol="HTTP/1.1",
            ),
            warc_headers_dict={"WARC-Truncated": "length"} if exchange.truncated else None,
        )
        target = url.raw_path.decode("ascii")
        request = self._writer.create_warc_record(
            exchange.url,
            "request",
            payload=io.BytesIO(b""),
            length=0,
            http_headers=StatusAndHeaders(
                f"GET {target} HTTP/1.1", [("Host", url.netloc.decode("ascii"))], is_http_request=True
            ),
        )
        self._writer.write_request_response_pair(request, response)

    def _write_failure(self, url: str, error: Exception) -> None:
        payload = json.dumps({"type": getattr(error, "type", "fetch_error"), "message": str(error)}).encode()
        record = self._writer.create_warc_record(
            url,
            "metadata",
            payload=io.BytesIO(payload),
            length=len(payload),
            warc_content_type=ERROR_CONTENT_TYPE,
        )
        self._writer.write_record(record)


class RecordingFetcher:
    """Passes fetches to `inner` and writes every hop received (failed fetches too) to `writer`.

    `aclose()` closes `inner`; the writer belongs to the caller, who closes it.
    """

    def __init__(self, inner: Fetcher, writer: WarcWriter) -> None:
        self.inner = inner
        self.writer = writer

    async def fetch(self, url: str) -> FetchResult:
        try:
            result = await self.inner.fetch(url)
        except FetchError as exc:
            partial = partial_fetch(exc)
            if partial is not None:
                failure = (partial.failed_url, exc) if partial.failed_url else None
                await self.writer.write(partial.exchanges, failure=failure)
            raise
        await self.writer.write(result.exchanges)
        return result

    async def aclose(self) -> None:
        await self.inner.aclose()

    async def __aenter__(self) -> RecordingFetcher:
        return self

    async def __aexit__(
        self, exc_type: type[BaseException] | None, exc: BaseException | None, tb: TracebackType | None
    ) -> None:
        await self.aclose()


class _Utf8Headers(StatusAndHeaders):
    """HTTP headers written as UTF-8, as read back by warcio, rather than %-encoded when not ASCII
    (warcio's default), so header values replay exactly as they were received."""

    def compute_headers_buffer(self, header_filter: Any = None) -> None:
        self.headers_buff = self.to_bytes(header_filter, encoding="utf-8")


def _read(stream: Any, limit: int | None) -> bytes:
    """Up to `limit` bytes (all if None) from a warcio stream, whose reads may return less than asked."""
    data = bytearray()
    while limit is None or len(data) < limit:
        chunk = stream.read(65536 if limit is None else min(65536, limit - len(data)))
        if not chunk:
            break
        data += chunk
    return bytes(data)


def _recorded_name(name: str) -> str:
    return ORIGINAL_HEADER_PREFIX + name if name.lower() in _RENAMED_HEADERS else name


def _original_name(name: str) -> str:
    if name.lower().startswith(ORIGINAL_HEADER_PREFIX.lower()):
        return name[len(ORIGINAL_HEADER_PREFIX) :]
    return name


def _is_error_record(record: Any) -> bool:
    return record.rec_type == "metadata" and record.rec_headers.get_header("Content-Type") == ERROR_CONTENT_TYPE


def _warc_problem(exc: BaseException) -> str:
    """One line saying what is wrong with an archive, from whatever warcio or zlib raised."""
    text = " ".join(str(exc).split())
    if text.startswith("Unknown archive format"):
        return "not a WARC file"
    if "non-chunked gzip" in text:
        return "gzipped as one stream, not record by record (fix it with `warcio recompress`)"
    return (text[:200] or type(exc).__name__).rstrip(".")
