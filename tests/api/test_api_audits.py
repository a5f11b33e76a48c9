"""`/v1/audits`: auth, lifecycle, results as JSON Lines, limits, restart resume."""

from __future__ import annotations

import json
import sqlite3
import time
from collections.abc import Callable
from pathlib import Path

import pytest
from api_doubles import API_KEY, AUTH, FakeChecker, TestClient, wait_for_audit

from rxcheck.verdict import UNREACHABLE_SCORE


def submit(client: TestClient, urls: list[str], **extra: object) -> str:
    response = client.post("/v1/audits", json={"urls": urls, **extra}, headers=AUTH)
    assert response.status_code == 202, response.text
    assert response.json()["status"] == "queued"
    return response.json()["id"]


def results(client: TestClient, audit_id: str) -> list[dict]:
    response = client.get(f"/v1/audits/{audit_id}/results", headers=AUTH)
    assert response.status_code == 200
    assert response.headers["content-type"] == "application/x-ndjson"
    return [json.loads(line) for line in response.text.splitlines()]


@pytest.mark.parametrize(
    ("headers", "message"),
    [
        ({}, "an API key is required"),
        ({"Authorization": "Bearer wrong-key"}, "not valid"),
        ({"Authorization": f"Basic {API_KEY}"}, "an API key is required"),
        ({"Authorization": f"Bearer {API_KEY}x"}, "not valid"),
    ],
)
def test_audits_need_a_valid_key(client: TestClient, headers: dict[str, str], message: str) -> None:
    for response in (
        client.post("/v1/audits", json={"urls": ["pharmacy.example"]}, headers=headers),
        client.get("/v1/audits/" + "0" * 32, headers=headers),
        client.get("/v1/audits/" + "0" * 32 + "/results", headers=headers),
    ):
        assert response.status_code == 401
        assert response.json()["error"]["code"] == "unauthorized"
        assert message in response.json()["error"]["message"]
        assert response.headers["www-authenticate"] == "Bearer"


def test_without_configured_keys_audits_are_closed(make_client: Callable[..., TestClient]) -> None:
    client = make_client(api_keys=())

    response = client.post("/v1/audits", json={"urls": ["pharmacy.example"]}, headers=AUTH)

    assert response.status_code == 401


def test_an_audit_runs_to_done_with_a_result_for_every_url(client: TestClient, checker: FakeChecker) -> None:
    urls = [
        "https://pharmacy.example/",
        "rogue-pills.example",
        "http://rebind.example/admin",  # resolves to 127.0.0.1: refused when crawled
        "mixed.example",  # one of its addresses is private
        "dead-shop.example",
        "boom.example",
        "https://www.pharmacy.example",  # same site as the first: one crawl
    ]
    audit_id = submit(client, urls, jurisdiction="GB")

    status = wait_for_audit(client, audit_id)

    assert status["status"] == "done"
    assert (status["total"], status["done"]) == (7, 7)
    assert status["jurisdiction"] == "GB"
    assert status["counts"] == {
        "legitimate": 2,
        "not_a_pharmacy": 0,
        "unreachable": 4,
        "suspicious": 0,
        "rogue": 1,
    }
    lines = results(client, audit_id)
    assert [line["url"] for line in lines[:2]] == [
        "https://pharmacy.example/",
        "https://rogue-pills.example/",
    ]
    assert len(lines) == len(urls)
    assert [line["verdict"] for line in lines] == [
        "legitimate",
        "rogue",
        "unreachable",
        "unreachable",
        "unreachable",
        "unreachable",
        "legitimate",
    ]
    errors = [line["error"]["type"] if line["error"] else None for line in lines]
    assert errors[2:6] == ["blocked_address", "blocked_address", "fetch_error", "internal_error"]
    assert lines[2]["url"] == "http://rebind.example/admin"
    assert lines[2]["risk_score"] == UNREACHABLE_SCORE
    assert lines[6]["url"] == "https://www.pharmacy.example/"
    crawled = sorted(url.replace("www.", "") for url, _ in checker.calls)  # either pharmacy URL crawls
    assert crawled == [
        "https://boom.example/",
        "https://dead-shop.example/",
        "https://pharmacy.example/",
        "https://rogue-pills.example/",
    ]


def test_audits_reuse_the_verdict_cache(client: TestClient, checker: FakeChecker) -> None:
    client.get("/v1/verdict", params={"url": "pharmacy.example"})

    audit_id = submit(client, ["https://pharmacy.example/"])

    assert wait_for_audit(client, audit_id)["status"] == "done"
    assert len(checker.calls) == 1


def test_results_stream_in_submission_order_across_pages(client: TestClient) -> None:
    urls = [f"shop{i:04d}.example" for i in range(450)]  # more than one page of 200
    audit_id = submit(client, urls)

    assert wait_for_audit(client, audit_id)["done"] == 450
    assert [line["url"] for line in results(client, audit_id)] == [f"https://{u}/" for u in urls]
    assert [line["input_index"] for line in results(client, audit_id)] == list(range(1, 451))


def test_too_many_urls_is_413(make_client: Callable[..., TestClient]) -> None:
    client = make_client(max_urls_per_audit=3)

    response = client.post("/v1/audits", json={"urls": ["a.example"] * 4}, headers=AUTH)

    assert response.status_code == 413
    assert response.json()["error"] == {
        "code": "too_many_urls",
        "message": "4 URLs in one audit; the limit is 3",
    }


@pytest.mark.parametrize(
    "body",
    [{"urls": []}, {"urls": "pharmacy.example"}, {"urls": ["a.example"], "jurisdiction": "Mars"}, {}],
)
def test_malformed_audit_requests_are_422(client: TestClient, body: dict) -> None:
    response = client.post("/v1/audits", json=body, headers=AUTH)

    assert response.status_code == 422
    assert response.json()["error"]["code"] == "validation_error"


def test_unknown_audits_are_404(client: TestClient) -> None:
    for path in ("/v1/audits/" + "f" * 32, "/v1/audits/" + "f" * 32 + "/results"):
        response = client.get(path, headers=AUTH)
        assert response.status_code == 404
        assert response.json()["error"]["code"] == "not_found"


def test_an_audit_is_visible_only_to_the_key_that_made_it(client: TestClient) -> None:
    audit_id = submit(client, ["pharmacy.example"])

    response = client.get(f"/v1/audits/{audit_id}", headers={"Authorization": "Bearer other-key"})

    assert response.status_code == 404


def test_a_restart_resumes_unfinished_audits(make_client: Callable[..., TestClient], tmp_path: Path) -> None:
    stuck = FakeChecker()  # `block*` hosts wait for a gate that this run never opens
    first = make_client(site_checker=stuck, audit_concurrency=1)
    urls = ["a.example", "b.example", "block-c.example", "d.example"]
    audit_id = submit(first, urls)
    deadline = time.monotonic() + 5
    while first.get(f"/v1/audits/{audit_id}", headers=AUTH).json()["done"] < 2:
        assert time.monotonic() < deadline
        time.sleep(0.01)
    first.__exit__(None, None, None)  # stop the server mid-audit

    with sqlite3.connect(tmp_path / "api.sqlite") as db:
        status, done = db.execute("SELECT status, done FROM audits WHERE id = ?", (audit_id,)).fetchone()
    assert (status, done) == ("running", 2)

    resumed = FakeChecker()
    resumed.gate.set()
    second = make_client(site_checker=resumed)
    status = wait_for_audit(second, audit_id)

    assert status["status"] == "done"
    assert [line["url"] for line in results(second, audit_id)] == [f"https://{u}/" for u in urls]
    assert sorted(url for url, _ in resumed.calls) == ["https://block-c.example/", "https://d.example/"]


def test_an_audit_refuses_undecodable_names_as_invalid_url(client: TestClient, checker: FakeChecker) -> None:
    response = client.post("/v1/audits", json={"urls": ["http://xn--a{b/", "http://ü{x/"]}, headers=AUTH)

    assert response.status_code == 422  # audit URLs are checked at submission (api/audit_urls.py)
    assert [d["type"] for d in response.json()["error"]["details"]] == ["invalid_url", "invalid_url"]
    assert checker.calls == []


def test_cancelling_an_audit_drops_what_has_not_started(make_client: Callable[..., TestClient]) -> None:
    checker = FakeChecker()
    client = make_client(site_checker=checker, audit_concurrency=1)
    audit_id = submit(client, ["a.example", "block-b.example", "c.example", "d.example"])
    deadline = time.monotonic() + 5
    while len(checker.calls) < 2:  # a.example done, block-b.example being checked
        assert time.monotonic() < deadline
        time.sleep(0.01)

    cancelled = client.delete(f"/v1/audits/{audit_id}", headers=AUTH)
    checker.gate.set()
    while (final := client.get(f"/v1/audits/{audit_id}", headers=AUTH).json())["done"] < 2:
        assert time.monotonic() < deadline  # the running check finishes and keeps its result
        time.sleep(0.01)
    again = client.delete(f"/v1/audits/{audit_id}", headers=AUTH)

    assert cancelled.status_code == 200 and cancelled.json()["status"] == "cancelled"
    assert (final["status"], final["done"], final["total"]) == ("cancelled", 2, 4)
    assert [line["url"] for line in results(client, audit_id)] == ["https://a.example/", "https://block-b.example/"]
    assert [url for url, _ in checker.calls] == ["https://a.example/", "https://block-b.example/"]
    assert again.json()["status"] == "cancelled"
    assert client.delete(f"/v1/audits/{audit_id}", headers={"Authorization": "Bearer other-key"}).status_code == 404
