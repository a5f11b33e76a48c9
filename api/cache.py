"""The verdict cache: a bounded in-memory LRU in front of the database's `verdict_cache` table.

Keys are (site_key, jurisdiction, rules_version), so a new rule pack never serves old verdicts. A lookup is a
dict access, or one indexed read on a memory miss; it never crawls. Processes sharing a PostgreSQL database
share its table, so a verdict stored by one is a hit on the others.
"""

from __future__ import annotations

import time
from collections import OrderedDict
from collections.abc import Callable
from contextlib import AbstractAsyncContextManager
from dataclasses import dataclass

from api.storage import CachedRow, Storage
from checker.result import Result


@dataclass(frozen=True)
class CacheKey:
    site_key: str
    jurisdiction: str
    rules_version: str


@dataclass(frozen=True)
class CachedVerdict:
    result: Result
    stored_at: float
    max_age_s: int

    def age_s(self, now: float) -> int:
        return max(0, int(now - self.stored_at))

    def expired(self, now: float) -> bool:
        return now - self.stored_at >= self.max_age_s


class VerdictCache:
    def __init__(
        self,
        store: Storage,
        *,
        ttl_s: int,
        unreachable_ttl_s: int,
        memory_entries: int,
        clock: Callable[[], float] = time.time,
    ) -> None:
        self._store = store
        self._memory: OrderedDict[CacheKey, CachedVerdict] = OrderedDict()
        self._memory_entries = memory_entries
        self.ttl_s = ttl_s
        self.unreachable_ttl_s = unreachable_ttl_s
        self.clock = clock

    def max_age_for(self, result: Result) -> int:
        return self.unreachable_ttl_s if result.verdict == "unreachable" else self.ttl_s

    async def get(self, key: CacheKey) -> CachedVerdict | None:
        """The cached verdict for `key` if still fresh."""
        now = self.clock()
        entry = self._memory.get(key)
        if entry is None:
            row = await self._store.get_cached(key.site_key, key.jurisdiction, key.rules_version)
            if row is None:
                return None
            entry = CachedVerdict(Result.model_validate_json(row.result_json), row.stored_at, row.max_age_s)
            self._remember(key, entry)
        else:
            self._memory.move_to_end(key)
        if entry.expired(now):
            self._memory.pop(key, None)
            return None
        return entry

    async def put(self, key: CacheKey, result: Result) -> CachedVerdict:
        entry = CachedVerdict(result, self.clock(), self.max_age_for(result))
        if entry.max_age_s <= 0:
            return entry
        row = CachedRow(result.model_dump_json(), entry.stored_at, entry.max_age_s)
        await self._store.put_cached(key.site_key, key.jurisdiction, key.rules_version, row)
        self._remember(key, entry)
        return entry

    def site_lock(self, key: CacheKey) -> AbstractAsyncContextManager[None]:
        """Held while `key`'s site is crawled (see `Storage.site_lock`)."""
        return self._store.site_lock(f"{key.site_key}|{key.jurisdiction}|{key.rules_version}")

    def _remember(self, key: CacheKey, entry: CachedVerdict) -> None:
        if self._memory_entries <= 0:
            return
        self._memory[key] = entry
        self._memory.move_to_end(key)
        while len(self._memory) > self._memory_entries:
            self._memory.popitem(last=False)
