"""Rate limits, body size cap, CORS and the error shape of every refusal."""

from __future__ import annotations

from collections.abc import Callable, Iterator

import pytest
from api_doubles import AUTH, TestClient

from rxcheck.api.auth import KeyRing, bearer_token
from rxcheck.api.ratelimit import RateLimiter


def test_rate_limit_per_address_answers_429_with_retry_after(make_client: Callable[..., TestClient]) -> None:
    client = make_client(ip_rate_per_min=6, ip_burst=3)

    codes = [client.get("/v1/rules").status_code for _ in range(4)]

    assert codes == [200, 200, 200, 429]
    response = client.get("/v1/rules")
    assert response.headers["retry-after"] == "10"  # 6 a minute: one token every 10 s
    assert response.json()["error"]["code"] == "rate_limited"
    assert client.get("/healthz").status_code == 200  # health checks are never limited


def test_a_valid_key_has_its_own_bucket(make_client: Callable[..., TestClient]) -> None:
    client = make_client(ip_rate_per_min=60, ip_burst=1, key_rate_per_min=60, key_burst=2)

    keyed = [client.get("/v1/rules", headers=AUTH).status_code for _ in range(3)]
    anonymous = [client.get("/v1/rules").status_code for _ in range(2)]
    wrong_key = client.get("/v1/rules", headers={"Authorization": "Bearer guess"}).status_code

    assert keyed == [200, 200, 429]
    assert anonymous == [200, 429]
    assert wrong_key == 429  # a wrong key is charged to the address: guessing keys is rate limited


def test_token_bucket_refills_and_stays_bounded() -> None:
    now = [0.0]
    limiter = RateLimiter(rate_per_min=60, burst=2, max_clients=3, clock=lambda: now[0])

    assert [limiter.take("a"), limiter.take("a")] == [0.0, 0.0]
    assert limiter.take("a") == pytest.approx(1.0)
    now[0] += 1.0
    assert limiter.take("a") == 0.0
    for client in "bcde":
        limiter.take(client)
    assert len(limiter) == 3
    assert RateLimiter(rate_per_min=0, burst=1, max_clients=1).take("x") == 0.0  # 0: no limit


def test_keys_are_matched_exactly() -> None:
    keys = KeyRing(["alpha", "beta"])

    assert keys.identify("alpha") is not None
    assert keys.identify("alpha") != keys.identify("beta")
    assert [keys.identify(k) for k in ("alph", "alphaa", "ALPHA", "", None)] == [None] * 5
    assert not KeyRing([])
    assert bearer_token("Bearer  abc ") == "abc"
    assert [bearer_token(v) for v in ("Basic abc", "Bearer", "", None)] == [None] * 4


def test_body_over_the_cap_by_content_length_is_413(make_client: Callable[..., TestClient]) -> None:
    client = make_client(max_body_bytes=100)
    body = '{"urls": [' + ",".join(['"pharmacy.example"'] * 20) + "]}"

    response = client.post("/v1/audits", content=body, headers={**AUTH, "Content-Type": "application/json"})

    assert response.status_code == 413
    assert response.json()["error"] == {
        "code": "payload_too_large",
        "message": "request body larger than 100 bytes",
    }


def test_streamed_body_over_the_cap_is_413(make_client: Callable[..., TestClient]) -> None:
    client = make_client(max_body_bytes=100)

    def chunks() -> Iterator[bytes]:  # no Content-Length: sent chunked
        yield b'{"urls": ['
        for _ in range(20):
            yield b'"pharmacy.example",'
        yield b'"x.example"]}'

    response = client.post("/v1/audits", content=chunks(), headers={**AUTH, "Content-Type": "application/json"})

    assert response.status_code == 413
    assert response.json()["error"]["code"] == "payload_too_large"


def test_body_under_the_cap_passes(make_client: Callable[..., TestClient]) -> None:
    client = make_client(max_body_bytes=100)

    response = client.post("/v1/audits", json={"urls": ["pharmacy.example"]}, headers=AUTH)

    assert response.status_code == 202


@pytest.mark.parametrize("origin", ["chrome-extension://abcdef", "moz-extension://1234-5678", "https://a.example"])
def test_cors_preflight_from_any_origin_passes_by_default(client: TestClient, origin: str) -> None:
    response = client.options(
        "/v1/verdict",
        headers={
            "Origin": origin,
            "Access-Control-Request-Method": "GET",
            "Access-Control-Request-Headers": "authorization",
        },
    )

    assert response.status_code == 200
    assert response.headers["access-control-allow-origin"] == "*"
    assert "GET" in response.headers["access-control-allow-methods"]


def test_cors_simple_request_gets_the_header(client: TestClient) -> None:
    response = client.get("/v1/rules", headers={"Origin": "chrome-extension://abcdef"})

    assert response.headers["access-control-allow-origin"] == "*"


def test_cors_origins_can_be_restricted(make_client: Callable[..., TestClient]) -> None:
    client = make_client(cors_origins=("chrome-extension://abcdef",), cors_origin_regex=r"https://.*\.rx\.example")
    preflight = {"Access-Control-Request-Method": "GET"}

    allowed = client.options("/v1/verdict", headers={"Origin": "chrome-extension://abcdef", **preflight})
    by_regex = client.options("/v1/verdict", headers={"Origin": "https://app.rx.example", **preflight})
    refused = client.options("/v1/verdict", headers={"Origin": "https://evil.example", **preflight})

    assert allowed.headers["access-control-allow-origin"] == "chrome-extension://abcdef"
    assert by_regex.headers["access-control-allow-origin"] == "https://app.rx.example"
    assert refused.status_code == 400
    assert refused.json()["error"]["code"] == "cors_refused"
    assert "access-control-allow-origin" not in refused.headers


@pytest.mark.parametrize(
    ("method", "path", "status", "code"),
    [
        ("GET", "/nowhere", 404, "not_found"),
        ("DELETE", "/v1/verdict", 405, "method_not_allowed"),
        ("GET", "/v1/verdict", 422, "validation_error"),
        ("GET", "/v1/audits/not-an-id", 401, "unauthorized"),
    ],
)
def test_errors_are_json_with_code_and_message(
    client: TestClient, method: str, path: str, status: int, code: str
) -> None:
    response = client.request(method, path)

    assert response.status_code == status
    assert response.headers["content-type"] == "application/json"
    error = response.json()["error"]
    assert error["code"] == code
    assert isinstance(error["message"], str) and error["message"]
