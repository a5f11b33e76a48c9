"""Throughput of distributed audits: queue a URL list in a PostgreSQL database and time it until done.

Start the workers first (as many as you want to measure), e.g. replaying the fixture WARC:

    rxcheck worker --db "$DB" --replay fixtures/sites.warc.gz --concurrency 4 &
    python bench/distributed_audit.py --db "$DB" fixtures/urls.txt

It prints the URLs checked, the wall time and sites per minute. Each run is a new audit; the verdict cache is
cleared first (`--keep-cache` keeps it); start fresh workers for each run, since each keeps verdicts in memory too.
"""

from __future__ import annotations

import argparse
import asyncio
import time
from pathlib import Path

from rxcheck.api.distributed import queue_audit
from rxcheck.api.settings import Settings
from rxcheck.api.storage import open_storage
from rxcheck.audit import read_urls


async def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--db", required=True, help="postgresql:// URL the workers use")
    parser.add_argument("urls", type=Path)
    parser.add_argument("--keep-cache", action="store_true")
    args = parser.parse_args()
    storage = await open_storage(args.db, pool_size=2)
    try:
        if not args.keep_cache:
            await storage.purge_expired(float("inf"))
        started = time.monotonic()
        with args.urls.open(encoding="utf-8") as lines:
            audit_id, total = await queue_audit(
                Settings(db_path=args.db), read_urls(lines), jurisdiction="auto", owner="bench"
            )
        queued = time.monotonic() - started
        while (audit := await storage.get_audit(audit_id)) is not None and audit.status not in ("done", "failed"):
            await asyncio.sleep(0.2)
        elapsed = time.monotonic() - started
    finally:
        await storage.close()
    print(f"{total} URLs: queued in {queued:.1f} s, done in {elapsed:.1f} s, {total / elapsed * 60:.0f} sites/min")


if __name__ == "__main__":
    asyncio.run(main())
