"""Distributed audits in one process against a real PostgreSQL: the fan-out, exactly-once results, politeness
locks, cancelling, and the API's audit routes on PostgreSQL. The site checker is a stand-in (no crawl)."""

from __future__ import annotations

import asyncio
import json
from collections.abc import AsyncIterator
from dataclasses import dataclass, field
from pathlib import Path
from types import SimpleNamespace
from urllib.parse import urlsplit

import httpx
import psycopg
import pytest

from rxcheck.api import distributed
from rxcheck.api.app import create_app
from rxcheck.api.cache import VerdictCache
from rxcheck.api.distributed import CONTEXT_KEY, QUEUE, QueuedAudits, WorkerServices, make_app
from rxcheck.api.settings import Settings
from rxcheck.api.storage import QuotaExceeded, open_storage
from rxcheck.api.storage.postgres import PostgresStorage
from rxcheck.api.verdicts import VerdictService
from rxcheck.result import Result

KEY = "k"
AUTH = {"Authorization": f"Bearer {KEY}"}


@dataclass
class StandInChecker:
    """Rogue for hosts starting with `rogue`, else legitimate; counts its calls."""

    pack: SimpleNamespace = field(default_factory=lambda: SimpleNamespace(version="pack-1", rules=[]))
    calls: list[str] = field(default_factory=list)

    async def check(self, url: str, fetcher: object, *, jurisdiction: str = "auto") -> Result:
        self.calls.append(url)
        await asyncio.sleep(0)
        rogue = (urlsplit(url).hostname or "").startswith("rogue")
        return Result(
            url=url,
            verdict="rogue" if rogue else "legitimate",
            risk_score=90 if rogue else 5,
            jurisdiction="GB",
            rules_version="pack-1",
        )


class NoFetcher:
    async def fetch(self, url: str) -> object:  # pragma: no cover - the stand-in checker never fetches
        raise AssertionError("no fetch expected")

    async def aclose(self) -> None:
        pass


@pytest.fixture
async def storage(pg_url: str) -> AsyncIterator[PostgresStorage]:
    store = await open_storage(pg_url)
    assert isinstance(store, PostgresStorage)
    try:
        yield store
    finally:
        await store.close()


@pytest.fixture
def small_batches(monkeypatch: pytest.MonkeyPatch) -> int:
    monkeypatch.setattr(distributed, "BATCH", 10)
    return 10


async def _run_worker_until_idle(storage: PostgresStorage, checker: StandInChecker, *, concurrency: int = 3) -> None:
    """A worker in this process, run until no job is waiting (Procrastinate's `wait=False` stops as soon as one
    of its slots finds none, even while another is queueing more)."""
    cache = VerdictCache(storage, ttl_s=3600, unreachable_ttl_s=60, memory_entries=0)
    verdicts = VerdictService(
        checker=checker,
        fetcher=NoFetcher(),  # type: ignore[arg-type]
        cache=cache,
        rules_version="pack-1",
        deadline_s=10,
        resolve_hosts=False,
        allow_private=True,
    )
    app = make_app()
    await app.open_async(storage.pool)
    try:
        while await _jobs(storage, "status = 'todo'"):
            await app.run_worker_async(
                queues=[QUEUE],
                concurrency=concurrency,
                wait=False,
                install_signal_handlers=False,
                additional_context={CONTEXT_KEY: WorkerServices(storage=storage, verdicts=verdicts)},
            )
    finally:
        await app.close_async()


async def _jobs(storage: PostgresStorage, where: str = "true") -> list[tuple]:
    async with storage.pool.connection() as conn:
        cur = await conn.execute(
            f"SELECT task_name, status, lock, args FROM procrastinate_jobs WHERE {where} ORDER BY id"  # noqa: S608
        )
        return await cur.fetchall()


async def test_a_queued_audit_is_checked_once_per_url_in_batches(storage: PostgresStorage, small_batches: int) -> None:
    urls = [f"https://shop{i % 7}.example/p{i}" for i in range(34)] + ["https://rogue.example/"]
    async with QueuedAudits(storage, domain_concurrency=2) as audits:
        audit_id = await audits.submit(iter(urls), jurisdiction="GB", owner="o")

    queued = await _jobs(storage)
    checker = StandInChecker()
    await _run_worker_until_idle(storage, checker)
    audit = await storage.get_audit(audit_id)
    results = await storage.results_page(audit_id, after=-1, limit=100)

    # only the first fan-out job is queued on submission; workers queue the checks, batch after batch
    assert [(task, status) for task, status, _, _ in queued] == [("rxcheck.enqueue_urls", "todo")]
    assert audit is not None and (audit.status, audit.total, audit.done) == ("done", 35, 35)
    assert audit.counts == {"legitimate": 34, "rogue": 1}
    assert [position for position, _ in results] == list(range(35))
    assert [json.loads(result)["input_index"] for _, result in results] == list(range(1, 36))
    assert sorted(checker.calls) == sorted(urls)  # each URL crawled once (no two share a site)
    check_jobs = await _jobs(storage, "task_name = 'rxcheck.check_url'")
    assert sorted(args["position"] for _, _, _, args in check_jobs) == list(range(35))  # one job per URL
    assert {status for _, status, _, _ in await _jobs(storage)} == {"succeeded"}


async def test_a_retried_job_writes_no_second_result(storage: PostgresStorage) -> None:
    async with QueuedAudits(storage, domain_concurrency=1) as audits:
        audit_id = await audits.submit(["https://a.example/", "https://b.example/"], jurisdiction="GB", owner="o")
    checker = StandInChecker()
    await _run_worker_until_idle(storage, checker)
    before = await storage.results_page(audit_id, after=-1, limit=10)

    # the job of position 0 delivered again, as after a worker died between storing and reporting success
    app = make_app()
    await app.open_async(storage.pool)
    try:
        await app.tasks["rxcheck.check_url"].defer_async(audit_id=audit_id, position=0)
    finally:
        await app.close_async()
    await _run_worker_until_idle(storage, checker)

    assert await storage.results_page(audit_id, after=-1, limit=10) == before
    audit = await storage.get_audit(audit_id)
    assert audit is not None and (audit.done, audit.total) == (2, 2)
    assert len(checker.calls) == 2


async def test_politeness_locks_bound_each_domain_across_the_cluster(storage: PostgresStorage) -> None:
    urls = [f"https://www.shop.co.uk/p{i}" for i in range(3)] + [f"https://shop.co.uk/q{i}" for i in range(3)]
    urls += ["https://other.example/", "not a url at all"]
    async with QueuedAudits(storage, domain_concurrency=2) as audits:
        audit_id = await audits.submit(urls, jurisdiction="GB", owner="o")
    app = make_app()
    await app.open_async(storage.pool)
    try:
        await distributed.enqueue_batch(app, storage, audit_id, 2)
        again = await distributed.enqueue_batch(app, storage, audit_id, 2)  # nothing left: nothing queued twice
    finally:
        await app.close_async()

    locks = [lock for task, _, lock, _ in await _jobs(storage) if task == "rxcheck.check_url"]
    assert again == 0
    assert len(locks) == len(urls)
    assert locks[:6] == ["rxcheck:domain:shop.co.uk:0", "rxcheck:domain:shop.co.uk:1"] * 3
    assert locks[6] == "rxcheck:domain:other.example:0"
    assert locks[7] is None


async def test_keys_take_turns_a_small_audit_starts_before_a_huge_one_ends(
    storage: PostgresStorage, small_batches: int
) -> None:
    huge = [f"https://huge{i}.example/" for i in range(25)]
    small = [f"https://small{i}.example/" for i in range(3)]
    async with QueuedAudits(storage, domain_concurrency=2) as audits:
        await audits.submit(huge, jurisdiction="GB", owner="key-a")
        await audits.submit(small, jurisdiction="GB", owner="key-b")
    checker = StandInChecker()
    await _run_worker_until_idle(storage, checker, concurrency=1)

    # the first batch of the huge audit was queued first, yet the keys alternate (not first come, first served)
    assert checker.calls[:7] == [huge[0], small[0], huge[1], small[1], huge[2], small[2], huge[3]]
    assert checker.calls[7:] == huge[4:]  # the huge audit keeps its own order, its later batches included


async def test_a_key_past_its_quota_is_refused_on_postgresql(storage: PostgresStorage) -> None:
    async with QueuedAudits(storage, domain_concurrency=2, max_in_flight=4) as audits:
        await audits.submit([f"https://a{i}.example/" for i in range(3)], jurisdiction="GB", owner="o")
        with pytest.raises(QuotaExceeded):
            await audits.submit(iter([f"https://b{i}.example/" for i in range(2)]), jurisdiction="GB", owner="o")

    assert await storage.in_flight("o") == 3
    assert [task for task, _, _, _ in await _jobs(storage)] == ["rxcheck.enqueue_urls"]  # none for the refused one


async def test_cancelling_drops_the_queued_jobs(storage: PostgresStorage) -> None:
    async with QueuedAudits(storage, domain_concurrency=2) as audits:
        audit_id = await audits.submit([f"https://s{i}.example/" for i in range(5)], jurisdiction="GB", owner="o")
        app = make_app()
        await app.open_async(storage.pool)
        try:
            await distributed.enqueue_batch(app, storage, audit_id, 2)
        finally:
            await app.close_async()
        assert await audits.cancel(audit_id) is True
        assert await audits.cancel(audit_id) is False

    checker = StandInChecker()
    await _run_worker_until_idle(storage, checker)
    statuses = {status for task, status, _, _ in await _jobs(storage) if task == "rxcheck.check_url"}
    audit = await storage.get_audit(audit_id)

    assert statuses == {"cancelled"}
    assert checker.calls == []
    assert audit is not None and (audit.status, audit.done) == ("cancelled", 0)


async def test_the_api_queues_audits_on_postgresql(pg_url: str) -> None:
    settings = Settings(db_path=pg_url, api_keys=(KEY,), ip_rate_per_min=0, key_rate_per_min=0)
    app = create_app(settings, checker=StandInChecker(), fetcher=NoFetcher())  # type: ignore[arg-type]
    async with app.router.lifespan_context(app):
        transport = httpx.ASGITransport(app=app)
        async with httpx.AsyncClient(transport=transport, base_url="http://testserver") as http:
            created = await http.post("/v1/audits", json={"urls": ["a.example", "b.example"]}, headers=AUTH)
            audit_id = created.json()["id"]
            status = (await http.get(f"/v1/audits/{audit_id}", headers=AUTH)).json()
            cancelled = await http.delete(f"/v1/audits/{audit_id}", headers=AUTH)
            stranger = await http.delete(f"/v1/audits/{'0' * 32}", headers=AUTH)
            health = await http.get("/healthz")

    assert created.status_code == 202
    assert (status["status"], status["total"], status["done"]) == ("queued", 2, 0)
    assert cancelled.status_code == 200 and cancelled.json()["status"] == "cancelled"
    assert stranger.status_code == 404
    assert health.json()["db"] == "ok"
    with psycopg.connect(pg_url) as conn:
        assert conn.execute("SELECT status FROM procrastinate_jobs").fetchall() == [("cancelled",)]


async def test_a_long_list_streams_in_through_the_upload_route(db: str | Path) -> None:
    lines = ["# exported list", ""] + [f"https://s{i}.example/,shop {i}" for i in range(1200)]
    body = ("\n".join(lines) + "\n").encode()
    chunks = [body[i : i + 997] for i in range(0, len(body), 997)]  # lines cut across chunks

    async def stream() -> AsyncIterator[bytes]:
        for chunk in chunks:
            yield chunk

    limits = {"max_urls_per_audit": 1500, "max_urls_per_upload": 1500}
    settings = Settings(db_path=db, api_keys=(KEY,), ip_rate_per_min=0, key_rate_per_min=0, **limits)
    app = create_app(settings, checker=StandInChecker(), fetcher=NoFetcher())  # type: ignore[arg-type]
    async with app.router.lifespan_context(app):
        transport = httpx.ASGITransport(app=app)
        async with httpx.AsyncClient(transport=transport, base_url="http://testserver") as http:
            created = await http.post("/v1/audits/upload?jurisdiction=gb", content=stream(), headers=AUTH)
            status = (await http.get(f"/v1/audits/{created.json()['id']}", headers=AUTH)).json()
            too_many = await http.post("/v1/audits/upload", content=body + body, headers=AUTH)
            refused = await http.post("/v1/audits/upload", content=body + b"javascript:alert(1)\n", headers=AUTH)
            anonymous = await http.post("/v1/audits/upload", content=body)

    assert created.status_code == 202, created.text
    assert (status["total"], status["jurisdiction"]) == (1200, "GB")
    assert too_many.status_code == 413
    assert too_many.json()["error"]["code"] == "too_many_urls"
    assert refused.status_code == 422, refused.text
    assert refused.json()["error"]["details"] == [
        {"loc": "body.urls.1200", "msg": refused.json()["error"]["details"][0]["msg"], "type": "invalid_url"}
    ]
    assert anonymous.status_code == 401
    if isinstance(db, str):  # the refused list left nothing behind
        with psycopg.connect(db) as conn:
            assert conn.execute("SELECT count(*) FROM audits").fetchone() == (1,)
            assert conn.execute("SELECT count(*) FROM audit_urls").fetchone() == (1200,)


def test_workers_and_queued_audits_refuse_sqlite_in_one_line(tmp_path: Path) -> None:
    from typer.testing import CliRunner

    from rxcheck.cli import app as cli

    urls = tmp_path / "urls.txt"
    urls.write_text("https://a.example/\n")
    db = str(tmp_path / "one.sqlite")
    runner = CliRunner()

    worker = runner.invoke(cli, ["worker", "--db", db])
    queued = runner.invoke(cli, ["audit", "--queue", "--db", db, str(urls)])

    assert worker.exit_code == queued.exit_code == 2
    assert "workers need a PostgreSQL database" in worker.output
    assert "queued audits need a PostgreSQL database" in queued.output
    assert "Traceback" not in worker.output + queued.output
    assert not (tmp_path / "one.sqlite").exists()


async def test_one_site_asked_of_two_processes_at_once_is_crawled_once(pg_url: str) -> None:
    """Two storages and two verdict services are two API processes: the second waits on the site's advisory
    lock while the first crawls, then answers from the cache."""
    gate = asyncio.Event()

    @dataclass
    class GatedChecker(StandInChecker):
        started: asyncio.Event = field(default_factory=asyncio.Event)

        async def check(self, url: str, fetcher: object, *, jurisdiction: str = "auto") -> Result:
            self.started.set()
            await gate.wait()
            return await super().check(url, fetcher, jurisdiction=jurisdiction)

    checker = GatedChecker()
    stores = [await open_storage(pg_url), await open_storage(pg_url)]
    services = [
        VerdictService(
            checker=checker,
            fetcher=NoFetcher(),  # type: ignore[arg-type]
            cache=VerdictCache(store, ttl_s=3600, unreachable_ttl_s=60, memory_entries=100),
            rules_version="pack-1",
            deadline_s=30,
            resolve_hosts=False,
            allow_private=True,
        )
        for store in stores
    ]
    try:
        async with asyncio.timeout(20):
            first = asyncio.create_task(services[0].lookup("https://shop.example/"))
            await checker.started.wait()
            second = asyncio.create_task(services[1].lookup("https://www.shop.example/"))
            while not await _advisory_waiters(stores[1]):  # type: ignore[arg-type]
                await asyncio.sleep(0.01)
            gate.set()
            one, two = await first, await second
    finally:
        for service, store in zip(services, stores, strict=True):
            await service.aclose()
            await store.close()

    assert checker.calls == ["https://shop.example/"]
    assert (services[0].crawls, services[1].crawls) == (1, 0)
    assert one.result.checked_at == two.result.checked_at
    assert two.result.url == "https://www.shop.example/"


async def _advisory_waiters(storage: PostgresStorage) -> int:
    async with storage.pool.connection() as conn:
        cur = await conn.execute("SELECT count(*) FROM pg_locks WHERE locktype = 'advisory' AND NOT granted")
        row = await cur.fetchone()
    return int(row[0]) if row else 0
