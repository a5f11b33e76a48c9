"""Sites judged in worker processes come out exactly as judged in-process, and a dead worker does not end an audit."""

from __future__ import annotations

import json
import os
import signal
import subprocess
import sys
import time
from pathlib import Path

import pytest

from rxcheck.audit import audit, read_urls
from rxcheck.fetch.archive import ArchiveFetcher
from rxcheck.pipeline import Checker
from rxcheck.snapshot import Page, Site
from tests.conftest import FIXTURES, ROOT

URLS = list(read_urls((FIXTURES / "urls.txt").read_text().splitlines()))[:10]


@pytest.fixture(scope="module")
def pooled():
    checker = Checker(workers=2)
    yield checker
    checker.close()


async def run(checker: Checker, warc, urls: list[str]) -> dict[str, dict]:
    results: dict[str, dict] = {}
    async with ArchiveFetcher(warc) as fetcher:
        await audit(urls, checker, fetcher, on_result=lambda r: results.setdefault(r.url, _comparable(r)))
    return results


def _comparable(result) -> dict:
    return result.model_dump(exclude={"checked_at"})


async def test_results_are_the_same_with_and_without_workers(pooled, checker, fixture_warc):
    in_process = await run(checker, fixture_warc, URLS)
    assert await run(pooled, fixture_warc, URLS) == in_process
    assert {r["verdict"] for r in in_process.values()} - {"unreachable"}  # real verdicts, not errors compared


async def test_a_killed_worker_costs_no_result(pooled, checker, fixture_warc):
    await run(pooled, fixture_warc, URLS[:1])  # the pool is up
    for pid in list(pooled.pool._executor._processes):  # noqa: SLF001 (a test may reach in to kill)
        os.kill(pid, signal.SIGKILL)
    assert await run(pooled, fixture_warc, URLS[:3]) == await run(checker, fixture_warc, URLS[:3])


def test_workers_take_the_pack_from_rules_dirs():
    with pytest.raises(ValueError, match="rules_dirs"):
        Checker(workers=2, pack=Checker().pack)


IN_AND_OUT = """
import asyncio, json, os, sys
from rxcheck.audit import audit
from rxcheck.fetch.archive import ArchiveFetcher
from rxcheck.pipeline import Checker

async def results(checker, urls):
    found = {}
    async with ArchiveFetcher(sys.argv[1]) as fetcher:
        await audit(urls, checker, fetcher, on_result=lambda r: found.setdefault(r.url, r.model_dump(
            mode="json", exclude={"checked_at"})))
    return found

if __name__ == "__main__":
    urls = sys.argv[2:]
    pooled = Checker(workers=2)  # first, in a process with one thread: forked workers
    parents = {f.result() for f in [pooled.pool._pool().submit(os.getppid) for _ in range(8)]}
    out = {"forked": parents == {os.getpid()}, "pooled": asyncio.run(results(pooled, urls))}
    pooled.close()
    out["in_process"] = asyncio.run(results(Checker(), urls))
    print(json.dumps(out))
"""


def test_forked_workers_share_the_pack_and_judge_as_in_process(tmp_path, fixture_warc):
    script = tmp_path / "in_and_out.py"
    script.write_text(IN_AND_OUT)
    done = subprocess.run([sys.executable, str(script), str(fixture_warc), *URLS], capture_output=True, text=True,
                          cwd=ROOT, env={**os.environ, "PYTHONPATH": str(ROOT)}, check=True)  # fmt: skip
    out = json.loads(done.stdout)
    assert out["forked"]  # each worker's parent is the process that loaded the pack, not the fork server
    assert out["pooled"] == out["in_process"]
    assert {r["verdict"] for r in out["in_process"].values()} - {"unreachable"}


WITH_A_THREAD = """
import os, threading
from rxcheck.pipeline import Checker
if __name__ == "__main__":
    threading.Thread(target=threading.Event().wait, daemon=True).start()
    checker = Checker(workers=2)
    print(os.getpid() in {f.result() for f in [checker.pool._pool().submit(os.getppid) for _ in range(8)]})
    checker.close()
"""


def test_a_process_running_threads_takes_its_workers_from_the_fork_server(tmp_path):
    script = tmp_path / "with_a_thread.py"
    script.write_text(WITH_A_THREAD)
    done = subprocess.run([sys.executable, str(script)], capture_output=True, text=True, cwd=ROOT,
                          env={**os.environ, "PYTHONPATH": str(ROOT)}, check=True)  # fmt: skip
    assert done.stdout.strip() == "False"  # no worker is this process's child: they are the fork server's


STARTS_WORKERS = """
import sys
from rxcheck.pipeline import Checker
if __name__ == "__main__":
    checker = Checker(workers=2)
    for future in [checker.pool._pool().submit(__import__("os").getpid) for _ in range(8)]:
        print(future.result(), flush=True)
    sys.stdin.read()
"""


def test_workers_end_when_the_audit_is_killed(tmp_path):
    script = tmp_path / "starts_workers.py"
    script.write_text(STARTS_WORKERS)
    with subprocess.Popen([sys.executable, str(script)], stdin=subprocess.PIPE, stdout=subprocess.PIPE, text=True,
                          cwd=ROOT, env={**os.environ, "PYTHONPATH": str(ROOT)}) as parent:  # fmt: skip
        workers = {int(parent.stdout.readline()) for _ in range(8)}
        assert parent.pid not in workers and workers
        parent.kill()  # SIGKILL: no cleanup runs in the parent
    for _ in range(300):  # a wait, not a timing bound: each worker notices within moments
        if not any(_running(pid) for pid in workers):
            break
        time.sleep(0.1)
    assert not any(_running(pid) for pid in workers)


def _running(pid: int) -> bool:
    try:
        state = Path(f"/proc/{pid}/stat").read_text().rsplit(")", 1)[1].split()[0]
    except OSError:
        return False
    return state != "Z"


async def test_an_exception_in_a_worker_is_raised_here_as_itself(pooled):
    page = Page(
        url=URLS[0],
        final_url=URLS[0],
        status=200,
        headers={},
        content_type="text/html",
        role="home",
        redirects=[URLS[0]],
        doc=None,
    )  # no response kept: the worker cannot read the page
    with pytest.raises(AttributeError):
        await pooled.pool.assess(Site(url=URLS[0], start_url=URLS[0], pages=[page]))
