"""End to end: the real server process, the real pipeline, replaying the fixture WARC over 127.0.0.1."""

from __future__ import annotations

import csv
import json
import os
import signal
import socket
import subprocess
import sys
import time
from collections.abc import Iterator
from pathlib import Path

import httpx
import pytest

from rxcheck.urls import normalize_url

REPO = Path(__file__).resolve().parents[2]
FIXTURES = REPO / "fixtures"
KEY = "k"


@pytest.fixture(scope="module")
def archive(tmp_path_factory: pytest.TempPathFactory) -> Path:
    """The fixture WARC (with urls.txt and labels.csv beside it), built into a temp folder if not built yet."""
    warc = FIXTURES / "sites.warc.gz"
    if warc.exists() and (FIXTURES / "urls.txt").exists() and (FIXTURES / "labels.csv").exists():
        return warc
    out = tmp_path_factory.mktemp("warc") / "sites.warc.gz"
    subprocess.run(
        [sys.executable, str(FIXTURES / "build_warc.py"), "--out", str(out)],
        check=True,
        capture_output=True,
        timeout=60,
    )
    return out


def _free_port() -> int:
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        return sock.getsockname()[1]


@pytest.fixture(scope="module")
def server(archive: Path, tmp_path_factory: pytest.TempPathFactory) -> Iterator[httpx.Client]:
    tmp = tmp_path_factory.mktemp("server")
    port = _free_port()
    env = {
        **os.environ,
        "RXCHECK_API_KEYS": KEY,
        "RXCHECK_IP_RATE_PER_MIN": "0",
        "PYTHONPATH": str(REPO),
    }
    log = (tmp / "server.log").open("wb")
    command = [sys.executable, "-m", "rxcheck.api.server", "--host", "127.0.0.1", "--port", str(port)]
    command += ["--replay", str(archive), "--db", str(tmp / "e2e.sqlite")]
    process = subprocess.Popen(command, cwd=REPO, env=env, stdout=log, stderr=subprocess.STDOUT)
    http = httpx.Client(base_url=f"http://127.0.0.1:{port}", trust_env=False, timeout=30)
    try:
        deadline = time.monotonic() + 30
        while True:
            assert process.poll() is None, (tmp / "server.log").read_text(errors="replace")
            try:
                if http.get("/healthz").status_code == 200:
                    break
            except httpx.TransportError:
                pass
            assert time.monotonic() < deadline, "the server did not start in 30 s"
            time.sleep(0.1)
        yield http
    finally:
        http.close()
        process.send_signal(signal.SIGINT)
        try:
            process.wait(timeout=15)
        except subprocess.TimeoutExpired:
            process.kill()
            process.wait()
        log.close()


def _labels(archive: Path) -> dict[str, str]:
    with (archive.parent / "labels.csv").open(encoding="utf-8") as fh:
        return {row["url"]: row["label"] for row in csv.DictReader(fh)}


def test_verdict_with_evidence_then_a_cache_hit(server: httpx.Client, archive: Path) -> None:
    rogue = next(url for url, label in sorted(_labels(archive).items()) if label == "rogue")

    first = server.get("/v1/verdict", params={"url": rogue})
    second = server.get("/v1/verdict", params={"url": rogue})

    assert first.status_code == 200, first.text
    body = first.json()
    assert body["cache"]["hit"] is False
    assert body["verdict"] != "unreachable", body.get("error")
    assert body["pages"]
    assert any(finding["evidence"] for finding in body["findings"])
    assert second.json()["cache"]["hit"] is True
    assert second.json()["checked_at"] == body["checked_at"]


def test_an_audit_of_every_fixture_url_finishes(server: httpx.Client, archive: Path) -> None:
    urls = [line.strip() for line in (archive.parent / "urls.txt").read_text().splitlines() if line.strip()]
    auth = {"Authorization": f"Bearer {KEY}"}

    created = server.post("/v1/audits", json={"urls": urls}, headers=auth)
    assert created.status_code == 202, created.text
    audit_id = created.json()["id"]
    deadline = time.monotonic() + 45
    while (status := server.get(f"/v1/audits/{audit_id}", headers=auth).json())["status"] != "done":
        assert status["status"] in ("queued", "running"), status
        assert time.monotonic() < deadline, status
        time.sleep(0.2)

    response = server.get(f"/v1/audits/{audit_id}/results", headers=auth)
    lines = [json.loads(line) for line in response.text.splitlines()]
    assert response.headers["content-type"] == "application/x-ndjson"
    assert status["done"] == status["total"] == len(urls)
    assert [line["url"] for line in lines] == [normalize_url(url) for url in urls]
    assert sum(status["counts"].values()) == len(urls)
    assert status["counts"]["unreachable"] < len(urls)
