"""The storage interface, one suite run against both backends (a SQLite file and a real PostgreSQL)."""

from __future__ import annotations

import asyncio
import sqlite3
from collections.abc import AsyncIterator, Iterator
from pathlib import Path

import psycopg
import pytest

from rxcheck.api.storage import CachedRow, PendingURL, QuotaExceeded, Storage, StoreError, open_storage
from rxcheck.api.storage.postgres import MIGRATIONS as PG_MIGRATIONS
from rxcheck.api.storage.postgres import PostgresStorage
from rxcheck.api.storage.sqlite import MIGRATIONS as SQLITE_MIGRATIONS

AUDIT = "a" * 32


@pytest.fixture
async def storage(db: str | Path) -> AsyncIterator[Storage]:
    store = await open_storage(db)
    try:
        yield store
    finally:
        await store.close()


def _urls(n: int) -> Iterator[str]:
    """A generator, as a streamed upload is: storage must not need the whole list."""
    for i in range(n):
        yield f"https://site{i}.example/"


async def test_the_verdict_cache_keeps_the_json_as_written(storage: Storage) -> None:
    # keys out of order and spacing kept: storage never parses the result
    written = '{"verdict": "rogue", "b": 1, "a": [2, 3]}'
    await storage.put_cached("shop.example", "GB", "r1", CachedRow(written, 100.0, 60))
    await storage.put_cached("shop.example", "GB", "r2", CachedRow('{"verdict": "legitimate"}', 100.0, 60))

    assert await storage.get_cached("shop.example", "GB", "r1") == CachedRow(written, 100.0, 60)
    assert await storage.get_cached("shop.example", "US", "r1") is None

    await storage.put_cached("shop.example", "GB", "r1", CachedRow('{"verdict": "suspicious"}', 200.0, 10))
    assert await storage.get_cached("shop.example", "GB", "r1") == CachedRow('{"verdict": "suspicious"}', 200.0, 10)

    assert await storage.purge_expired(now=205.0) == 1  # r2, stale since 160
    assert await storage.get_cached("shop.example", "GB", "r1") is not None
    assert await storage.purge_expired(now=211.0) == 1  # r1, stale since 210
    assert await storage.get_cached("shop.example", "GB", "r1") is None


async def test_an_audit_streams_in_and_each_url_gets_exactly_one_result(storage: Storage) -> None:
    total = await storage.create_audit(AUDIT, _urls(2500), jurisdiction="GB", owner="o", now=1.0)
    assert total == 2500

    first = await storage.record_result(AUDIT, 7, verdict="rogue", result_json='{"n": 1}', now=2.0)
    retried = await storage.record_result(AUDIT, 7, verdict="legitimate", result_json='{"n": 2}', now=3.0)
    audit = await storage.get_audit(AUDIT)

    assert (first, retried) == ("running", None)
    assert audit is not None
    assert (audit.status, audit.total, audit.done, audit.counts) == ("running", 2500, 1, {"rogue": 1})
    assert await storage.results_page(AUDIT, after=-1, limit=10) == [(7, '{"n": 1}')]
    assert await storage.pending_url(AUDIT, 7) is None
    assert await storage.pending_url(AUDIT, 8) == PendingURL(AUDIT, 8, "https://site8.example/", "GB", "o")


async def test_the_last_result_finishes_the_audit_and_results_page_in_order(storage: Storage) -> None:
    await storage.create_audit(AUDIT, ["a.example", "b.example", "c.example"], jurisdiction="auto", owner="o", now=1)
    statuses = [
        await storage.record_result(AUDIT, position, verdict="legitimate", result_json=f'{{"p": {position}}}', now=2)
        for position in (2, 0, 1)
    ]

    assert statuses == ["running", "running", "done"]
    assert await storage.results_page(AUDIT, after=-1, limit=2) == [(0, '{"p": 0}'), (1, '{"p": 1}')]
    assert await storage.results_page(AUDIT, after=1, limit=2) == [(2, '{"p": 2}')]
    assert await storage.pending_urls() == []


async def test_pending_urls_are_the_unfinished_ones_oldest_audit_first(storage: Storage) -> None:
    await storage.create_audit("b" * 32, ["x.example", "y.example"], jurisdiction="US", owner="o", now=5.0)
    await storage.create_audit(AUDIT, ["z.example"], jurisdiction="GB", owner="o", now=1.0)
    await storage.record_result("b" * 32, 0, verdict="rogue", result_json="{}", now=6.0)

    assert await storage.pending_urls() == [
        PendingURL(AUDIT, 0, "z.example", "GB", "o"),
        PendingURL("b" * 32, 1, "y.example", "US", "o"),
    ]


async def test_an_owner_has_at_most_max_in_flight_urls_queued_or_running(storage: Storage) -> None:
    await storage.create_audit(AUDIT, _urls(3), jurisdiction="GB", owner="o", now=1.0, max_in_flight=5)
    await storage.record_result(AUDIT, 0, verdict="rogue", result_json="{}", now=2.0)

    with pytest.raises(QuotaExceeded) as refused:
        await storage.create_audit("b" * 32, _urls(4), jurisdiction="GB", owner="o", now=3.0, max_in_flight=5)
    other = await storage.create_audit("c" * 32, _urls(5), jurisdiction="GB", owner="p", now=3.0, max_in_flight=5)
    fits = await storage.create_audit("d" * 32, _urls(3), jurisdiction="GB", owner="o", now=4.0, max_in_flight=5)

    assert (refused.value.limit, refused.value.in_flight) == (5, 2)  # one of the 3 is done
    assert "2 URLs queued or running" in str(refused.value) and "at most 3 more" in str(refused.value)
    assert await storage.get_audit("b" * 32) is None  # nothing of the refused audit was stored
    assert (other, fits) == (5, 3)
    assert (await storage.in_flight("o"), await storage.in_flight("p")) == (5, 5)
    await storage.cancel_audit(AUDIT, now=5.0)
    assert await storage.in_flight("o") == 3  # a cancelled audit no longer counts


async def test_a_cancelled_audit_stays_cancelled(storage: Storage) -> None:
    await storage.create_audit(AUDIT, ["a.example", "b.example"], jurisdiction="GB", owner="o", now=1.0)

    assert await storage.cancel_audit(AUDIT, now=2.0) is True
    assert await storage.cancel_audit(AUDIT, now=3.0) is False
    # a URL that was being checked when the audit was cancelled still lands, and the audit stays cancelled
    assert await storage.record_result(AUDIT, 0, verdict="rogue", result_json="{}", now=4.0) == "cancelled"
    audit = await storage.get_audit(AUDIT)
    assert audit is not None and (audit.status, audit.done) == ("cancelled", 1)
    assert await storage.pending_url(AUDIT, 1) is None
    assert await storage.pending_urls() == []


async def test_reopening_applies_no_migration_twice(db: str | Path) -> None:
    first, second = await asyncio.gather(open_storage(db), open_storage(db))  # two processes starting together
    await first.create_audit(AUDIT, ["a.example"], jurisdiction="GB", owner="o", now=1.0)
    await first.close()
    await second.close()
    again = await open_storage(db)
    try:
        assert (await again.get_audit(AUDIT)) is not None
    finally:
        await again.close()

    if isinstance(db, Path):
        with sqlite3.connect(db) as conn:
            assert conn.execute("PRAGMA user_version").fetchone() == (len(SQLITE_MIGRATIONS),)
    else:
        with psycopg.connect(db) as conn:
            versions = [row[0] for row in conn.execute("SELECT version FROM rxcheck_migrations ORDER BY 1")]
            assert versions == list(range(1, len(PG_MIGRATIONS) + 1))
            assert conn.execute("SELECT to_regclass('procrastinate_jobs')").fetchone() == ("procrastinate_jobs",)


async def test_a_sqlite_file_from_before_migrations_is_upgraded_in_place(tmp_path: Path) -> None:
    path = tmp_path / "old.sqlite"
    with sqlite3.connect(path) as conn:
        conn.executescript(SQLITE_MIGRATIONS[0])
        conn.execute("INSERT INTO audits VALUES (?, 'running', 'GB', 'o', 1, 0, 1.0, 1.0, NULL)", (AUDIT,))
        conn.execute("INSERT INTO audit_urls (audit_id, position, url) VALUES (?, 0, 'a.example')", (AUDIT,))
        conn.execute("PRAGMA user_version = 1")

    store = await open_storage(path)
    try:
        assert await store.pending_urls() == [PendingURL(AUDIT, 0, "a.example", "GB", "o")]
        assert await store.cancel_audit(AUDIT, now=2.0) is True
        audit = await store.get_audit(AUDIT)
    finally:
        await store.close()
    assert audit is not None and audit.status == "cancelled"


async def test_an_unreachable_postgresql_is_one_line(tmp_path: Path) -> None:
    url = f"postgresql://nobody:secret@/rxcheck?host={tmp_path}"  # no server on that socket

    with pytest.raises(StoreError) as raised:
        await open_storage(url)

    message = str(raised.value)
    assert message.startswith("cannot open the database ") and "\n" not in message
    assert "secret" not in message


async def test_the_site_lock_is_held_across_processes(pg_url: str) -> None:
    """Two storages are two pools, as two API processes would have: the second waits for the first."""
    one, two = await open_storage(pg_url), await open_storage(pg_url)
    assert isinstance(one, PostgresStorage)
    order: list[str] = []

    async def second() -> None:
        async with two.site_lock("shop.example|GB|r1"):
            order.append("second")

    try:
        async with one.site_lock("shop.example|GB|r1"):
            waiting = asyncio.create_task(second())
            while not await _advisory_waiters(one):
                await asyncio.sleep(0.01)
            async with two.site_lock("other.example|GB|r1"):  # another site is not held up
                order.append("other")
            order.append("first")
        await waiting
    finally:
        await one.close()
        await two.close()
    assert order == ["other", "first", "second"]


async def _advisory_waiters(storage: PostgresStorage) -> int:
    async with storage.pool.connection() as conn:
        cur = await conn.execute("SELECT count(*) FROM pg_locks WHERE locktype = 'advisory' AND NOT granted")
        row = await cur.fetchone()
    return int(row[0]) if row else 0


async def test_judged_sites_come_from_the_cache_and_finished_audits_newest_first(storage: Storage) -> None:
    cached = '{"url": "https://a.example/", "verdict": "rogue", "risk_score": 90, "site_type": {"type": "pharmacy"}}'
    await storage.put_cached("a.example", "GB", "r1", CachedRow(cached, 100.0, 60))
    await storage.put_cached("old.example", "GB", "r1", CachedRow('{"verdict": "rogue"}', 10.0, 5))  # expired
    await storage.create_audit(AUDIT, ["b.example"], jurisdiction="GB", owner="o", now=1.0)
    audited = '{"url": "https://b.example/", "verdict": "legitimate", "verdict_reason": "legitimate: checked."}'
    await storage.record_result(AUDIT, 0, verdict="legitimate", result_json=audited, now=120.0)

    sites = await storage.judged_sites(now=110.0, audits_since=50.0, limit=10)

    assert [(s.url, s.verdict, s.stored_at) for s in sites] == [
        ("https://b.example/", "legitimate", 120.0),
        ("https://a.example/", "rogue", 100.0),
    ]
    assert (sites[1].risk_score, sites[1].site_type, sites[0].verdict_reason) == (
        90,
        "pharmacy",
        "legitimate: checked.",
    )
