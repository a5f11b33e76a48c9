"""Facts, rules and verdicts in worker processes, so an audit uses every core while the event loop keeps fetching.

Each worker loads the rule pack once (its initializer) and gets, per site, only what was fetched: the raw
responses, which it parses again. A parsed page holds a tree that cannot cross a process boundary, and parsing
again costs little beside facts and rules; the results are the same as in-process, since both run
`Checker.assess` on the same pages.
"""

from __future__ import annotations

import asyncio
import multiprocessing
import os
import select
import signal
import threading
import time
from collections.abc import Sequence
from concurrent.futures import ProcessPoolExecutor
from concurrent.futures.process import BrokenProcessPool
from dataclasses import dataclass
from pathlib import Path
from typing import TYPE_CHECKING

from rxcheck.fetch import FetchResult
from rxcheck.snapshot import Page, Site

if TYPE_CHECKING:
    from rxcheck.pipeline import Checker
    from rxcheck.result import Result
    from rxcheck.verdict import Policy


@dataclass(frozen=True)
class FetchedSite:
    """What a crawl fetched, in a form that crosses a process boundary (no parsed trees)."""

    url: str
    start_url: str
    pages: tuple[tuple[FetchResult, str], ...]  # (response, role), in crawl order
    errors: tuple[tuple[str, str], ...]

    @classmethod
    def of(cls, site: Site) -> FetchedSite:
        return cls(site.url, site.start_url, tuple((p.source, p.role) for p in site.pages), tuple(site.errors))

    def site(self) -> Site:
        pages = [Page.from_fetch(result, role) for result, role in self.pages]
        return Site(url=self.url, start_url=self.start_url, pages=pages, errors=list(self.errors))


def default_workers() -> int:
    """One worker per core this process may run on."""
    return len(os.sched_getaffinity(0)) if hasattr(os, "sched_getaffinity") else os.cpu_count() or 1


_checker: Checker | None = None  # the worker process's own, built once by `_start`


def _start(rules_dirs: tuple[Path, ...], policy: Policy | None, parent: int) -> None:
    global _checker
    from rxcheck.pipeline import Checker

    signal.signal(signal.SIGINT, signal.SIG_IGN)  # Ctrl-C is the parent's to handle: it stops the pool
    threading.Thread(target=_exit_with, args=(parent,), daemon=True, name="rxcheck-parent-watch").start()
    _checker = Checker(rules_dirs=rules_dirs, policy=policy)
    _checker.warm_up()  # while the first sites are being fetched


def _exit_with(parent: int) -> None:
    """End this worker when the audit that started it ends, however it ended (a SIGKILL runs no cleanup, and a
    worker waiting for work would wait for ever: it holds its queue's other end itself)."""
    try:
        with open(os.pidfd_open(parent), "rb", buffering=0) as pidfd:  # readable once the parent has exited
            select.select([pidfd], [], [])
    except (AttributeError, OSError):  # no pidfd here: look every second
        while os.getppid() != 1 and _alive(parent):
            time.sleep(1)
    os._exit(0)


def _alive(pid: int) -> bool:
    try:
        os.kill(pid, 0)
    except ProcessLookupError:
        return False
    except PermissionError:
        return True
    return True


def _ready() -> None:
    """Nothing: submitted once per worker so that it starts (and loads the pack) before the first site needs it."""


def _assess(fetched: FetchedSite, jurisdiction: str) -> Result:
    assert _checker is not None, "worker started without its initializer"
    return _checker.assess(fetched.site(), jurisdiction)


class AssessPool:
    """`await pool.assess(site, jurisdiction)`: `Checker.assess` run in one of `workers` processes.

    A worker that dies (killed, out of memory) does not end the audit: the pool is started afresh and the sites it
    held are tried once more there; a site that kills its worker twice raises `BrokenProcessPool`, which the audit
    reports as that site's internal error. Close it with `close()` (or `with pool:`).
    """

    def __init__(self, workers: int, rules_dirs: Sequence[Path] = (), policy: Policy | None = None) -> None:
        if workers < 1:
            raise ValueError("workers must be >= 1")
        self.workers = workers
        self._initargs = (tuple(rules_dirs), policy, os.getpid())
        self._executor: ProcessPoolExecutor | None = None

    def start(self) -> None:
        """Start the workers now, so they load the pack while the first sites are fetched."""
        pool = self._pool()
        for _ in range(self.workers):
            pool.submit(_ready)

    def _pool(self) -> ProcessPoolExecutor:
        if self._executor is None:
            # forkserver: the workers do not inherit the event loop's threads and sockets, as fork would; the server
            # imports rxcheck once, so each worker starts with it imported (and shares those pages)
            context = multiprocessing.get_context("forkserver")
            context.set_forkserver_preload(["rxcheck.pipeline"])
            self._executor = ProcessPoolExecutor(
                self.workers, mp_context=context,
                initializer=_start, initargs=self._initargs,
            )  # fmt: skip
        return self._executor

    async def assess(self, site: Site, jurisdiction: str = "auto") -> Result:
        fetched = FetchedSite.of(site)
        for attempt in range(2):  # a dead worker fails every site it queued: each gets one more try on a new pool
            executor = self._pool()
            try:
                return await asyncio.wrap_future(executor.submit(_assess, fetched, jurisdiction))
            except BrokenProcessPool:
                if self._executor is executor:
                    self._executor = None
                    executor.shutdown(wait=False, cancel_futures=True)
                if attempt:
                    raise
        raise AssertionError("unreachable")

    def close(self) -> None:
        if self._executor is not None:
            self._executor.shutdown(wait=True, cancel_futures=True)
            self._executor = None

    def __enter__(self) -> AssessPool:
        return self

    def __exit__(self, *exc: object) -> None:
        self.close()
