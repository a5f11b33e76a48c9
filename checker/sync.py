"""One check from synchronous code (scripts, notebooks): `check_sync` runs the event loop itself."""

from __future__ import annotations

import asyncio
from collections.abc import Sequence
from concurrent.futures import ThreadPoolExecutor
from pathlib import Path
from typing import Any

from rxcheck.fetch.factory import open_fetcher
from rxcheck.pipeline import Checker
from rxcheck.result import Result


def check_sync(
    url: str,
    *,
    replay: str | Path | None = None,
    jurisdiction: str = "auto",
    rules_dirs: Sequence[Path] = (),
    checker: Checker | None = None,
    **fetcher_options: Any,
) -> Result:
    """Check one site and return its result, as `await Checker().check(url, fetcher)` would.

    `replay` answers every request from a WARC archive; `fetcher_options` are those of `open_fetcher` (`save_warc`,
    `limits`, `proxy`, `ca_bundle`, `allow_private`, ...). Pass a `checker` to check many sites with one rule pack
    loaded once. Like `Checker.check`, it never raises for a bad URL or a dead site (the result is `unreachable`);
    a missing archive or a broken rule pack raise an `RxcheckError`. Where an event loop already runs in this
    thread (a Jupyter notebook), the check runs in a thread of its own.
    """
    checker = checker or Checker(rules_dirs=rules_dirs)

    async def run() -> Result:
        async with open_fetcher(replay=Path(replay) if replay else None, **fetcher_options) as fetcher:
            return await checker.check(url, fetcher, jurisdiction=jurisdiction)

    try:
        asyncio.get_running_loop()
    except RuntimeError:
        return asyncio.run(run())
    with ThreadPoolExecutor(max_workers=1) as pool:
        return pool.submit(asyncio.run, run()).result()
