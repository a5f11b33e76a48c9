"""Sites judged in worker processes come out exactly as judged in-process, and a dead worker does not end an audit."""

from __future__ import annotations

import os
import signal

import pytest

from checker.audit import audit, read_urls
from checker.fetch.archive import ArchiveFetcher
from checker.pipeline import Checker
from tests.conftest import FIXTURES

URLS = list(read_urls((FIXTURES / "urls.txt").read_text().splitlines()))[:10]


@pytest.fixture(scope="module")
def pooled():
    checker = Checker(workers=2)
    yield checker
    checker.close()


async def run(checker: Checker, warc, urls: list[str]) -> dict[str, dict]:
    results: dict[str, dict] = {}
    async with ArchiveFetcher(warc) as fetcher:
        await audit(urls, checker, fetcher, on_result=lambda r: results.setdefault(r.url, _comparable(r)))
    return results


def _comparable(result) -> dict:
    return result.model_dump(exclude={"checked_at"})


async def test_results_are_the_same_with_and_without_workers(pooled, checker, fixture_warc):
    in_process = await run(checker, fixture_warc, URLS)
    assert await run(pooled, fixture_warc, URLS) == in_process
    assert {r["verdict"] for r in in_process.values()} - {"unreachable"}  # real verdicts, not errors compared


async def test_a_killed_worker_costs_no_result(pooled, checker, fixture_warc):
    await run(pooled, fixture_warc, URLS[:1])  # the pool is up
    for pid in list(pooled.pool._executor._processes):  # noqa: SLF001 (a test may reach in to kill)
        os.kill(pid, signal.SIGKILL)
    assert await run(pooled, fixture_warc, URLS[:3]) == await run(checker, fixture_warc, URLS[:3])


def test_workers_take_the_pack_from_rules_dirs():
    with pytest.raises(ValueError, match="rules_dirs"):
        Checker(workers=2, pack=Checker().pack)
