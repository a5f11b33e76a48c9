"""PostgreSQL storage: psycopg 3 with its async connection pool. All of PostgreSQL's SQL lives here.

Several API processes and workers share one database. Migrations are numbered and recorded in
`rxcheck_migrations`; every process applies the missing ones on open, under a transaction-level advisory lock so
that processes starting together migrate once. Migration 2 installs Procrastinate's schema (the job queue of
distributed audits lives in the same database); a later Procrastinate release that changes its schema gets a
migration here that applies its published delta.

Results are stored in `json` columns: PostgreSQL checks they are JSON and keeps the text as the checker wrote it
(`jsonb` would reorder the keys).
"""

from __future__ import annotations

from collections.abc import AsyncIterator, Awaitable, Callable
from contextlib import asynccontextmanager

import psycopg
from psycopg_pool import AsyncConnectionPool

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
    batches,
    describe,
)
from rxcheck.api.turns import first_turn

BATCH = 1000
CONNECT_TIMEOUT_S = 10
MIGRATION_LOCK = "rxcheck:migrations"


def _procrastinate_schema() -> str:
    from procrastinate.schema import SchemaManager

    return SchemaManager.get_schema()


MIGRATIONS: list[Callable[[], str]] = [
    # 1: cache, audits, their URLs
    lambda: (
        """
    CREATE TABLE verdict_cache (
        site_key      text NOT NULL,
        jurisdiction  text NOT NULL,
        rules_version text NOT NULL,
        result        json NOT NULL,
        stored_at     double precision NOT NULL,
        max_age_s     integer NOT NULL,
        PRIMARY KEY (site_key, jurisdiction, rules_version)
    );
    CREATE TABLE audits (
        id            text PRIMARY KEY,
        status        text NOT NULL CHECK (status IN ('queued', 'running', 'done', 'failed', 'cancelled')),
        jurisdiction  text NOT NULL,
        owner         text NOT NULL,
        total         integer NOT NULL,
        done          integer NOT NULL DEFAULT 0,
        enqueued      integer NOT NULL DEFAULT 0,  -- URLs (from position 0) whose jobs are queued
        created       double precision NOT NULL,
        updated       double precision NOT NULL,
        message       text
    );
    CREATE TABLE audit_urls (
        audit_id  text NOT NULL REFERENCES audits(id) ON DELETE CASCADE,
        position  integer NOT NULL,
        url       text NOT NULL,
        verdict   text,
        result    json,
        finished  double precision,
        PRIMARY KEY (audit_id, position)
    );
    CREATE INDEX audits_unfinished ON audits (created) WHERE status IN ('queued', 'running');
    """
    ),
    # 2: Procrastinate's tables and functions (the queue of distributed audits)
    _procrastinate_schema,
    # 3: each owner's next turn in the fair order of check jobs (see `reserve_turns`)
    lambda: (
        """
    CREATE TABLE audit_turns (
        owner      text PRIMARY KEY,
        next_turn  bigint NOT NULL DEFAULT 0
    );
    CREATE INDEX audits_owner_unfinished ON audits (owner) WHERE status IN ('queued', 'running');
    """
    ),
]


class PostgresStorage(Storage):
    """A PostgreSQL database. Open with `await PostgresStorage.open(url)`, close with `await storage.close()`."""

    shared = True

    def __init__(self, url: str, pool: AsyncConnectionPool) -> None:
        self.url = url
        self.pool = pool

    @classmethod
    async def open(cls, url: str, *, pool_size: int = 10) -> PostgresStorage:
        where = describe(url)
        try:
            async with await psycopg.AsyncConnection.connect(url, connect_timeout=CONNECT_TIMEOUT_S) as conn:
                await _migrate(conn)
        except psycopg.Error as exc:
            reason = str(exc).strip().splitlines()[0] if str(exc).strip() else type(exc).__name__
            raise StoreError(f"cannot open the database {where}: {reason}") from exc
        pool = AsyncConnectionPool(
            url,
            min_size=1,
            max_size=max(2, pool_size),
            configure=_autocommit,  # not kwargs: Procrastinate opens its listener with the pool's kwargs
            open=False,
            name="rxcheck",
            check=AsyncConnectionPool.check_connection,
        )
        try:
            await pool.open(wait=True, timeout=CONNECT_TIMEOUT_S)
        except Exception as exc:
            await pool.close()
            raise StoreError(f"cannot open the database {where}: {exc}") from exc
        return cls(url, pool)

    async def close(self) -> None:
        await self.pool.close()

    async def ping(self) -> None:
        async with self.pool.connection() as conn:
            await conn.execute("SELECT count(*) FROM audits")

    async def _one(self, sql: str, params: tuple[object, ...]) -> tuple | None:
        async with self.pool.connection() as conn:
            cur = await conn.execute(sql, params)
            return await cur.fetchone()

    async def _all(self, sql: str, params: tuple[object, ...]) -> list[tuple]:
        async with self.pool.connection() as conn:
            cur = await conn.execute(sql, params)
            return await cur.fetchall()

    async def _write(self, sql: str, params: tuple[object, ...]) -> int:
        async with self.pool.connection() as conn:
            cur = await conn.execute(sql, params)
            return cur.rowcount

    # -- verdict cache --

    async def get_cached(self, site_key: str, jurisdiction: str, rules_version: str) -> CachedRow | None:
        row = await self._one(
            "SELECT result::text, stored_at, max_age_s FROM verdict_cache"
            " WHERE site_key = %s AND jurisdiction = %s AND rules_version = %s",
            (site_key, jurisdiction, rules_version),
        )
        return CachedRow(*row) if row else None

    async def put_cached(self, site_key: str, jurisdiction: str, rules_version: str, row: CachedRow) -> None:
        await self._write(
            "INSERT INTO verdict_cache VALUES (%s, %s, %s, %s, %s, %s)"
            " ON CONFLICT (site_key, jurisdiction, rules_version) DO UPDATE"
            " SET result = excluded.result, stored_at = excluded.stored_at, max_age_s = excluded.max_age_s",
            (site_key, jurisdiction, rules_version, row.result_json, row.stored_at, row.max_age_s),
        )

    async def purge_expired(self, now: float) -> int:
        return await self._write("DELETE FROM verdict_cache WHERE stored_at + max_age_s < %s", (now,))

    @asynccontextmanager
    async def site_lock(self, name: str) -> AsyncIterator[None]:
        """A transaction-level advisory lock on `name`, held by a pooled connection until the block ends (or the
        process dies: PostgreSQL releases it with the connection)."""
        async with self.pool.connection() as conn, conn.transaction():
            await conn.execute("SELECT pg_advisory_xact_lock(hashtextextended(%s, 0))", ("rxcheck:site:" + name,))
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
        total = 0
        async with self.pool.connection() as conn, conn.transaction():
            in_flight = 0
            if max_in_flight is not None:  # one submission of an owner at a time, until this one commits
                await conn.execute("SELECT pg_advisory_xact_lock(hashtextextended(%s, 0))", ("rxcheck:owner:" + owner,))
                in_flight = await _in_flight(conn, owner)
            await conn.execute(
                "INSERT INTO audits (id, status, jurisdiction, owner, total, done, created, updated)"
                " VALUES (%s, 'queued', %s, %s, 0, 0, %s, %s)",
                (audit_id, jurisdiction, owner, now, now),
            )
            async with conn.cursor() as cur:
                async for batch in batches(urls, BATCH):
                    if max_in_flight is not None and in_flight + total + len(batch) > max_in_flight:
                        raise QuotaExceeded(limit=max_in_flight, in_flight=in_flight)
                    async with cur.copy("COPY audit_urls (audit_id, position, url) FROM STDIN") as copy:
                        for position, url in batch:
                            await copy.write_row((audit_id, position, url))
                    total += len(batch)
            await conn.execute("UPDATE audits SET total = %s WHERE id = %s", (total, audit_id))
            if then is not None:
                await then(conn)
        return total

    async def enqueue_next(
        self,
        audit_id: str,
        *,
        limit: int,
        enqueue: Callable[[psycopg.AsyncConnection, str, list[tuple[int, str]]], Awaitable[None]],
    ) -> int:
        """Hand the next `limit` URLs of an audit whose jobs are not queued yet to `enqueue` (with the audit's
        owner), in one transaction that also records them as queued; returns how many (0: none left, or the audit
        has ended).

        The audit's row is locked meanwhile, so two callers never queue one URL twice."""
        async with self.pool.connection() as conn, conn.transaction():
            cur = await conn.execute(
                "SELECT enqueued, owner FROM audits WHERE id = %s AND status IN ('queued', 'running') FOR UPDATE",
                (audit_id,),
            )
            row = await cur.fetchone()
            if row is None:
                return 0
            cur = await conn.execute(
                "SELECT position, url FROM audit_urls WHERE audit_id = %s AND position >= %s"
                " ORDER BY position LIMIT %s",
                (audit_id, row[0], limit),
            )
            batch = [(position, url) for position, url in await cur.fetchall()]
            if batch:
                await enqueue(conn, row[1], batch)
                await conn.execute("UPDATE audits SET enqueued = %s WHERE id = %s", (batch[-1][0] + 1, audit_id))
            return len(batch)

    @staticmethod
    async def reserve_turns(conn: psycopg.AsyncConnection, owner: str, count: int, *, serving: int | None) -> int:
        """Reserve `count` consecutive turns for `owner`'s next jobs, in the caller's transaction; returns the first.

        `serving` is the earliest turn still waiting in the queue (None: nothing waits). See `rxcheck.api.turns`."""
        await conn.execute("INSERT INTO audit_turns (owner) VALUES (%s) ON CONFLICT DO NOTHING", (owner,))
        cur = await conn.execute("SELECT next_turn FROM audit_turns WHERE owner = %s FOR UPDATE", (owner,))
        row = await cur.fetchone()
        own = int(row[0]) if row else 0
        cur = await conn.execute("SELECT coalesce(max(next_turn), 0) FROM audit_turns")
        latest = await cur.fetchone()
        first = first_turn(own, serving=serving, latest=int(latest[0]) if latest else 0)
        await conn.execute("UPDATE audit_turns SET next_turn = %s WHERE owner = %s", (first + count, owner))
        return first

    async def in_flight(self, owner: str) -> int:
        async with self.pool.connection() as conn:
            return await _in_flight(conn, owner)

    async def get_audit(self, audit_id: str) -> AuditRow | None:
        async with self.pool.connection() as conn:
            cur = await conn.execute(
                "SELECT id, status, jurisdiction, owner, total, done, created FROM audits WHERE id = %s", (audit_id,)
            )
            row = await cur.fetchone()
            if row is None:
                return None
            cur = await conn.execute(
                "SELECT verdict, count(*) FROM audit_urls WHERE audit_id = %s AND verdict IS NOT NULL GROUP BY verdict",
                (audit_id,),
            )
            counts = {verdict: int(n) for verdict, n in await cur.fetchall()}
        return AuditRow(*row, counts=counts)

    async def mark_running(self, audit_id: str, now: float) -> None:
        await self._write(
            "UPDATE audits SET status = 'running', updated = %s WHERE id = %s AND status = 'queued'", (now, audit_id)
        )

    async def mark_failed(self, audit_id: str, message: str, now: float) -> None:
        await self._write(
            "UPDATE audits SET status = 'failed', message = %s, updated = %s WHERE id = %s", (message, now, audit_id)
        )

    async def cancel_audit(self, audit_id: str, now: float) -> bool:
        changed = await self._write(
            "UPDATE audits SET status = 'cancelled', updated = %s WHERE id = %s AND status IN ('queued', 'running')",
            (now, audit_id),
        )
        return changed == 1

    async def record_result(
        self, audit_id: str, position: int, *, verdict: str, result_json: str, now: float
    ) -> str | None:
        # One statement, so one transaction: the URL's row takes its result only if it had none (a concurrent
        # second attempt waits on the row lock, then finds it set), and only then is the audit counted.
        row = await self._one(
            "WITH url AS ("
            "  UPDATE audit_urls SET verdict = %s, result = %s, finished = %s"
            "  WHERE audit_id = %s AND position = %s AND result IS NULL RETURNING audit_id)"
            " UPDATE audits SET done = done + 1, updated = %s,"
            "  status = CASE WHEN status IN ('failed', 'cancelled') THEN status"
            "                WHEN done + 1 >= total THEN 'done' ELSE 'running' END"
            " WHERE id = (SELECT audit_id FROM url) RETURNING status",
            (verdict, result_json, now, audit_id, position, now),
        )
        return row[0] if row else None

    async def pending_url(self, audit_id: str, position: int) -> PendingURL | None:
        row = await self._one(
            "SELECT u.audit_id, u.position, u.url, a.jurisdiction, a.owner"
            " FROM audits a JOIN audit_urls u ON u.audit_id = a.id"
            " WHERE a.id = %s AND u.position = %s AND a.status IN ('queued', 'running') AND u.result IS NULL",
            (audit_id, position),
        )
        return PendingURL(*row) if row else None

    async def pending_urls(self) -> list[PendingURL]:
        rows = await self._all(
            "SELECT u.audit_id, u.position, u.url, a.jurisdiction, a.owner"
            " FROM audits a JOIN audit_urls u ON u.audit_id = a.id"
            " WHERE a.status IN ('queued', 'running') AND u.result IS NULL"
            " ORDER BY a.created, a.id, u.position",
            (),
        )
        return [PendingURL(*row) for row in rows]

    async def results_page(self, audit_id: str, *, after: int, limit: int) -> list[tuple[int, str]]:
        rows = await self._all(
            "SELECT position, result::text FROM audit_urls"
            " WHERE audit_id = %s AND position > %s AND result IS NOT NULL"
            " ORDER BY position LIMIT %s",
            (audit_id, after, limit),
        )
        return [(position, result) for position, result in rows]

    async def judged_sites(self, *, now: float, audits_since: float, limit: int) -> list[JudgedSite]:
        fields = ", ".join(
            "(result #>> '{" + ",".join(path.split(".")) + "}')" + ("::float" if path == "risk_score" else "")
            for path in JudgedSite.RESULT_PATHS
        )
        rows = await self._all(
            f"SELECT {fields}, stored_at AS t FROM verdict_cache WHERE stored_at + max_age_s >= %s"
            f" UNION ALL SELECT {fields}, finished AS t FROM audit_urls WHERE finished >= %s AND result IS NOT NULL"
            " ORDER BY t DESC LIMIT %s",
            (now, audits_since, limit),
        )
        return [JudgedSite(*row) for row in rows]


async def _in_flight(conn: psycopg.AsyncConnection, owner: str) -> int:
    cur = await conn.execute(
        "SELECT coalesce(sum(total - done), 0) FROM audits WHERE owner = %s AND status IN ('queued', 'running')",
        (owner,),
    )
    row = await cur.fetchone()
    return int(row[0]) if row else 0


async def _autocommit(conn: psycopg.AsyncConnection) -> None:
    await conn.set_autocommit(True)


async def _migrate(conn: psycopg.AsyncConnection) -> None:
    """Apply the missing migrations in one transaction, under an advisory lock (processes starting together
    wait for the first, then find nothing to do)."""
    async with conn.transaction():
        await conn.execute("SELECT pg_advisory_xact_lock(hashtextextended(%s, 0))", (MIGRATION_LOCK,))
        await conn.execute(
            "CREATE TABLE IF NOT EXISTS rxcheck_migrations ("
            " version integer PRIMARY KEY, applied_at timestamptz NOT NULL DEFAULT now())"
        )
        cur = await conn.execute("SELECT coalesce(max(version), 0) FROM rxcheck_migrations")
        row = await cur.fetchone()
        version = row[0] if row else 0
        if version > len(MIGRATIONS):
            raise psycopg.DataError(f"schema version {version} is newer than this rxcheck knows ({len(MIGRATIONS)})")
        for number, script in enumerate(MIGRATIONS[version:], start=version + 1):
            await conn.execute(script().encode("utf-8"))  # no parameters: the script's own % signs stay as they are
            await conn.execute("INSERT INTO rxcheck_migrations (version) VALUES (%s)", (number,))
