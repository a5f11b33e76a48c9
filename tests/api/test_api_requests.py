"""What every answer carries (nosniff, Cache-Control) and how request bodies are refused: content type, broken
JSON, unknown fields, audit URLs; the Location of a new audit; the warning when no key is configured."""

from __future__ import annotations

import logging
import sqlite3
import time
from collections.abc import Callable
from pathlib import Path

import pytest
from api_doubles import AUTH, TestClient


@pytest.mark.parametrize(
    ("method", "path", "status"),
    [
        ("GET", "/v1/rules", 200),
        ("GET", "/healthz", 200),
        ("GET", "/openapi.json", 200),
        ("GET", "/docs", 200),
        ("GET", "/nowhere", 404),
        ("GET", "/v1/verdict?url=ftp://x.example", 400),
        ("GET", "/v1/audits/" + "f" * 32, 401),
        ("DELETE", "/v1/rules", 405),
        ("GET", "/v1/verdict", 422),
        ("GET", "/v1/verdict?url=boom.example", 500),
    ],
)
def test_every_answer_has_nosniff_and_cache_control(
    make_client: Callable[..., TestClient], method: str, path: str, status: int
) -> None:
    client = make_client(raise_errors=False)

    response = client.request(method, path)

    assert response.status_code == status
    assert response.headers["x-content-type-options"] == "nosniff"
    assert response.headers["cache-control"] == "no-store"


def test_rate_limited_answers_are_not_stored(make_client: Callable[..., TestClient]) -> None:
    client = make_client(ip_rate_per_min=1, ip_burst=1)
    client.get("/v1/rules")

    response = client.get("/v1/rules")

    assert response.status_code == 429
    assert response.headers["cache-control"] == "no-store"
    assert response.headers["x-content-type-options"] == "nosniff"


def test_a_verdict_may_be_cached_for_what_remains_of_its_lifetime(client: TestClient) -> None:
    fresh = client.get("/v1/verdict", params={"url": "pharmacy.example"})
    client.app.state.services.verdicts.cache.clock = lambda: time.time() + 600  # type: ignore[attr-defined]
    aged = client.get("/v1/verdict", params={"url": "pharmacy.example"})
    unreachable = client.get("/v1/verdict", params={"url": "dead-shop.example"})

    assert fresh.headers["cache-control"] == f"public, max-age={24 * 3600}"
    assert aged.json()["cache"]["age_s"] == 600
    assert aged.headers["cache-control"] == f"public, max-age={24 * 3600 - 600}"
    assert unreachable.headers["cache-control"] == "public, max-age=900"  # unreachable_ttl_s
    assert fresh.headers["x-content-type-options"] == "nosniff"


def test_verdicts_behind_a_key_stay_out_of_shared_caches(make_client: Callable[..., TestClient]) -> None:
    client = make_client(verdict_requires_key=True)

    response = client.get("/v1/verdict", params={"url": "pharmacy.example"}, headers=AUTH)

    assert response.headers["cache-control"] == f"private, max-age={24 * 3600}"


def test_a_verdict_that_cannot_be_cached_says_so(make_client: Callable[..., TestClient]) -> None:
    client = make_client(cache_ttl_s=0)

    response = client.get("/v1/verdict", params={"url": "pharmacy.example"})

    assert response.headers["cache-control"] == "no-cache"


@pytest.mark.parametrize(
    "content_type",
    [None, "text/plain", "application/x-www-form-urlencoded", "multipart/form-data; boundary=x", "application/xml"],
)
def test_an_audit_body_that_is_not_json_is_415(client: TestClient, content_type: str | None) -> None:
    headers = dict(AUTH) | ({"Content-Type": content_type} if content_type else {})

    response = client.post("/v1/audits", content=b'{"urls": ["pharmacy.example"]}', headers=headers)

    assert response.status_code == 415
    error = response.json()["error"]
    assert error["code"] == "unsupported_media_type"
    assert "Content-Type: application/json" in error["message"]
    assert repr(content_type) in error["message"] if content_type else "got none" in error["message"]


@pytest.mark.parametrize("content_type", ["application/json; charset=utf-8", "application/vnd.rxcheck+json"])
def test_json_media_types_are_accepted(client: TestClient, content_type: str) -> None:
    response = client.post(
        "/v1/audits", content=b'{"urls": ["pharmacy.example"]}', headers={**AUTH, "Content-Type": content_type}
    )

    assert response.status_code == 202


@pytest.mark.parametrize(
    ("body", "message"),
    [
        (b"{not json", "the body is not valid JSON: Expecting property name enclosed in double quotes at line 1, "
         "column 2"),
        (b'{"urls": [\n  "a.example",\n]}', "the body is not valid JSON: Expecting value at line 3, column 1"),
    ],
)  # fmt: skip
def test_broken_json_is_a_400_that_says_where(client: TestClient, body: bytes, message: str) -> None:
    response = client.post("/v1/audits", content=body, headers={**AUTH, "Content-Type": "application/json"})

    assert response.status_code == 400
    assert response.json()["error"] == {"code": "invalid_json", "message": message}


def test_an_unknown_field_is_refused_by_name(client: TestClient) -> None:
    response = client.post("/v1/audits", json={"urls": ["pharmacy.example"], "jurisdication": "GB"}, headers=AUTH)

    assert response.status_code == 422
    error = response.json()["error"]
    assert error["code"] == "validation_error"
    assert error["message"] == "body.jurisdication: unknown field"
    assert error["details"] == [{"loc": "body.jurisdication", "msg": "unknown field", "type": "extra_forbidden"}]


def test_a_new_audit_has_a_location(client: TestClient) -> None:
    response = client.post("/v1/audits", json={"urls": ["pharmacy.example"]}, headers=AUTH)

    assert response.status_code == 202
    location = response.headers["location"]
    assert location == f"/v1/audits/{response.json()['id']}"
    assert client.get(location, headers=AUTH).json()["id"] == response.json()["id"]


def _audits_stored(db: Path) -> int:
    with sqlite3.connect(db) as conn:
        return conn.execute("SELECT COUNT(*) FROM audits").fetchone()[0]


def test_an_audit_with_refused_urls_is_refused_with_each_one_listed(client: TestClient, tmp_path: Path) -> None:
    urls = [
        "https://pharmacy.example/",
        "https://pharmacy.example/" + "a" * 2_000_000,
        "ftp://files.example/",
        "http://10.0.0.1/admin",
        "javascript:alert(1)",
        "http://",
        "rogue-pills.example",
    ]

    response = client.post("/v1/audits", json={"urls": urls}, headers=AUTH)

    assert response.status_code == 422
    error = response.json()["error"]
    assert error["code"] == "invalid_urls"
    assert error["message"].startswith("5 of 7 URLs refused, nothing was queued; first body.urls.1: ")
    assert error["message"].endswith("(and 4 more)")
    assert [(d["loc"], d["type"]) for d in error["details"]] == [
        ("body.urls.1", "invalid_url"),
        ("body.urls.2", "invalid_url"),
        ("body.urls.3", "blocked_address"),
        ("body.urls.4", "invalid_url"),
        ("body.urls.5", "invalid_url"),
    ]
    assert "2048" in error["details"][0]["msg"]
    assert len(response.content) < 5000  # the long URL is not echoed back
    assert _audits_stored(tmp_path / "api.sqlite") == 0


def test_an_audit_url_on_a_port_not_allowed_is_refused_as_the_verdict_refuses_it(client: TestClient) -> None:
    verdict = client.get("/v1/verdict", params={"url": "https://pharmacy.example:8080/"})
    audit = client.post("/v1/audits", json={"urls": ["https://pharmacy.example:8080/"]}, headers=AUTH)

    assert verdict.status_code == 400
    assert audit.status_code == 422
    detail = audit.json()["error"]["details"][0]
    assert (detail["type"], detail["msg"]) == (verdict.json()["error"]["code"], verdict.json()["error"]["message"])


def test_a_long_list_of_refused_urls_is_listed_up_to_a_bound(client: TestClient) -> None:
    response = client.post("/v1/audits", json={"urls": ["ftp://x.example"] * 1000}, headers=AUTH)

    error = response.json()["error"]
    assert error["message"].startswith("1000 of 1000 URLs refused")
    assert len(error["details"]) == 100


def test_private_literals_pass_when_private_addresses_are_allowed(make_client: Callable[..., TestClient]) -> None:
    client = make_client(allow_private_addresses=True)

    response = client.post("/v1/audits", json={"urls": ["http://10.0.0.1/"]}, headers=AUTH)

    assert response.status_code == 202


def test_starting_without_api_keys_warns(
    make_client: Callable[..., TestClient], caplog: pytest.LogCaptureFixture
) -> None:
    with caplog.at_level(logging.WARNING, logger="rxcheck.api"):
        make_client(api_keys=())

    assert any("no API keys configured" in r.getMessage() and "401" in r.getMessage() for r in caplog.records)


def test_starting_with_api_keys_does_not_warn(
    make_client: Callable[..., TestClient], caplog: pytest.LogCaptureFixture
) -> None:
    with caplog.at_level(logging.WARNING, logger="rxcheck.api"):
        make_client()

    assert not [r for r in caplog.records if "API keys" in r.getMessage()]
