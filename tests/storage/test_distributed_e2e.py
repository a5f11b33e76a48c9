"""End to end on real processes: PostgreSQL, API servers and `rxcheck worker`s, all replaying the fixture WARC.

* Three workers run an audit of every fixture URL repeated to a few hundred entries; one is `kill -9`ed while
  it checks a site and a new one takes its place. Every position ends with exactly one result, and the
  verdicts are those of a single-process audit.
* Two API processes share one cache: a verdict computed by one is a hit on the other, and the same site asked
  of both at once is crawled once.
"""

from __future__ import annotations

import json
import os
import signal
import socket
import subprocess
import sys
import time
from collections.abc import Callable, Iterator
from contextlib import ExitStack
from pathlib import Path

import httpx
import psycopg
import pytest

from rxcheck.audit import read_urls
from rxcheck.urls import normalize_url

REPO = Path(__file__).resolve().parents[2]
FIXTURES = REPO / "fixtures"
KEY = "k"
AUTH = {"Authorization": f"Bearer {KEY}"}
ENTRIES = 300
HEARTBEAT_S = 1.0  # a killed worker is presumed dead after 4 of these


def _free_port() -> int:
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        return sock.getsockname()[1]


class Processes:
    """Child processes of one test, each logging to a file; all stopped at the end."""

    def __init__(self, tmp: Path, db: str, warc: Path) -> None:
        self.tmp, self.db, self.warc = tmp, db, warc
        self.env = {
            **os.environ,
            "PYTHONPATH": str(REPO),
            "RXCHECK_API_KEYS": KEY,
            "RXCHECK_IP_RATE_PER_MIN": "0",
            "RXCHECK_KEY_RATE_PER_MIN": "0",
            "RXCHECK_WORKER_HEARTBEAT_S": str(HEARTBEAT_S),
        }
        self.running: list[tuple[subprocess.Popen[bytes], Path]] = []
        self.clients: list[httpx.Client] = []

    def _start(self, name: str, command: list[str]) -> subprocess.Popen[bytes]:
        log = self.tmp / f"{name}.log"
        with log.open("wb") as out:
            process = subprocess.Popen(command, cwd=REPO, env=self.env, stdout=out, stderr=subprocess.STDOUT)
        self.running.append((process, log))
        return process

    def api(self, name: str) -> httpx.Client:
        port = _free_port()
        command = [sys.executable, "-m", "rxcheck.api.server", "--host", "127.0.0.1", "--port", str(port)]
        process = self._start(name, [*command, "--replay", str(self.warc), "--db", self.db, "--log-level", "warning"])
        http = httpx.Client(base_url=f"http://127.0.0.1:{port}", trust_env=False, timeout=60)
        self.clients.append(http)
        _wait(lambda: _healthy(http, process, self.tmp / f"{name}.log"), f"{name} did not start", 60)
        return http

    def worker(self, name: str, concurrency: int = 2) -> subprocess.Popen[bytes]:
        command = [sys.executable, "-m", "rxcheck", "worker", "--db", self.db, "--replay", str(self.warc)]
        return self._start(name, [*command, "--concurrency", str(concurrency), "--name", name])

    def logs(self) -> str:
        return "\n".join(f"--- {log.name}\n{log.read_text(errors='replace')[-3000:]}" for _, log in self.running)

    def full_log_lines(self, containing: str) -> list[str]:
        lines = (line for _, log in self.running for line in log.read_text(errors="replace").splitlines())
        return [line for line in lines if containing in line]

    def stop(self) -> None:
        for http in self.clients:
            http.close()
        for process, _ in self.running:
            if process.poll() is None:
                process.send_signal(signal.SIGINT)
        for process, _ in self.running:
            try:
                process.wait(timeout=20)
            except subprocess.TimeoutExpired:
                process.kill()
                process.wait()


def _healthy(http: httpx.Client, process: subprocess.Popen[bytes], log: Path) -> bool:
    assert process.poll() is None, log.read_text(errors="replace")
    try:
        return http.get("/healthz").status_code == 200
    except httpx.TransportError:
        return False


def _wait(condition: Callable[[], object], message: str, timeout: float) -> None:
    deadline = time.monotonic() + timeout
    while not condition():
        assert time.monotonic() < deadline, message
        time.sleep(0.1)


@pytest.fixture
def processes(tmp_path: Path, pg_url: str, fixture_warc: Path) -> Iterator[Processes]:
    group = Processes(tmp_path, pg_url, fixture_warc)
    with ExitStack() as stack:
        stack.callback(group.stop)
        yield group


def _fixture_urls() -> list[str]:
    with (FIXTURES / "urls.txt").open(encoding="utf-8") as lines:
        return list(read_urls(lines))


@pytest.fixture(scope="module")
def single_process_verdicts(fixture_warc: Path) -> dict[str, str]:
    """The verdict of every fixture URL from a plain `rxcheck audit` (one process, no database)."""
    out = subprocess.run(
        [sys.executable, "-m", "rxcheck", "audit", str(FIXTURES / "urls.txt"), "--replay", str(fixture_warc)],
        cwd=REPO,
        env={**os.environ, "PYTHONPATH": str(REPO)},
        capture_output=True,
        check=True,
        timeout=300,
    ).stdout
    results = [json.loads(line) for line in out.decode().splitlines() if line.strip()]
    return {result["url"]: result["verdict"] for result in results}


def _query(db: str, sql: str, params: tuple[object, ...] = ()) -> list[tuple]:
    with psycopg.connect(db, autocommit=True) as conn:
        return conn.execute(sql, params).fetchall()


def test_kill_9_of_a_worker_loses_and_duplicates_nothing(
    processes: Processes, single_process_verdicts: dict[str, str]
) -> None:
    db = processes.db
    api = processes.api("api")
    worker_ids: dict[str, int] = {}
    workers: dict[str, subprocess.Popen[bytes]] = {}
    for name in ("worker-1", "worker-2", "worker-3"):  # one at a time, to learn each one's id in the queue
        workers[name] = processes.worker(name)
        _wait(lambda: len(_query(db, "SELECT id FROM procrastinate_workers")) == len(worker_ids) + 1, name, 60)
        worker_ids[name] = max(row[0] for row in _query(db, "SELECT id FROM procrastinate_workers"))

    fixture_urls = _fixture_urls()
    urls = (fixture_urls * (ENTRIES // len(fixture_urls) + 1))[:ENTRIES]
    created = api.post("/v1/audits", json={"urls": urls}, headers=AUTH)
    assert created.status_code == 202, created.text
    audit_id = created.json()["id"]

    # kill worker-2 while it is checking a site
    victim = worker_ids["worker-2"]
    doing = "SELECT id FROM procrastinate_jobs WHERE status = 'doing' AND worker_id = %s"
    _wait(lambda: _query(db, doing, (victim,)), "worker-2 never took a job\n" + processes.logs(), 60)
    workers["worker-2"].send_signal(signal.SIGKILL)
    workers["worker-2"].wait(timeout=10)
    stalled = [row[0] for row in _query(db, doing, (victim,))]  # still `doing`: nobody else will finish them
    processes.worker("worker-4")

    deadline = time.monotonic() + 120
    while (status := api.get(f"/v1/audits/{audit_id}", headers=AUTH).json())["status"] != "done":
        assert status["status"] in ("queued", "running"), status
        assert time.monotonic() < deadline, f"{status}\n{processes.logs()}"
        time.sleep(0.3)

    per_position = "SELECT position, count(*) FROM audit_urls WHERE audit_id = %s GROUP BY 1 ORDER BY 1"
    rows = _query(db, per_position, (audit_id,))
    missing = _query(db, "SELECT count(*) FROM audit_urls WHERE audit_id = %s AND result IS NULL", (audit_id,))
    response = api.get(f"/v1/audits/{audit_id}/results", headers=AUTH)
    results = [json.loads(line) for line in response.text.splitlines()]

    assert rows == [(position, 1) for position in range(ENTRIES)]
    assert missing == [(0,)]
    assert status["done"] == status["total"] == ENTRIES
    assert sum(status["counts"].values()) == ENTRIES
    assert [result["url"] for result in results] == [normalize_url(url) for url in urls]
    expected = {normalize_url(url): verdict for url, verdict in single_process_verdicts.items()}
    assert [result["verdict"] for result in results] == [expected[normalize_url(url)] for url in urls]
    requeued = processes.full_log_lines("queued again")
    assert stalled, "worker-2 finished its job before the kill: nothing was left to retry"
    for job_id in stalled:  # the killed worker's job was put back by a live worker
        assert any(line.startswith(f"WARNING: rxcheck.worker: job {job_id} ") for line in requeued), requeued
    assert _query(db, "SELECT count(*) FROM procrastinate_jobs WHERE status IN ('todo', 'doing')") == [(0,)]


def test_two_api_processes_share_one_cache(processes: Processes) -> None:
    one, two = processes.api("api-1"), processes.api("api-2")
    urls = _fixture_urls()

    first = one.get("/v1/verdict", params={"url": urls[0]}).json()
    again = two.get("/v1/verdict", params={"url": urls[0]}).json()

    assert first["cache"]["hit"] is False
    assert again["cache"]["hit"] is True
    assert again["checked_at"] == first["checked_at"]

    # the same new site asked of both at once: one crawl, whose result both return
    import concurrent.futures

    with concurrent.futures.ThreadPoolExecutor(2) as pool:
        answers = list(pool.map(lambda http: http.get("/v1/verdict", params={"url": urls[1]}).json(), (one, two)))
    assert answers[0]["checked_at"] == answers[1]["checked_at"]
    assert answers[0]["verdict"] == answers[1]["verdict"]
