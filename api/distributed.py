"""Distributed audits on Procrastinate: one job per URL in PostgreSQL, run by `rxcheck worker`s on any machine.

* Submitting streams the URLs into `audit_urls` (PostgreSQL's COPY, in batches) and defers one `enqueue_urls`
  job, in the transaction that creates the audit. That job, run by a worker, defers the check jobs of the
  next batch of URLs and the `enqueue_urls` job after it, in one transaction that also moves the audit's
  `enqueued` mark: a batch is queued exactly once, even when a job is retried. So a list of 100,000 URLs is
  accepted in the time it takes to copy it in, and workers start on the first sites while the rest are queued.
* A `check_url` job checks one URL. Execution is at least once: a job whose worker died is retried (see
  `api/worker.py`). The result is written and the URL counted done in one statement keyed (audit, position),
  and a URL that already has a result is skipped, so a retry never writes a second row.
* Fair turns between API keys (`api/turns.py`): each check job's Procrastinate priority is its turn, negated, and
  workers take the highest priority first, so the URLs of keys with audits queued are checked in round-robin (a
  small audit submitted behind a huge one starts at once) instead of first come, first served. Queueing the next
  batch goes before every check (`ENQUEUE_PRIORITY`), so all of an audit's URLs soon hold their turns.
* Politeness across workers: each check job carries a Procrastinate `lock` named after its registrable domain
  and one of `per_domain` slots; Procrastinate runs one job per lock at a time, so at most that many sites of
  one domain are checked at once in the whole cluster (per-host limits still hold inside each crawl).
* Cancelling marks the audit `cancelled` and cancels its jobs still waiting (Procrastinate's own
  `procrastinate_cancel_job_v1`); a job already running finishes, one fetched meanwhile finds the audit
  cancelled and does nothing, and no further batch is queued.
"""

from __future__ import annotations

import logging
import time
import uuid
from collections import Counter
from collections.abc import Iterable
from dataclasses import dataclass
from typing import Any

from procrastinate import App, JobContext, PsycopgConnector, RetryStrategy
from procrastinate.jobs import Job

from rxcheck.api.settings import Settings
from rxcheck.api.storage import StoreError, URLs, describe, is_postgres_url, open_storage
from rxcheck.api.storage.postgres import PostgresStorage
from rxcheck.api.verdicts import VerdictService
from rxcheck.errors import InvalidURL
from rxcheck.facts.domain import registrable_domain
from rxcheck.urls import normalize_url

log = logging.getLogger("rxcheck.worker")

CHECK_TASK = "rxcheck.check_url"
ENQUEUE_TASK = "rxcheck.enqueue_urls"
QUEUE = "rxcheck-audits"
BATCH = 1000
ENQUEUE_PRIORITY = 10  # queueing the next batch goes before checking sites, so workers never run dry
CONTEXT_KEY = "rxcheck"
# Retries are for the database failing under a job (a crawl's own failures are results, `unreachable`).
RETRY = RetryStrategy(max_attempts=10, wait=1, exponential_wait=2)


@dataclass
class WorkerServices:
    """What a job needs, handed to it through Procrastinate's `additional_context`."""

    storage: PostgresStorage
    verdicts: VerdictService


async def check_url(context: JobContext, audit_id: str, position: int) -> str:
    """Check the URL at `position` of `audit_id` and store its result, unless it has one or the audit ended."""
    services: WorkerServices = context.additional_context[CONTEXT_KEY]
    item = await services.storage.pending_url(audit_id, position)
    if item is None:
        return "skipped"
    await services.storage.mark_running(audit_id, time.time())
    result = await services.verdicts.result_for(item.url, jurisdiction=item.jurisdiction)
    result = result.model_copy(update={"input_index": position + 1})  # a copy: the cache may share the result
    status = await services.storage.record_result(
        audit_id, position, verdict=result.verdict, result_json=result.model_dump_json(), now=time.time()
    )
    return "duplicate" if status is None else result.verdict


async def enqueue_urls(context: JobContext, audit_id: str, per_domain: int) -> int:
    """Queue the check jobs of the next batch of an audit's URLs, and this job again while URLs remain."""
    services: WorkerServices = context.additional_context[CONTEXT_KEY]
    return await enqueue_batch(context.app, services.storage, audit_id, per_domain)


async def enqueue_batch(app: App, storage: PostgresStorage, audit_id: str, per_domain: int) -> int:
    check, more = app.tasks[CHECK_TASK], app.tasks[ENQUEUE_TASK]

    async def defer(connection: Any, owner: str, batch: list[tuple[int, str]]) -> None:
        seen: Counter[str] = Counter()  # a domain's URLs in this batch take its slots in turn
        jobs: list[Job] = []
        start = batch[0][0]
        turn = await storage.reserve_turns(connection, owner, len(batch), serving=await _serving(connection))
        for offset, (position, url) in enumerate(batch):
            domain = domain_of(url)
            lock = None
            if domain is not None:
                lock = f"rxcheck:domain:{domain}:{(start + seen[domain]) % per_domain}"
                seen[domain] += 1
            kwargs = {"audit_id": audit_id, "position": position}
            jobs.append(check.configure(lock=lock, priority=-(turn + offset), task_kwargs=kwargs).job)
        if len(batch) == BATCH:
            jobs.append(more.configure(task_kwargs={"audit_id": audit_id, "per_domain": per_domain}).job)
        await app.job_manager.batch_defer_jobs_async(jobs=jobs, connection=connection)

    return await storage.enqueue_next(audit_id, limit=BATCH, enqueue=defer)


async def _serving(connection: Any) -> int | None:
    """The earliest turn among the check jobs still waiting (their priority is the turn negated), or None."""
    cur = await connection.execute(
        "SELECT max(priority) FROM procrastinate_jobs WHERE queue_name = %s AND task_name = %s AND status = 'todo'",
        (QUEUE, CHECK_TASK),
    )
    row = await cur.fetchone()
    return None if row is None or row[0] is None else -int(row[0])


def make_app() -> App:
    """A Procrastinate app with rxcheck's tasks (open it with `await app.open_async(storage.pool)`)."""
    app = App(connector=PsycopgConnector())
    app.task(name=CHECK_TASK, queue=QUEUE, retry=RETRY, pass_context=True)(check_url)
    app.task(name=ENQUEUE_TASK, queue=QUEUE, retry=RETRY, pass_context=True, priority=ENQUEUE_PRIORITY)(enqueue_urls)
    return app


def domain_of(url: str) -> str | None:
    """The registrable domain a URL's politeness lock is named after; None for a URL that cannot be checked at
    all (its job only records the error)."""
    try:
        return registrable_domain(normalize_url(url)) or None
    except InvalidURL:
        return None


class QueuedAudits:
    """Audits on PostgreSQL: submitted here, checked by workers."""

    def __init__(self, storage: PostgresStorage, *, domain_concurrency: int, max_in_flight: int | None = None) -> None:
        self._storage = storage
        self._per_domain = domain_concurrency
        self._max_in_flight = max_in_flight  # per owner: see `Storage.create_audit`
        self._app = make_app()

    async def __aenter__(self) -> QueuedAudits:
        await self._app.open_async(self._storage.pool)
        return self

    async def __aexit__(self, *exc: object) -> None:
        await self._app.close_async()

    async def submit(self, urls: URLs, *, jurisdiction: str, owner: str) -> str:
        """Store a new audit, streaming `urls` in, and queue the job that queues its checks; returns its id."""
        audit_id = uuid.uuid4().hex
        first = self._app.tasks[ENQUEUE_TASK].configure(
            task_kwargs={"audit_id": audit_id, "per_domain": self._per_domain}
        )

        async def start(connection: Any) -> None:
            await self._app.job_manager.batch_defer_jobs_async(jobs=[first.job], connection=connection)

        total = await self._storage.create_audit(
            audit_id,
            urls,
            jurisdiction=jurisdiction,
            owner=owner,
            now=time.time(),
            then=start,
            max_in_flight=self._max_in_flight,
        )
        log.info("audit %s: %d URL(s) stored, their jobs being queued", audit_id, total)
        return audit_id

    async def cancel(self, audit_id: str) -> bool:
        """Cancel an audit: its waiting jobs are dropped, running ones finish. False if it had already ended."""
        cancelled = await self._storage.cancel_audit(audit_id, time.time())
        async with self._storage.pool.connection() as conn:
            await conn.execute(
                "SELECT procrastinate_cancel_job_v1(id, false, false) FROM procrastinate_jobs"
                " WHERE queue_name = %s AND status = 'todo' AND args->>'audit_id' = %s",
                (QUEUE, audit_id),
            )
        return cancelled


async def queue_audit(settings: Settings, urls: Iterable[str], *, jurisdiction: str, owner: str) -> tuple[str, int]:
    """Queue an audit of `urls` (read as they stream) in `settings.db_path`; returns its id and size."""
    if not is_postgres_url(settings.db_path):
        where = describe(settings.db_path)
        raise StoreError(f"queued audits need a PostgreSQL database (--db postgresql://...), not {where}")
    storage = await open_storage(settings.db_path, pool_size=2)
    assert isinstance(storage, PostgresStorage)
    try:
        async with QueuedAudits(storage, domain_concurrency=settings.domain_concurrency) as audits:
            audit_id = await audits.submit(urls, jurisdiction=jurisdiction, owner=owner)
        audit = await storage.get_audit(audit_id)
        return audit_id, audit.total if audit else 0
    finally:
        await storage.close()
