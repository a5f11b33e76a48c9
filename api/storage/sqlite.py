"""SQLite storage (the embedded default), used from asyncio through one dedicated thread.

All of SQLite's SQL lives here. The connection is opened, used and closed on a single worker thread, so calls
never block the event loop and never share a connection between threads. The database runs in WAL mode with
a busy timeout; every write is its own committed transaction, so a killed process loses nothing finished.

Migrations are numbered; `PRAGMA user_version` holds the last one applied (SQLite's own per-file version
number, updated inside the migration's transaction). Version 1 is the schema from before migrations, created
with IF NOT EXISTS, so files written by earlier releases carry on.
"""

from __future__ import annotations

import asyncio
import sqlite3
import time
from collections.abc import AsyncIterable, AsyncIterator, Callable, Iterator
from concurrent.futures import ThreadPoolExecutor
from contextlib import asynccontextmanager, contextmanager
from itertools import islice
from pathlib import Path
from typing import TypeVar

from rxcheck.api.storage import (
    AuditRow,
    CachedRow,
    JudgedSite,
    PendingURL,
    QuotaExceeded,
    Storage,
    StoreError,
    TransactionHook,
    URLs,
)

T = TypeVar("T")

BATCH = 1000

MIGRATIONS: list[str] = [
    # 1: cache, audits, their URLs
    """
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
    """,
    # 2: audits can be cancelled (SQLite changes a CHECK constraint by rebuilding the table)
    """
    CREATE TABLE audits_v2 (
        id            TEXT PRIMARY KEY,
        status        TEXT NOT NULL CHECK (status IN ('queued', 'running', 'done', 'failed', 'cancelled')),
        jurisdiction  TEXT NOT NULL,
        owner         TEXT NOT NULL,
        total         INTEGER NOT NULL,
        done          INTEGER NOT NULL DEFAULT 0,
        created       REAL NOT NULL,
        updated       REAL NOT NULL,
        message       TEXT
    );
    INSERT INTO audits_v2 SELECT id, status, jurisdiction, owner, total, done, created, updated, message FROM audits;
    DROP TABLE audits;
    ALTER TABLE audits_v2 RENAME TO audits;
    CREATE INDEX audits_unfinished ON audits (created) WHERE status IN ('queued', 'running');
    """,
]


class SQLiteStorage(Storage):
    """The database file. Open with `await SQLiteStorage.open(path)`, close with `await storage.close()`."""

    def __init__(self, path: Path) -> None:
        self.path = path
        self._executor = ThreadPoolExecutor(max_workers=1, thread_name_prefix="rxcheck-db")
        self._conn: sqlite3.Connection | None = None

    @classmethod
    async def open(cls, path: Path) -> SQLiteStorage:
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
        try:
            conn.execute("PRAGMA busy_timeout = 10000")
            _set_wal(conn)
            conn.execute("PRAGMA synchronous = NORMAL")
            self._migrate(conn)
            conn.execute("PRAGMA foreign_keys = ON")
        except BaseException:
            conn.close()
            raise
        self._conn = conn

    @staticmethod
    def _migrate(conn: sqlite3.Connection) -> None:
        """Apply the migrations this file lacks, each in its own transaction with its version number.

        Foreign keys stay off meanwhile (SQLite's procedure for rebuilding a table that others reference).
        """
        for number, script in enumerate(MIGRATIONS, start=1):
            conn.execute("BEGIN IMMEDIATE")  # one process migrates; the others wait, then find it done
            try:
                version = conn.execute("PRAGMA user_version").fetchone()[0]
                if version > len(MIGRATIONS):
                    raise sqlite3.DatabaseError(
                        f"schema version {version} is newer than this rxcheck knows ({len(MIGRATIONS)})"
                    )
                if version < number:
                    for statement in script.split(";"):
                        if statement.strip():
                            conn.execute(statement)
                    conn.execute(f"PRAGMA user_version = {number}")
            except BaseException:
                conn.execute("ROLLBACK")
                raise
            conn.execute("COMMIT")

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

    @asynccontextmanager
    async def site_lock(self, name: str) -> AsyncIterator[None]:
        yield

    # -- audits --

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
        if then is not None:
            raise ValueError("SQLite audits run in-process: there is no queue to feed")
        if isinstance(urls, AsyncIterable):
            urls = [url async for url in urls]  # the SQLite connection lives on its own thread

        def write() -> int:
            with self._transaction() as conn:  # SQLite's write lock: one submission at a time
                in_flight = _in_flight(conn, owner)
                conn.execute(
                    "INSERT INTO audits (id, status, jurisdiction, owner, total, done, created, updated)"
                    " VALUES (?, 'queued', ?, ?, 0, 0, ?, ?)",
                    (audit_id, jurisdiction, owner, now, now),
                )
                numbered = enumerate(urls)
                total = 0
                while batch := list(islice(numbered, BATCH)):
                    if max_in_flight is not None and in_flight + total + len(batch) > max_in_flight:
                        raise QuotaExceeded(limit=max_in_flight, in_flight=in_flight)
                    conn.executemany(
                        "INSERT INTO audit_urls (audit_id, position, url) VALUES (?, ?, ?)",
                        ((audit_id, i, url) for i, url in batch),
                    )
                    total += len(batch)
                conn.execute("UPDATE audits SET total = ? WHERE id = ?", (total, audit_id))
                return total

        return await self._run(write)

    async def in_flight(self, owner: str) -> int:
        return await self._run(lambda: _in_flight(self._db, owner))

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
        await self._write(
            "UPDATE audits SET status = 'running', updated = ? WHERE id = ? AND status = 'queued'", (now, audit_id)
        )

    async def mark_failed(self, audit_id: str, message: str, now: float) -> None:
        await self._write(
            "UPDATE audits SET status = 'failed', message = ?, updated = ? WHERE id = ?", (message, now, audit_id)
        )

    async def cancel_audit(self, audit_id: str, now: float) -> bool:
        changed = await self._write(
            "UPDATE audits SET status = 'cancelled', updated = ? WHERE id = ? AND status IN ('queued', 'running')",
            (now, audit_id),
        )
        return changed == 1

    async def _write(self, sql: str, params: tuple[object, ...]) -> int:
        def write() -> int:
            with self._transaction() as conn:
                return conn.execute(sql, params).rowcount

        return await self._run(write)

    async def record_result(
        self, audit_id: str, position: int, *, verdict: str, result_json: str, now: float
    ) -> str | None:
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
                    " status = CASE WHEN status IN ('failed', 'cancelled') THEN status"
                    "               WHEN done + 1 >= total THEN 'done' ELSE 'running' END"
                    " WHERE id = ? RETURNING status",
                    (now, audit_id),
                ).fetchone()
                return status[0] if status else None

        return await self._run(write)

    async def pending_url(self, audit_id: str, position: int) -> PendingURL | None:
        def query() -> PendingURL | None:
            row = self._db.execute(
                "SELECT u.audit_id, u.position, u.url, a.jurisdiction, a.owner"
                " FROM audits a JOIN audit_urls u ON u.audit_id = a.id"
                " WHERE a.id = ? AND u.position = ? AND a.status IN ('queued', 'running') AND u.result IS NULL",
                (audit_id, position),
            ).fetchone()
            return PendingURL(*row) if row else None

        return await self._run(query)

    async def pending_urls(self) -> list[PendingURL]:
        def query() -> list[PendingURL]:
            rows = self._db.execute(
                "SELECT u.audit_id, u.position, u.url, a.jurisdiction, a.owner"
                " FROM audits a JOIN audit_urls u ON u.audit_id = a.id"
                " WHERE a.status IN ('queued', 'running') AND u.result IS NULL"
                " ORDER BY a.created, a.id, u.position"
            ).fetchall()
            return [PendingURL(*row) for row in rows]

        return await self._run(query)

    async def results_page(self, audit_id: str, *, after: int, limit: int) -> list[tuple[int, str]]:
        def query() -> list[tuple[int, str]]:
            return self._db.execute(
                "SELECT position, result FROM audit_urls"
                " WHERE audit_id = ? AND position > ? AND result IS NOT NULL"
                " ORDER BY position LIMIT ?",
                (audit_id, after, limit),
            ).fetchall()

        return await self._run(query)

    async def judged_sites(self, *, now: float, audits_since: float, limit: int) -> list[JudgedSite]:
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


def _in_flight(conn: sqlite3.Connection, owner: str) -> int:
    return conn.execute(
        "SELECT coalesce(sum(total - done), 0) FROM audits WHERE owner = ? AND status IN ('queued', 'running')",
        (owner,),
    ).fetchone()[0]


def _set_wal(conn: sqlite3.Connection, *, attempts: int = 50, pause_s: float = 0.1) -> None:
    """Switch the file to WAL. SQLite answers "database is locked" at once, without waiting on the busy timeout,
    when another process is switching or migrating the same new file: try again, for at most a few seconds."""
    for attempt in range(attempts):
        try:
            conn.execute("PRAGMA journal_mode = WAL")
            return
        except sqlite3.OperationalError as exc:
            if "locked" not in str(exc) or attempt == attempts - 1:
                raise
            time.sleep(pause_s)
