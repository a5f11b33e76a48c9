"""SQLite storage for the verdict cache and for audits, used from asyncio through one dedicated thread.

All SQL lives here. The connection is opened, used and closed on a single worker thread, so calls never
block the event loop and never share a connection between threads. The database runs in WAL mode with a
busy timeout; every write is its own committed transaction, so a killed process loses nothing finished.

Tables:
    verdict_cache   one row per (site_key, jurisdiction, rules_version): the Result JSON, when stored
    audits          id, status (queued|running|done|failed), jurisdiction, owner, total, done, created
    audit_urls      one row per submitted URL (audit_id, position); verdict and result JSON once checked
"""

from __future__ import annotations

import asyncio
import sqlite3
from collections.abc import Callable, Iterator, Sequence
from concurrent.futures import ThreadPoolExecutor
from contextlib import contextmanager
from dataclasses import dataclass
from pathlib import Path
from typing import TypeVar

from checker.errors import RxcheckError

T = TypeVar("T")

SCHEMA_VERSION = 1

SCHEMA = """
CREATE TABLE IF NOT EXISTS verdict_cache (
    site_key      TEXT NOT NULL,
    jurisdiction  TEXT NOT NULL,
    rules_version TEXT NOT NULL,
    result        TEXT NOT NULL,
    stored_at     REAL NOT NULL,
    max_age_s     INTEGER NOT NULL,
    PRIMARY KEY (site_key, jurisdiction, rules_version)
) WITHOUT ROWID;

CREATE TABLE IF NOT EXISTS audits (
    id            TEXT PRIMARY KEY,
    status        TEXT NOT NULL CHECK (status IN ('queued', 'running', 'done', 'failed')),
    jurisdiction  TEXT NOT NULL,
    owner         TEXT NOT NULL,
    total         INTEGER NOT NULL,
    done          INTEGER NOT NULL DEFAULT 0,
    created       REAL NOT NULL,
    updated       REAL NOT NULL,
    message       TEXT
);

CREATE TABLE IF NOT EXISTS audit_urls (
    audit_id  TEXT NOT NULL REFERENCES audits(id) ON DELETE CASCADE,
    position  INTEGER NOT NULL,
    url       TEXT NOT NULL,
    verdict   TEXT,
    result    TEXT,
    finished  REAL,
    PRIMARY KEY (audit_id, position)
);

CREATE INDEX IF NOT EXISTS audits_unfinished ON audits (created) WHERE status IN ('queued', 'running');
"""


class StoreError(RxcheckError):
    """The database cannot be opened; the message says which file and why."""

    type = "store_error"


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


class Store:
    """The database. Open with `await Store.open(path)`, close with `await store.close()`."""

    def __init__(self, path: Path) -> None:
        self.path = path
        self._executor = ThreadPoolExecutor(max_workers=1, thread_name_prefix="rxcheck-db")
        self._conn: sqlite3.Connection | None = None

    @classmethod
    async def open(cls, path: Path) -> Store:
        """Open (creating if needed) the database at `path`. Raises `StoreError` with a one-line reason."""
        store = cls(path)
        try:
            await store._run(store._connect)
        except (OSError, sqlite3.Error) as exc:
            store._executor.shutdown(wait=False)
            raise StoreError(f"cannot open the database {path}: {exc}") from exc
        except BaseException:
            store._executor.shutdown(wait=False)
            raise
        return store

    async def close(self) -> None:
        if self._conn is not None:
            await self._run(self._disconnect)
        self._executor.shutdown(wait=True)

    async def _run(self, fn: Callable[..., T], *args: object) -> T:
        loop = asyncio.get_running_loop()
        return await loop.run_in_executor(self._executor, fn, *args)

    # -- connection (on the db thread) --

    def _connect(self) -> None:
        if self.path.parent and not self.path.parent.exists():
            self.path.parent.mkdir(parents=True, exist_ok=True)
        conn = sqlite3.connect(self.path, isolation_level=None, timeout=10.0)
        conn.execute("PRAGMA busy_timeout = 10000")
        conn.execute("PRAGMA journal_mode = WAL")
        conn.execute("PRAGMA synchronous = NORMAL")
        conn.execute("PRAGMA foreign_keys = ON")
        conn.executescript(SCHEMA)
        conn.execute(f"PRAGMA user_version = {SCHEMA_VERSION}")
        self._conn = conn

    def _disconnect(self) -> None:
        assert self._conn is not None
        self._conn.close()
        self._conn = None

    @property
    def _db(self) -> sqlite3.Connection:
        if self._conn is None:
            raise RuntimeError("store is closed")
        return self._conn

    @contextmanager
    def _transaction(self) -> Iterator[sqlite3.Connection]:
        conn = self._db
        conn.execute("BEGIN IMMEDIATE")
        try:
            yield conn
        except BaseException:
            conn.execute("ROLLBACK")
            raise
        conn.execute("COMMIT")

    # -- health --

    async def ping(self) -> None:
        """Raises `sqlite3.Error` when the database cannot be read."""
        await self._run(lambda: self._db.execute("SELECT count(*) FROM audits").fetchone())

    # -- verdict cache --

    async def get_cached(self, site_key: str, jurisdiction: str, rules_version: str) -> CachedRow | None:
        def query() -> CachedRow | None:
            row = self._db.execute(
                "SELECT result, stored_at, max_age_s FROM verdict_cache"
                " WHERE site_key = ? AND jurisdiction = ? AND rules_version = ?",
                (site_key, jurisdiction, rules_version),
            ).fetchone()
            return CachedRow(*row) if row else None

        return await self._run(query)

    async def put_cached(self, site_key: str, jurisdiction: str, rules_version: str, row: CachedRow) -> None:
        def write() -> None:
            with self._transaction() as conn:
                conn.execute(
                    "INSERT OR REPLACE INTO verdict_cache VALUES (?, ?, ?, ?, ?, ?)",
                    (site_key, jurisdiction, rules_version, row.result_json, row.stored_at, row.max_age_s),
                )

        await self._run(write)

    async def purge_expired(self, now: float) -> int:
        def write() -> int:
            with self._transaction() as conn:
                cur = conn.execute("DELETE FROM verdict_cache WHERE stored_at + max_age_s < ?", (now,))
                return cur.rowcount

        return await self._run(write)

    async def judged_sites(self, *, now: float, audits_since: float, limit: int) -> list[JudgedSite]:
        """The newest verdicts from the unexpired verdict cache and from audit URLs finished since `audits_since`,
        newest first, at most `limit`: what the hash-prefix lists are built from. Only the few fields the lists
        need are read out of each result."""

        fields = ", ".join(f"json_extract(result, '$.{path}')" for path in JudgedSite.RESULT_PATHS)

        def query() -> list[JudgedSite]:
            rows = self._db.execute(
                f"SELECT {fields}, stored_at AS t FROM verdict_cache"
                " WHERE stored_at + max_age_s >= ? AND json_valid(result)"
                " UNION ALL"
                f" SELECT {fields}, finished AS t FROM audit_urls WHERE finished >= ? AND json_valid(result)"
                " ORDER BY t DESC LIMIT ?",
                (now, audits_since, limit),
            ).fetchall()
            return [JudgedSite(*row) for row in rows]

        return await self._run(query)

    # -- audits --

    async def create_audit(
        self, audit_id: str, urls: Sequence[str], *, jurisdiction: str, owner: str, now: float
    ) -> None:
        def write() -> None:
            with self._transaction() as conn:
                conn.execute(
                    "INSERT INTO audits (id, status, jurisdiction, owner, total, done, created, updated)"
                    " VALUES (?, 'queued', ?, ?, ?, 0, ?, ?)",
                    (audit_id, jurisdiction, owner, len(urls), now, now),
                )
                conn.executemany(
                    "INSERT INTO audit_urls (audit_id, position, url) VALUES (?, ?, ?)",
                    ((audit_id, i, url) for i, url in enumerate(urls)),
                )

        await self._run(write)

    async def get_audit(self, audit_id: str) -> AuditRow | None:
        def query() -> AuditRow | None:
            row = self._db.execute(
                "SELECT id, status, jurisdiction, owner, total, done, created FROM audits WHERE id = ?",
                (audit_id,),
            ).fetchone()
            if row is None:
                return None
            counts = dict(
                self._db.execute(
                    "SELECT verdict, count(*) FROM audit_urls WHERE audit_id = ? AND verdict IS NOT NULL"
                    " GROUP BY verdict",
                    (audit_id,),
                ).fetchall()
            )
            return AuditRow(*row, counts=counts)

        return await self._run(query)

    async def mark_running(self, audit_id: str, now: float) -> None:
        def write() -> None:
            with self._transaction() as conn:
                conn.execute(
                    "UPDATE audits SET status = 'running', updated = ? WHERE id = ? AND status = 'queued'",
                    (now, audit_id),
                )

        await self._run(write)

    async def mark_failed(self, audit_id: str, message: str, now: float) -> None:
        def write() -> None:
            with self._transaction() as conn:
                conn.execute(
                    "UPDATE audits SET status = 'failed', message = ?, updated = ? WHERE id = ?",
                    (message, now, audit_id),
                )

        await self._run(write)

    async def record_result(
        self, audit_id: str, position: int, *, verdict: str, result_json: str, now: float
    ) -> str | None:
        """Store one URL's result and count it done (the audit turns `done` with its last URL).

        Returns the audit's status afterwards, or None when that URL already had a result (nothing changes).
        """

        def write() -> str | None:
            with self._transaction() as conn:
                cur = conn.execute(
                    "UPDATE audit_urls SET verdict = ?, result = ?, finished = ?"
                    " WHERE audit_id = ? AND position = ? AND result IS NULL",
                    (verdict, result_json, now, audit_id, position),
                )
                if cur.rowcount != 1:
                    return None
                status = conn.execute(
                    "UPDATE audits SET done = done + 1, updated = ?,"
                    " status = CASE WHEN status = 'failed' THEN status"
                    "               WHEN done + 1 >= total THEN 'done' ELSE 'running' END"
                    " WHERE id = ? RETURNING status",
                    (now, audit_id),
                ).fetchone()
                return status[0] if status else None

        return await self._run(write)

    async def pending_urls(self) -> list[PendingURL]:
        """URLs without a result in audits still queued or running, oldest audit first."""

        def query() -> list[PendingURL]:
            rows = self._db.execute(
                "SELECT u.audit_id, u.position, u.url, a.jurisdiction"
                " FROM audits a JOIN audit_urls u ON u.audit_id = a.id"
                " WHERE a.status IN ('queued', 'running') AND u.result IS NULL"
                " ORDER BY a.created, a.id, u.position"
            ).fetchall()
            return [PendingURL(*row) for row in rows]

        return await self._run(query)

    async def results_page(self, audit_id: str, *, after: int, limit: int) -> list[tuple[int, str]]:
        """Up to `limit` finished results of an audit as (position, result JSON), positions after `after`."""

        def query() -> list[tuple[int, str]]:
            return self._db.execute(
                "SELECT position, result FROM audit_urls"
                " WHERE audit_id = ? AND position > ? AND result IS NOT NULL"
                " ORDER BY position LIMIT ?",
                (audit_id, after, limit),
            ).fetchall()

        return await self._run(query)
