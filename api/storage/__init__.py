"""Storage for the verdict cache and for audits: one interface, one module of SQL per backend.

`open_storage(db)` picks the backend from the `--db` / `RXCHECK_DB` value: a `postgresql://` (or `postgres://`)
URL opens PostgreSQL (`api/storage/postgres.py`, psycopg 3 and its async pool); anything else is a SQLite file
(`api/storage/sqlite.py`). Both apply their numbered migrations on open, so every process sees the schema it
was written for.

Migrations are a numbered list of SQL scripts per backend, each applied once in its own transaction under a
lock (SQLite's write lock, a PostgreSQL advisory lock), with the number recorded in the same transaction. Not
Alembic: it needs SQLAlchemy's engine beside psycopg's pool and a second way to connect to each database,
the SQL here is hand-written per backend anyway (Alembic's autogeneration needs ORM models, which this code
does not have), and forward-only numbered scripts are all that rolling upgrades of this schema need.

Tables (the same on both backends):
    rxcheck_migrations  the migrations applied (PostgreSQL; SQLite keeps the number in `PRAGMA user_version`)
    verdict_cache   one row per (site_key, jurisdiction, rules_version): the Result JSON, stored_at, max_age_s
    audits      id, status (queued|running|done|failed|cancelled), jurisdiction, owner, total, done, created
    audit_urls  one row per submitted URL, keyed (audit_id, position); verdict and result JSON once checked

Results are stored as the JSON the checker produced, so storage depends on none of the Result's fields.
"""

from __future__ import annotations

import sqlite3
from abc import ABC, abstractmethod
from collections.abc import AsyncIterable, AsyncIterator, Awaitable, Callable, Iterable
from contextlib import AbstractAsyncContextManager
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import psycopg
import psycopg_pool

from rxcheck.errors import RxcheckError

POSTGRES_SCHEMES = ("postgresql://", "postgres://")

# What a broken or unreachable database raises, on either backend.
DATABASE_ERRORS: tuple[type[Exception], ...] = (sqlite3.Error, psycopg.Error, psycopg_pool.PoolTimeout)

# Called by PostgreSQL's create_audit with its connection, inside the transaction that inserts the audit, so
# jobs enqueued there commit (or roll back) with the rows.
TransactionHook = Callable[[Any], Awaitable[None]]


class StoreError(RxcheckError):
    """The database cannot be opened or migrated; the message says which one and why."""

    type = "store_error"


class QuotaExceeded(Exception):
    """An audit would take its owner past the URLs it may have queued or running at once."""

    def __init__(self, *, limit: int, in_flight: int) -> None:
        self.limit = limit
        self.in_flight = in_flight
        super().__init__(
            f"this API key has {in_flight} URLs queued or running and may have at most {limit}, so at most "
            f"{max(0, limit - in_flight)} more: wait for its audits to finish, or cancel one (DELETE /v1/audits/{{id}})"
        )


@dataclass(frozen=True)
class CachedRow:
    result_json: str
    stored_at: float
    max_age_s: int


@dataclass(frozen=True)
class AuditRow:
    id: str
    status: str
    jurisdiction: str
    owner: str
    total: int
    done: int
    created: float
    counts: dict[str, int]


@dataclass(frozen=True)
class PendingURL:
    """One URL of an audit still to be checked."""

    audit_id: str
    position: int
    url: str
    jurisdiction: str
    owner: str = ""


URLs = Iterable[str] | AsyncIterable[str]  # a list, a file's lines, or a request body as it streams in


async def batches(urls: URLs, size: int) -> AsyncIterator[list[tuple[int, str]]]:
    """`urls` numbered from 0, in lists of at most `size`, read as they come."""
    batch: list[tuple[int, str]] = []
    position = 0
    if isinstance(urls, AsyncIterable):
        async for url in urls:
            batch.append((position, url))
            position += 1
            if len(batch) == size:
                yield batch
                batch = []
    else:
        for url in urls:
            batch.append((position, url))
            position += 1
            if len(batch) == size:
                yield batch
                batch = []
    if batch:
        yield batch


def is_postgres_url(db: str | Path) -> bool:
    return isinstance(db, str) and db.startswith(POSTGRES_SCHEMES)


def describe(db: str | Path) -> str:
    """`db` for messages and logs: a PostgreSQL URL without its password."""
    if not is_postgres_url(db):
        return str(db)
    try:
        params = psycopg.conninfo.conninfo_to_dict(str(db))
    except Exception:
        return "postgresql://(unreadable URL)"
    params.pop("password", None)
    return psycopg.conninfo.make_conninfo(**params)


@dataclass(frozen=True)
class JudgedSite:
    """One stored verdict, as the hash-prefix lists need it (fields of the Result JSON, and when it was stored)."""

    RESULT_PATHS = (
        "url", "final_url", "verdict", "risk_score", "checked_at", "jurisdiction", "rules_version",
        "site_type.type", "verdict_reason",
    )  # fmt: skip

    url: str | None
    final_url: str | None
    verdict: str | None
    risk_score: float | None
    checked_at: str | None
    jurisdiction: str | None
    rules_version: str | None
    site_type: str | None
    verdict_reason: str | None
    stored_at: float


class Storage(ABC):
    """What the API, the audit runner and the workers need of a database. Every method is one transaction."""

    shared = False  # whether other processes write it too (PostgreSQL): their verdicts must be seen here

    @abstractmethod
    async def close(self) -> None: ...

    @abstractmethod
    async def ping(self) -> None:
        """Raises the driver's error when the database cannot be read."""

    # -- verdict cache --

    @abstractmethod
    async def get_cached(self, site_key: str, jurisdiction: str, rules_version: str) -> CachedRow | None: ...

    @abstractmethod
    async def put_cached(self, site_key: str, jurisdiction: str, rules_version: str, row: CachedRow) -> None: ...

    @abstractmethod
    async def purge_expired(self, now: float) -> int:
        """Delete cache rows past their max age; returns how many."""

    @abstractmethod
    def site_lock(self, name: str) -> AbstractAsyncContextManager[None]:
        """Held while one site is crawled, so processes sharing the database crawl it once (a no-op on SQLite,
        whose database serves one process)."""

    # -- audits --

    @abstractmethod
    async def create_audit(
        self,
        audit_id: str,
        urls: URLs,
        *,
        jurisdiction: str,
        owner: str,
        now: float,
        then: TransactionHook | None = None,
        max_in_flight: int | None = None,
    ) -> int:
        """Store a new audit, reading `urls` in batches (never all at once); returns how many URLs it holds.

        The audit and all its URLs commit together. `then` is PostgreSQL's: see `TransactionHook`. With
        `max_in_flight`, raises `QuotaExceeded` (and stores nothing) when the owner's URLs still to check in queued
        or running audits (`in_flight`), plus these, would be more; concurrent submissions of one owner are
        counted one after the other.
        """

    @abstractmethod
    async def in_flight(self, owner: str) -> int:
        """URLs of `owner`'s queued or running audits that have no result yet."""

    @abstractmethod
    async def get_audit(self, audit_id: str) -> AuditRow | None: ...

    @abstractmethod
    async def mark_running(self, audit_id: str, now: float) -> None: ...

    @abstractmethod
    async def mark_failed(self, audit_id: str, message: str, now: float) -> None: ...

    @abstractmethod
    async def cancel_audit(self, audit_id: str, now: float) -> bool:
        """Mark a queued or running audit `cancelled`; returns False when it was already finished."""

    @abstractmethod
    async def record_result(
        self, audit_id: str, position: int, *, verdict: str, result_json: str, now: float
    ) -> str | None:
        """Store one URL's result and count it done, in one transaction (the audit turns `done` with its last
        URL). Returns the audit's status afterwards, or None when that URL already had a result: a second
        attempt at one URL changes nothing."""

    @abstractmethod
    async def pending_url(self, audit_id: str, position: int) -> PendingURL | None:
        """The URL at `position` if it still needs checking (no result yet, audit queued or running)."""

    @abstractmethod
    async def pending_urls(self) -> list[PendingURL]:
        """URLs without a result in audits still queued or running, oldest audit first."""

    @abstractmethod
    async def results_page(self, audit_id: str, *, after: int, limit: int) -> list[tuple[int, str]]:
        """Up to `limit` finished results of an audit as (position, result JSON), positions after `after`."""

    @abstractmethod
    async def judged_sites(self, *, now: float, audits_since: float, limit: int) -> list[JudgedSite]:
        """The newest verdicts from the unexpired verdict cache and from audit URLs finished since `audits_since`,
        newest first, at most `limit`: what the hash-prefix lists are built from. Only the few fields the lists
        need are read out of each result."""


async def open_storage(db: str | Path, *, pool_size: int = 10) -> Storage:
    """Open (creating and migrating if needed) the database `db`. Raises `StoreError` with a one-line reason.

    `pool_size` bounds PostgreSQL's connection pool (SQLite uses one connection).
    """
    if is_postgres_url(db):
        from rxcheck.api.storage.postgres import PostgresStorage

        return await PostgresStorage.open(str(db), pool_size=pool_size)
    from rxcheck.api.storage.sqlite import SQLiteStorage

    return await SQLiteStorage.open(Path(db))


__all__ = [
    "AuditRow",
    "DATABASE_ERRORS",
    "CachedRow",
    "PendingURL",
    "QuotaExceeded",
    "Storage",
    "StoreError",
    "TransactionHook",
    "URLs",
    "batches",
    "describe",
    "is_postgres_url",
    "open_storage",
]
