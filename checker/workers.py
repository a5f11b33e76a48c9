"""Facts, rules and verdicts in worker processes, so an audit uses every core while the event loop keeps fetching.

The workers are forked from the audit's process once it has loaded the rule pack, before it starts any other thread
or fetches anything: they start at once and share the pack's pages with it (copy-on-write; the pack's objects are
frozen out of the garbage collector's reach first, so that its passes do not write to, and so copy, every shared
page). Where that is not safe (the process already runs other threads or an event loop, as when the pool is started
afresh after a worker died) they come from a fork server instead, and each loads the pack itself. Either way each
worker warms its checker up itself, while the audit's process is already fetching the first sites: that process
never assesses a site, so what warming up builds would be of no use to it.

Each worker gets, per site, only what was fetched: the raw responses, which it parses again. A parsed page holds a
tree that cannot cross a process boundary, and parsing again costs little beside facts and rules; the results are the
same as in-process, since both run `Checker.assess` on the same pages.
"""

from __future__ import annotations

import asyncio
import ctypes
import gc
import multiprocessing
import os
import select
import signal
import threading
import time
from collections.abc import Callable, Sequence
from concurrent.futures import ProcessPoolExecutor
from concurrent.futures.process import BrokenProcessPool
from dataclasses import dataclass
from pathlib import Path
from typing import TYPE_CHECKING

from rxcheck.fetch import FetchResult
from rxcheck.snapshot import Page, Site

if TYPE_CHECKING:
    from rxcheck.engine.loader import RulePack
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
    """One worker per core this process may run on but one, which the fetching process keeps busy; at least one.

    On 2 cores, one worker judged a 150-site audit as fast as two (the fetching process takes most of a core) with
    60 MB less memory and less CPU (`python -m bench --workers 1` against `--workers 2`, alternating)."""
    cores = len(os.sched_getaffinity(0)) if hasattr(os, "sched_getaffinity") else os.cpu_count() or 1
    return max(1, cores - 1)


_checker: Checker | None = None  # the worker process's own, set once by `_start`


def _start(inherited: Checker | None, rules_dirs: tuple[Path, ...], policy: Policy | None, parent: int) -> None:
    """A worker's initializer: `inherited` is the parent's checker in a forked worker (passed in memory, never
    pickled); None in one from the fork server, which loads its own pack. Either way the worker warms it up here,
    while the first sites are being fetched."""
    global _checker
    signal.signal(signal.SIGINT, signal.SIG_IGN)  # Ctrl-C is the parent's to handle: it stops the pool
    threading.Thread(target=_exit_with, args=(parent,), daemon=True, name="rxcheck-parent-watch").start()
    if inherited is None:
        from rxcheck.pipeline import Checker

        inherited = Checker(rules_dirs=rules_dirs, policy=policy)
    inherited.warm_up()
    _checker = inherited


def may_fork() -> bool:
    """Whether forking this process is safe: it runs no other thread (whose locks a child would inherit held) and no
    event loop (whose sockets it would inherit)."""
    if "fork" not in multiprocessing.get_all_start_methods():
        return False
    try:
        threads = len(os.listdir("/proc/self/task"))  # threads started outside Python's threading module count too
    except OSError:
        threads = threading.active_count()
    return threads == 1 and asyncio._get_running_loop() is None  # noqa: SLF001 (the one way to ask without a loop)


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


def _malloc_trim() -> Callable[[int], int] | None:
    try:
        return ctypes.CDLL(None).malloc_trim  # glibc's
    except (OSError, AttributeError):
        return None


_trim = _malloc_trim()


def release_free_memory() -> None:
    """Give the C allocator's free pages back to the system. glibc keeps what is freed for reuse: pages that loading
    the pack freed would otherwise stay resident and be copied into each forked worker that reuses them."""
    if _trim is not None:
        _trim(0)


class AssessPool:
    """`await pool.assess(site, jurisdiction)`: `Checker.assess` run in one of `workers` processes.

    A worker that dies (killed, out of memory) does not end the audit: the pool is started afresh and the sites it
    held are tried once more there; a site that kills its worker twice raises `BrokenProcessPool`, which the audit
    reports as that site's internal error. Close it with `close()` (or `with pool:`).
    """

    def __init__(
        self, workers: int, rules_dirs: Sequence[Path] = (), policy: Policy | None = None, pack: RulePack | None = None
    ) -> None:
        """`pack`: the pack this process loaded from `rules_dirs`, which forked workers share; the fork server's
        workers load their own from `rules_dirs`."""
        if workers < 1:
            raise ValueError("workers must be >= 1")
        self.workers = workers
        self._rules_dirs = tuple(rules_dirs)
        self._policy = policy
        self._pack = pack
        self._executor: ProcessPoolExecutor | None = None

    def start(self) -> None:
        """Start the workers now: forked from this process if that is safe (see `may_fork`), so that they share its
        pack; otherwise from the fork server, and they load the pack while the first sites are fetched."""
        forked = self._pack is not None and may_fork()
        pool = self._pool(self._forked() if forked else None)
        for _ in range(self.workers):
            pool.submit(_ready)  # with fork, the first submit forks every worker, here, before any thread starts

    def _forked(self) -> Checker:
        """The checker forked workers inherit, its objects frozen."""
        from rxcheck.pipeline import Checker

        checker = Checker(pack=self._pack, policy=self._policy)
        gc.collect()
        gc.freeze()  # what exists now is never collected: the collector then writes to none of the shared pages
        release_free_memory()  # loading the pack freed about 40 MB, which each worker would otherwise copy
        return checker

    def _pool(self, inherited: Checker | None = None) -> ProcessPoolExecutor:
        if self._executor is None:
            if inherited is not None:
                context = multiprocessing.get_context("fork")
            else:  # a fork server that has imported rxcheck: its workers share those pages, and load the pack
                context = multiprocessing.get_context("forkserver")
                context.set_forkserver_preload(["rxcheck.pipeline"])
            self._executor = ProcessPoolExecutor(
                self.workers, mp_context=context,
                initializer=_start, initargs=(inherited, self._rules_dirs, self._policy, os.getpid()),
            )  # fmt: skip
        return self._executor

    async def assess(self, site: Site, jurisdiction: str = "auto") -> Result:
        return await self.assess_fetched(FetchedSite.of(site), jurisdiction)

    async def assess_fetched(self, fetched: FetchedSite, jurisdiction: str = "auto") -> Result:
        """`assess` of what was fetched: the caller may drop the parsed site meanwhile."""
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
