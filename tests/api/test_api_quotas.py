"""Audits per API key: at most N URLs queued or running, fair turns between keys, the same URL checks on uploads."""

from __future__ import annotations

from collections.abc import Callable

from api_doubles import AUTH, FakeChecker, TestClient, wait_for_audit

OTHER = {"Authorization": "Bearer other-key"}
TEXT = {"Content-Type": "text/plain"}


def _blocked(prefix: str, n: int) -> list[str]:
    """URLs whose checks wait until the checker's gate opens (so they stay queued or running)."""
    return [f"https://block-{prefix}{i}.example/" for i in range(n)]


def test_a_key_past_its_quota_is_refused_until_its_urls_finish_or_are_cancelled(
    make_client: Callable[..., TestClient], checker: FakeChecker
) -> None:
    client = make_client(max_queued_urls_per_key=5)

    first = client.post("/v1/audits", json={"urls": _blocked("a", 3)}, headers=AUTH)
    refused = client.post("/v1/audits", json={"urls": _blocked("b", 3)}, headers=AUTH)
    uploaded = client.post("/v1/audits/upload", content="\n".join(_blocked("c", 3)), headers={**AUTH, **TEXT})
    other_key = client.post("/v1/audits", json={"urls": _blocked("d", 5)}, headers=OTHER)

    assert first.status_code == 202 and other_key.status_code == 202
    assert refused.status_code == uploaded.status_code == 429
    error = refused.json()["error"]
    assert error["code"] == "quota_exceeded"
    assert "has 3 URLs queued or running and may have at most 5" in error["message"]
    assert error["details"][0]["limit"] == 5 and error["details"][0]["in_flight"] == 3
    assert uploaded.json()["error"]["code"] == "quota_exceeded"

    client.delete(f"/v1/audits/{first.json()['id']}", headers=AUTH)
    again = client.post("/v1/audits", json={"urls": _blocked("e", 5)}, headers=AUTH)
    assert again.status_code == 202  # the cancelled audit no longer counts
    checker.gate.set()
    assert wait_for_audit(client, again.json()["id"])["status"] == "done"
    assert client.post("/v1/audits", json={"urls": _blocked("f", 5)}, headers=AUTH).status_code == 202


def test_a_small_audit_is_not_stuck_behind_another_keys_huge_one(
    make_client: Callable[..., TestClient], checker: FakeChecker
) -> None:
    client = make_client(audit_concurrency=1)
    huge, small = _blocked("huge", 30), _blocked("small", 3)

    big_id = client.post("/v1/audits", json={"urls": huge}, headers=AUTH).json()["id"]
    small_id = client.post("/v1/audits", json={"urls": small}, headers=OTHER).json()["id"]
    checker.gate.set()
    assert wait_for_audit(client, big_id)["status"] == "done"
    assert client.get(f"/v1/audits/{small_id}", headers=OTHER).json()["status"] == "done"

    order = [url for url, _ in checker.calls]
    # Round-robin over keys: the small audit's URLs alternate with the huge one's instead of waiting for all 30.
    assert order[:7] == [huge[0], small[0], huge[1], small[1], huge[2], small[2], huge[3]]
    assert sorted(order) == sorted(huge + small)


def test_one_keys_audits_keep_their_own_order(make_client: Callable[..., TestClient], checker: FakeChecker) -> None:
    client = make_client(audit_concurrency=1)
    first, second = _blocked("one", 3), _blocked("two", 3)

    ids = [client.post("/v1/audits", json={"urls": urls}, headers=AUTH).json()["id"] for urls in (first, second)]
    checker.gate.set()
    for audit_id in ids:
        assert wait_for_audit(client, audit_id)["status"] == "done"

    assert [url for url, _ in checker.calls] == first + second


def test_an_upload_is_checked_as_post_audits_is(client: TestClient) -> None:
    lines = [
        "# exported list",
        "https://pharmacy.example/",
        "javascript:alert(1)",
        "",
        "http://10.0.0.1/",
        "https://ok.example/" + "x" * 3000,
        "rogue-pills.example",
    ]

    refused = client.post("/v1/audits/upload", content="\n".join(lines), headers={**AUTH, **TEXT})
    accepted = client.post(
        "/v1/audits/upload", content="pharmacy.example\nrogue-pills.example\n", headers={**AUTH, **TEXT}
    )

    assert refused.status_code == 422
    error = refused.json()["error"]
    assert error["code"] == "invalid_urls"
    assert error["message"].startswith("3 of 5 URLs refused, nothing was queued; first body.urls.1: ")
    assert [(d["loc"], d["type"]) for d in error["details"]] == [
        ("body.urls.1", "invalid_url"),
        ("body.urls.2", "blocked_address"),
        ("body.urls.3", "invalid_url"),
    ]
    assert "x" * 100 not in refused.text  # the 3,000-character URL is not echoed back
    services = client.app.state.services  # type: ignore[attr-defined]
    owner = services.keys.identify(AUTH["Authorization"].removeprefix("Bearer "))
    assert accepted.status_code == 202
    assert wait_for_audit(client, accepted.json()["id"])["total"] == 2  # and the refused list stored nothing:
    assert client.portal.call(services.store.in_flight, owner) == 0  # type: ignore[union-attr]
