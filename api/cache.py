"""The verdict cache: a bounded in-memory LRU of pre-serialised verdicts in front of the database's `verdict_cache`.

Keys are (site_key, jurisdiction, rules_version), so a new rule pack never serves old verdicts. Entries keep the
Result as the JSON bytes the API answers with (parsed back into a `Result` only when asked, for audits), so a hit
costs a dict access and no serialisation. The LRU is bounded by entries and by bytes.

A memory miss is one indexed read. Processes sharing a PostgreSQL database share its table, so a verdict stored by
one is a hit on the others; a process that holds an entry in memory reads the row again once the entry was last
confirmed more than `recheck_s` ago (only on shared stores), so a fresher verdict stored by another process (a
`fresh=true` crawl there) is served here within `recheck_s`, and one never outlives its own max age anywhere.
"""

from __future__ import annotations

import time
from collections import OrderedDict
from collections.abc import Callable
from contextlib import AbstractAsyncContextManager
from dataclasses import dataclass

from pydantic_core import to_json

from rxcheck.api.storage import CachedRow, Storage
from rxcheck.result import Result


@dataclass(frozen=True)
class CacheKey:
    site_key: str
    jurisdiction: str
    rules_version: str


URL_FIELD = b'{"url":'  # a Result's JSON begins with its URL (the model's first field)


@dataclass(frozen=True)
class CachedVerdict:
    """One cached verdict: its Result as JSON bytes (what `Result.model_dump_json` wrote), when it was stored.

    `head` is where that JSON's value after the URL begins, so the answer for any URL of the site is spliced
    together without serialising anything (`response_json`)."""

    json: bytes
    head: int
    stored_at: float
    max_age_s: int

    @classmethod
    def of(cls, result: Result, stored_at: float, max_age_s: int) -> CachedVerdict:
        json = result.model_dump_json().encode("utf-8")
        head = len(URL_FIELD) + len(to_json(result.url))
        assert json.startswith(URL_FIELD) and json.endswith(b"}"), "a Result's JSON starts with its url"
        return cls(json, head, stored_at, max_age_s)

    def response_json(self, url: str, *, hit: bool, age_s: int) -> bytes:
        """The JSON of `GET /v1/verdict`'s answer (a `VerdictResponse`): this Result shown with the `url` asked
        for, and its `cache` information."""
        cache = b'{"hit":%s,"age_s":%d,"max_age_s":%d}' % (b"true" if hit else b"false", age_s, self.max_age_s)
        rest = memoryview(self.json)[self.head : -1]  # the fields after the URL, without the closing brace
        return b"".join((URL_FIELD, to_json(url), rest, b',"cache":', cache, b"}"))

    @property
    def result(self) -> Result:
        """The Result, parsed from the JSON each time (memory keeps only the bytes, so its bound is honest)."""
        return Result.model_validate_json(self.json)

    def age_s(self, now: float) -> int:
        return max(0, int(now - self.stored_at))

    def expired(self, now: float) -> bool:
        return now - self.stored_at >= self.max_age_s


@dataclass
class _Slot:
    entry: CachedVerdict
    confirmed: float  # monotonic time the database last agreed


class VerdictCache:
    def __init__(
        self,
        store: Storage,
        *,
        ttl_s: int,
        unreachable_ttl_s: int,
        memory_entries: int,
        memory_bytes: int = 256 * 1024 * 1024,
        recheck_s: float = 5.0,
        clock: Callable[[], float] = time.time,
        monotonic: Callable[[], float] = time.monotonic,
    ) -> None:
        self._store = store
        self._memory: OrderedDict[CacheKey, _Slot] = OrderedDict()
        self._memory_entries = memory_entries
        self._memory_bytes = memory_bytes
        self._bytes = 0
        self.ttl_s = ttl_s
        self.unreachable_ttl_s = unreachable_ttl_s
        self.recheck_s = recheck_s if store.shared else None  # one process's SQLite file: memory is the truth
        self.clock = clock
        self.monotonic = monotonic

    def max_age_for(self, result: Result) -> int:
        return self.unreachable_ttl_s if result.verdict == "unreachable" else self.ttl_s

    def __len__(self) -> int:
        return len(self._memory)

    @property
    def memory_bytes(self) -> int:
        """Bytes of verdict JSON held in memory."""
        return self._bytes

    def peek(self, key: CacheKey) -> CachedVerdict | None:
        """The verdict for `key` from memory alone, if fresh and confirmed recently enough; never awaits, so the
        hot path of `GET /v1/verdict` can answer from it directly. None means: ask `get`."""
        slot = self._memory.get(key)
        if slot is None or slot.entry.expired(self.clock()) or self._due(slot):
            return None
        self._memory.move_to_end(key)
        return slot.entry

    async def get(self, key: CacheKey) -> CachedVerdict | None:
        """The cached verdict for `key` if still fresh."""
        slot = self._memory.get(key)
        if slot is None:
            entry = await self._load(key, None)
        elif self._due(slot):
            slot.confirmed = self.monotonic()  # meanwhile, other requests are served what memory holds
            entry = await self._load(key, slot.entry)
        else:
            self._memory.move_to_end(key)
            entry = slot.entry
        if entry is None:
            return None
        if entry.expired(self.clock()):
            self._forget(key)
            return None
        return entry

    async def put(self, key: CacheKey, result: Result) -> CachedVerdict:
        entry = CachedVerdict.of(result, self.clock(), self.max_age_for(result))
        if entry.max_age_s <= 0:
            return entry
        row = CachedRow(entry.json.decode("utf-8"), entry.stored_at, entry.max_age_s)
        await self._store.put_cached(key.site_key, key.jurisdiction, key.rules_version, row)
        self._remember(key, entry)
        return entry

    def site_lock(self, key: CacheKey) -> AbstractAsyncContextManager[None]:
        """Held while `key`'s site is crawled (see `Storage.site_lock`)."""
        return self._store.site_lock(f"{key.site_key}|{key.jurisdiction}|{key.rules_version}")

    def _due(self, slot: _Slot) -> bool:
        return self.recheck_s is not None and self.monotonic() - slot.confirmed >= self.recheck_s

    async def _load(self, key: CacheKey, held: CachedVerdict | None) -> CachedVerdict | None:
        """The database's row for `key`, remembered; `held` is what memory had, kept when the row is unchanged."""
        row = await self._store.get_cached(key.site_key, key.jurisdiction, key.rules_version)
        if row is None:
            self._forget(key)
            return None
        if held is not None and held.stored_at == row.stored_at:
            entry = held
        else:  # validated and written again once, so memory holds what this version of the checker writes
            entry = CachedVerdict.of(Result.model_validate_json(row.result_json), row.stored_at, row.max_age_s)
        self._remember(key, entry)
        return entry

    def _remember(self, key: CacheKey, entry: CachedVerdict) -> None:
        self._forget(key)
        if self._memory_entries <= 0 or len(entry.json) > self._memory_bytes:
            return
        self._memory[key] = _Slot(entry, self.monotonic())
        self._bytes += len(entry.json)
        while len(self._memory) > self._memory_entries or self._bytes > self._memory_bytes:
            _, dropped = self._memory.popitem(last=False)
            self._bytes -= len(dropped.entry.json)

    def _forget(self, key: CacheKey) -> None:
        dropped = self._memory.pop(key, None)
        if dropped is not None:
            self._bytes -= len(dropped.entry.json)
