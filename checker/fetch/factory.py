"""Choosing the fetcher for a run: live or replayed, optionally recorded into a WARC."""

from __future__ import annotations

from collections.abc import AsyncIterator
from contextlib import AsyncExitStack, asynccontextmanager
from pathlib import Path

from rxcheck.fetch import Fetcher
from rxcheck.fetch.archive import ArchiveFetcher, RecordingFetcher, WarcWriter
from rxcheck.fetch.limits import FetchLimits
from rxcheck.fetch.live import LiveFetcher


@asynccontextmanager
async def open_fetcher(
    *,
    replay: Path | None = None,
    save_warc: Path | None = None,
    limits: FetchLimits | None = None,
    proxy: str | None = None,
    ca_bundle: Path | None = None,
    allow_private: bool = False,
    proxy_resolves_names: bool = False,
) -> AsyncIterator[Fetcher]:
    """A fetcher for one run, closed (and its WARC finished) when the run ends, even on error."""
    limits = limits or FetchLimits()
    async with AsyncExitStack() as stack:
        fetcher: Fetcher
        if replay is not None:
            fetcher = ArchiveFetcher(replay, max_redirects=limits.max_redirects, max_body_bytes=limits.max_body_bytes)
        else:
            fetcher = LiveFetcher(limits=limits, proxy=proxy, ca_bundle=str(ca_bundle) if ca_bundle else None,
                                  allow_private=allow_private, proxy_resolves_names=proxy_resolves_names)  # fmt: skip
        stack.push_async_callback(fetcher.aclose)
        if save_warc is not None:
            writer = stack.enter_context(WarcWriter(save_warc))
            fetcher = RecordingFetcher(fetcher, writer)
        yield fetcher
