"""`rxcheck worker`: run distributed audit jobs from a PostgreSQL database, on any machine that reaches it.

A worker checks up to `concurrency` sites at once through the same verdict service as the API (shared cache,
one crawl per site across processes). Procrastinate records a heartbeat for every worker; each worker also
looks, every heartbeat, for jobs left `doing` by a worker silent for `STALLED_HEARTBEATS` heartbeats (killed,
or its machine gone) and puts them back in the queue, so a `kill -9` loses nothing; the job's (audit,
position) key makes sure the retry does not write a second result. SIGINT or SIGTERM stops fetching jobs and
lets the running ones finish.
"""

from __future__ import annotations

import asyncio
import contextlib
import logging
from contextlib import AsyncExitStack

from procrastinate import App

from rxcheck.api.distributed import CONTEXT_KEY, QUEUE, WorkerServices, make_app
from rxcheck.api.settings import Settings
from rxcheck.api.storage import StoreError, describe, is_postgres_url, open_storage
from rxcheck.api.storage.postgres import PostgresStorage

log = logging.getLogger("rxcheck.worker")

STALLED_HEARTBEATS = 4


async def run_worker(settings: Settings, *, concurrency: int, name: str | None = None) -> None:
    """Run jobs until interrupted. Raises `StoreError` when the database is not a reachable PostgreSQL."""
    if not is_postgres_url(settings.db_path):
        raise StoreError(f"workers need a PostgreSQL database (--db postgresql://...), not {settings.db_path}")
    from rxcheck.api.app import open_site_fetcher, site_checker, verdict_service

    checker = site_checker(settings)
    checker.warm_up()
    async with AsyncExitStack() as stack:
        # each running job may hold a connection for its site lock and another for its queries
        storage = await open_storage(settings.db_path, pool_size=2 * concurrency + 4)
        assert isinstance(storage, PostgresStorage)
        stack.push_async_callback(storage.close)
        fetcher = await stack.enter_async_context(open_site_fetcher(settings))
        verdicts = verdict_service(settings, checker, fetcher, storage)
        stack.push_async_callback(verdicts.aclose)
        app = make_app()
        await app.open_async(storage.pool)
        stack.push_async_callback(app.close_async)
        heartbeat = settings.worker_heartbeat_s
        recovery = asyncio.create_task(_retry_stalled_jobs(app, heartbeat), name="rxcheck-stalled-jobs")
        stack.push_async_callback(_cancel, recovery)
        log.info("worker %s on %s: %d site(s) at once", name or "", describe(settings.db_path), concurrency)
        await app.run_worker_async(
            queues=[QUEUE],
            name=name,
            concurrency=concurrency,
            additional_context={CONTEXT_KEY: WorkerServices(storage=storage, verdicts=verdicts)},
            update_heartbeat_interval=heartbeat,
            stalled_worker_timeout=heartbeat * STALLED_HEARTBEATS,
            delete_jobs="successful",
            install_signal_handlers=True,
        )


async def _retry_stalled_jobs(app: App, heartbeat_s: float) -> None:
    """Every heartbeat, put the jobs of silent workers back in the queue (Procrastinate leaves this to us)."""
    while True:
        await asyncio.sleep(heartbeat_s)
        try:
            stalled = await app.job_manager.get_stalled_jobs(
                queue=QUEUE, seconds_since_heartbeat=heartbeat_s * STALLED_HEARTBEATS
            )
            for job in stalled:
                try:
                    await app.job_manager.retry_job(job)
                    log.warning("job %s (%s) of a stalled worker queued again", job.id, job.task_kwargs)
                except Exception as exc:  # another worker retried it first
                    log.debug("job %s not retried: %s", job.id, exc)
        except asyncio.CancelledError:
            raise
        except Exception as exc:
            log.warning("looking for stalled jobs failed: %s", exc)


async def _cancel(task: asyncio.Task[None]) -> None:
    task.cancel()
    with contextlib.suppress(asyncio.CancelledError):
        await task
