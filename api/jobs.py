"""Audits in this process (SQLite): many URLs checked in the background, each result stored when known.

(With PostgreSQL, audits are queued for `rxcheck worker`s instead: `api/distributed.py`.)

One queue of pending URLs is shared by all audits and drained by `concurrency` workers, so at most that many
sites are checked at once server-wide. It is a priority queue ordered by fair turns (`api/turns.py`): the URLs
of different API keys are checked in round-robin, so a small audit is not stuck behind another key's huge one.
Each URL goes through the verdict service (cache, single-flight, deadline, guard); a refused or failing URL gets
an `unreachable` result and the audit carries on. On start, every URL still without a result in a queued or
running audit is queued again, so a restart resumes unfinished audits; finished results are already committed.
"""

from __future__ import annotations

import asyncio
import contextlib
import itertools
import logging
import time
import uuid
from collections.abc import AsyncIterable
from typing import Protocol

from rxcheck.api.storage import PendingURL, Storage, URLs
from rxcheck.api.turns import first_turn
from rxcheck.api.verdicts import VerdictService

log = logging.getLogger("rxcheck.api")


class Audits(Protocol):
    """Where `/v1/audits` sends audits: this process's runner, or the queue of distributed workers."""

    async def submit(self, urls: URLs, *, jurisdiction: str, owner: str) -> str:
        """Store and queue an audit; returns its id. Raises `QuotaExceeded` when the owner has too many URLs
        queued or running."""
        ...

    async def cancel(self, audit_id: str) -> bool: ...


class AuditRunner:
    def __init__(
        self, *, store: Storage, verdicts: VerdictService, concurrency: int, max_in_flight: int | None = None
    ) -> None:
        self._store = store
        self._verdicts = verdicts
        self._concurrency = concurrency
        self._max_in_flight = max_in_flight  # per owner: see `Storage.create_audit`
        self._queue: asyncio.PriorityQueue[tuple[int, int, PendingURL]] = asyncio.PriorityQueue()
        self._queued = itertools.count()  # ties between equal turns: first queued first
        self._next_turn: dict[str, int] = {}  # owner -> the turn after its last
        self._latest = 0  # the turn after every turn handed out
        self._serving = 0  # the turn of the URL most recently taken by a worker
        self._workers: list[asyncio.Task[None]] = []
        self._started: set[str] = set()  # audits already marked running by this process
        self._failed: set[str] = set()
        self._cancelled: set[str] = set()

    async def start(self) -> int:
        """Queue the unfinished URLs found in the database and start the workers; returns how many."""
        pending = await self._store.pending_urls()
        for item in pending:
            self._put([item])
        if pending:
            audits = len({item.audit_id for item in pending})
            log.info("resuming %d audit(s): %d URL(s) to check", audits, len(pending))
        self._workers = [asyncio.create_task(self._work(), name=f"rxcheck-audit-{i}") for i in range(self._concurrency)]
        return len(pending)

    async def stop(self) -> None:
        """Stop the workers. URLs not finished stay pending in the database for the next start."""
        for task in self._workers:
            task.cancel()
        await asyncio.gather(*self._workers, return_exceptions=True)
        self._workers = []

    async def submit(self, urls: URLs, *, jurisdiction: str, owner: str) -> str:
        """Store a new audit and queue its URLs (held in this process's queue); returns its id."""
        audit_id = uuid.uuid4().hex
        urls = [url async for url in urls] if isinstance(urls, AsyncIterable) else list(urls)
        await self._store.create_audit(
            audit_id, urls, jurisdiction=jurisdiction, owner=owner, now=time.time(), max_in_flight=self._max_in_flight
        )
        self._put([PendingURL(audit_id, position, url, jurisdiction, owner) for position, url in enumerate(urls)])
        return audit_id

    def _put(self, items: list[PendingURL]) -> None:
        """Queue one owner's URLs on consecutive fair turns."""
        if not items:
            return
        owner = items[0].owner
        serving = self._serving if not self._queue.empty() else None
        turn = first_turn(self._next_turn.get(owner, 0), serving=serving, latest=self._latest)
        for item in items:
            self._queue.put_nowait((turn, next(self._queued), item))
            turn += 1
        self._next_turn[owner] = turn
        self._latest = max(self._latest, turn)

    async def cancel(self, audit_id: str) -> bool:
        """Cancel an audit: URLs not started are skipped, those being checked finish."""
        self._cancelled.add(audit_id)
        return await self._store.cancel_audit(audit_id, time.time())

    async def _work(self) -> None:
        while True:
            self._serving, _, item = await self._queue.get()
            try:
                await self._check(item)
            except asyncio.CancelledError:
                raise
            except Exception as exc:  # a database failure: the audit cannot record its results
                log.exception("audit %s: recording URL %d failed", item.audit_id, item.position)
                if item.audit_id not in self._failed:
                    self._failed.add(item.audit_id)
                    with contextlib.suppress(Exception):
                        await self._store.mark_failed(item.audit_id, f"storage error: {exc}", time.time())
            finally:
                self._queue.task_done()

    async def _check(self, item: PendingURL) -> None:
        if item.audit_id in self._failed or item.audit_id in self._cancelled:
            return
        if item.audit_id not in self._started:
            self._started.add(item.audit_id)
            await self._store.mark_running(item.audit_id, time.time())
        result = await self._verdicts.result_for(item.url, jurisdiction=item.jurisdiction)
        result = result.model_copy(update={"input_index": item.position + 1})  # a copy: the cache may share it
        status = await self._store.record_result(
            item.audit_id,
            item.position,
            verdict=result.verdict,
            result_json=result.model_dump_json(),
            now=time.time(),
        )
        if status == "done":
            self._started.discard(item.audit_id)
