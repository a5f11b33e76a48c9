"""`/v1/lists/{name}` and `/v1/hashes`: hash-prefix lists built from verdicts, diffs, cache headers."""

from __future__ import annotations

import hashlib
import json
import time
from collections.abc import Callable

import pytest
from api_doubles import AUTH, TestClient, wait_for_audit

from rxcheck.api.lists import canonical_host, host_expressions, hosts_version, list_version
from rxcheck.api.storage import CachedRow
from rxcheck.errors import InvalidURL
from rxcheck.result import Result


def sha(expression: str) -> str:
    return hashlib.sha256(expression.encode()).hexdigest()


@pytest.fixture
def clock(monkeypatch: pytest.MonkeyPatch) -> list[float]:
    """The lists' clock: `clock[0] += s` moves it on (the lists rebuild every `lists_refresh_s`)."""
    now = [time.time()]
    monkeypatch.setattr("rxcheck.api.routes_lists.clock", lambda: now[0])
    return now


@pytest.mark.parametrize(
    ("host", "canonical"),
    [
        ("www.GOOgle.com.", "www.google.com"),
        ("..a..b..", "a.b"),
        ("0x7f.1", "127.0.0.1"),
        ("3279880203", "195.127.0.11"),
        ("017.0.0.1", "15.0.0.1"),
        ("bücher.example", "xn--bcher-kva.example"),
        ("2001:DB8:0:0::1", "[2001:db8::1]"),
        ("[2001:db8::1]", "[2001:db8::1]"),
    ],
)
def test_hosts_are_canonicalised_as_safe_browsing_does(host: str, canonical: str) -> None:
    assert canonical_host(host) == canonical


def test_host_expressions_are_the_host_and_up_to_four_parents_never_the_tld() -> None:
    assert host_expressions("a.b.c.d.e.f.g") == ["a.b.c.d.e.f.g/", "c.d.e.f.g/", "d.e.f.g/", "e.f.g/", "f.g/"]
    assert host_expressions("www.hartwellpharmacy.co.uk") == [
        "www.hartwellpharmacy.co.uk/",
        "hartwellpharmacy.co.uk/",
        "co.uk/",
    ]
    assert host_expressions("1.2.3.4") == ["1.2.3.4/"]
    assert host_expressions("[2001:db8::1]") == ["[2001:db8::1]/"]
    with pytest.raises(InvalidURL):
        canonical_host("...")


def test_an_empty_list_is_versioned_and_cacheable(client: TestClient) -> None:
    response = client.get("/v1/lists/rogue")

    assert response.status_code == 200, response.text
    body = response.json()
    assert body["type"] == "full" and body["count"] == 0 and body["additions"] == []
    assert body["version"] == hashlib.sha256(b"").hexdigest()[:16] == list_version([])
    assert response.headers["etag"] == f'"rogue-full-{body["version"]}"'
    assert response.headers["cache-control"] == "public, max-age=300"


def test_judged_sites_are_listed_by_the_prefix_of_their_host_expression(client: TestClient) -> None:
    client.get("/v1/verdict", params={"url": "https://rogue-shop.example/buy?x=1"})
    client.get("/v1/verdict", params={"url": "https://www.good-pharmacy.example/"})

    rogue = client.get("/v1/lists/rogue").json()
    legit = client.get("/v1/lists/legitimate").json()
    suspicious = client.get("/v1/lists/suspicious").json()

    assert rogue["additions"] == [sha("rogue-shop.example/")[:8]]
    assert legit["additions"] == [sha("good-pharmacy.example/")[:8]]
    assert suspicious["count"] == 0
    assert rogue["version"] == list_version([bytes.fromhex(sha("rogue-shop.example/")[:8])])
    # a visitor of www.good-pharmacy.example hashes that host and its parents: one of them is listed
    assert sha("good-pharmacy.example/") in [sha(e) for e in host_expressions("www.good-pharmacy.example")]


def test_full_hashes_for_a_prefix_carry_the_verdict_and_never_the_site_name(client: TestClient) -> None:
    client.get("/v1/verdict", params={"url": "https://rogue-shop.example/"})
    prefix = sha("rogue-shop.example/")[:8]

    response = client.get("/v1/hashes", params={"prefix": prefix.upper()})

    assert response.status_code == 200, response.text
    assert "rogue-shop" not in response.text
    body = response.json()
    assert body["prefix"] == prefix
    [match] = body["matches"]
    assert match["hash"] == sha("rogue-shop.example/")
    assert (match["list"], match["verdict"], match["risk_score"]) == ("rogue", "rogue", 95)
    assert 0 <= match["age_s"] < 60
    assert match["rules_version"] == "test-pack-1"
    assert response.headers["cache-control"].startswith("public, max-age=")
    assert client.get("/v1/hashes", params={"prefix": "00000000"}).json()["matches"] == []


@pytest.mark.parametrize("prefix", ["abc", "zzzzzzzz", "00", "0" * 66])
def test_a_bad_prefix_is_refused_with_a_json_error(client: TestClient, prefix: str) -> None:
    response = client.get("/v1/hashes", params={"prefix": prefix})

    assert response.status_code == 422
    assert response.json()["error"]["code"] == "validation_error"


def test_a_client_gets_only_the_changes_since_its_version(client: TestClient, clock: list[float]) -> None:
    client.get("/v1/verdict", params={"url": "https://rogue-one.example/"})
    first = client.get("/v1/lists/rogue").json()
    client.get("/v1/verdict", params={"url": "https://rogue-two.example/"})

    cached = client.get("/v1/lists/rogue", params={"since": first["version"]}).json()
    clock[0] += 301
    diff = client.get("/v1/lists/rogue", params={"since": first["version"]}).json()
    unknown = client.get("/v1/lists/rogue", params={"since": "0123456789abcdef"}).json()

    assert cached["type"] == "diff" and cached["additions"] == [] and cached["version"] == first["version"]
    assert diff["type"] == "diff" and diff["since"] == first["version"]
    assert diff["additions"] == [sha("rogue-two.example/")[:8]] and diff["removals"] == []
    assert diff["count"] == 2 and diff["version"] != first["version"]
    assert unknown["type"] == "full" and sorted(unknown["additions"]) == sorted(
        [sha("rogue-one.example/")[:8], sha("rogue-two.example/")[:8]]
    )


def test_an_unchanged_list_answers_304_to_its_etag(client: TestClient) -> None:
    first = client.get("/v1/lists/legitimate")

    again = client.get("/v1/lists/legitimate", headers={"If-None-Match": first.headers["etag"]})

    assert again.status_code == 304
    assert again.headers["etag"] == first.headers["etag"]
    assert again.content == b""


def test_finished_audits_feed_the_lists(client: TestClient) -> None:
    created = client.post("/v1/audits", json={"urls": ["https://rogue-audited.example/"]}, headers=AUTH)
    assert wait_for_audit(client, created.json()["id"])["status"] == "done"

    assert client.get("/v1/lists/rogue").json()["additions"] == [sha("rogue-audited.example/")[:8]]


def test_the_newest_verdict_of_a_site_wins_and_lists_are_bounded(
    make_client: Callable[..., TestClient], clock: list[float]
) -> None:
    client = make_client(lists_max_entries=1)
    client.get("/v1/verdict", params={"url": "https://rogue-old.example/"})
    time.sleep(0.01)  # stored_at orders the rows
    client.get("/v1/verdict", params={"url": "https://rogue-new.example/"})

    rogue = client.get("/v1/lists/rogue").json()

    assert rogue["additions"] == [sha("rogue-new.example/")[:8]]
    assert rogue["max_entries"] == 1


def test_unknown_list_names_are_refused(client: TestClient) -> None:
    response = client.get("/v1/lists/everything")

    assert response.status_code == 422
    assert "error" in response.json()


def test_entries_carry_site_type_and_verdict_reason_when_results_have_them(client: TestClient) -> None:
    with_them = Result(
        url="https://typed.example/", verdict="suspicious", risk_score=40, jurisdiction="EU", rules_version="p"
    ).model_dump() | {"site_type": {"type": "pharmacy", "evidence": ["a basket"]}, "verdict_reason": "No licence."}
    without = Result(
        url="https://plain.example/", verdict="legitimate", risk_score=3, jurisdiction="GB", rules_version="p"
    )
    store = client.app.state.services.store

    async def put() -> None:
        await store.put_cached("typed.example", "EU", "p", CachedRow(json.dumps(with_them), time.time(), 3600))
        await store.put_cached("plain.example", "GB", "p", CachedRow(without.model_dump_json(), time.time(), 3600))
        await store.put_cached("broken.example", "GB", "p", CachedRow("{not json", time.time(), 3600))

    client.portal.call(put)
    [typed] = client.get("/v1/hashes", params={"prefix": sha("typed.example/")[:8]}).json()["matches"]
    [plain] = client.get("/v1/hashes", params={"prefix": sha("plain.example/")[:8]}).json()["matches"]

    assert (typed["site_type"], typed["verdict_reason"], typed["list"]) == ("pharmacy", "No licence.", "suspicious")
    assert (plain["site_type"], plain["verdict_reason"], plain["list"]) == (None, None, "legitimate")


def test_the_rogue_sites_are_published_by_name_with_a_checksum_version(client: TestClient) -> None:
    client.get("/v1/verdict", params={"url": "https://rogue-shop.example/buy?x=1"})
    client.get("/v1/verdict", params={"url": "https://rogue-two.example/"})
    client.get("/v1/verdict", params={"url": "https://www.good-pharmacy.example/"})

    response = client.get("/v1/lists/rogue/hosts")

    assert response.status_code == 200, response.text
    body = response.json()
    assert body["additions"] == ["rogue-shop.example", "rogue-two.example"]  # no path, rogue only
    assert (body["list"], body["type"], body["since"], body["count"]) == ("rogue", "full", None, 2)
    assert body["removals"] == []
    assert body["version"] == hashlib.sha256(b"rogue-shop.example\nrogue-two.example\n").hexdigest()[:16]
    assert body["version"] == hosts_version(["rogue-two.example", "rogue-shop.example"])
    assert response.headers["etag"] == f'"rogue-hosts-full-{body["version"]}"'
    assert response.headers["cache-control"] == "public, max-age=300"
    again = client.get("/v1/lists/rogue/hosts", headers={"If-None-Match": response.headers["etag"]})
    assert again.status_code == 304 and again.content == b""


def test_the_rogue_hosts_list_gives_the_changes_since_a_version(client: TestClient, clock: list[float]) -> None:
    client.get("/v1/verdict", params={"url": "https://rogue-one.example/"})
    first = client.get("/v1/lists/rogue/hosts").json()
    client.get("/v1/verdict", params={"url": "https://rogue-two.example/"})
    clock[0] += 301

    diff = client.get("/v1/lists/rogue/hosts", params={"since": first["version"]}).json()
    unknown = client.get("/v1/lists/rogue/hosts", params={"since": "0123456789abcdef"}).json()
    bad = client.get("/v1/lists/rogue/hosts", params={"since": "not-a-version"})

    assert (diff["type"], diff["since"], diff["additions"], diff["removals"]) == (
        "diff",
        first["version"],
        ["rogue-two.example"],
        [],
    )
    assert diff["count"] == 2 and diff["version"] == hosts_version(["rogue-one.example", "rogue-two.example"])
    assert unknown["type"] == "full" and unknown["additions"] == ["rogue-one.example", "rogue-two.example"]
    assert bad.status_code == 422 and bad.json()["error"]["code"] == "validation_error"


def test_sites_known_by_ip_address_stay_on_the_prefix_list_only(client: TestClient) -> None:
    rogue = Result(url="https://203.0.113.9/", verdict="rogue", risk_score=90, jurisdiction="GB", rules_version="p")

    async def put() -> None:
        row = CachedRow(rogue.model_dump_json(), time.time(), 3600)
        await client.app.state.services.store.put_cached("203.0.113.9", "GB", "p", row)

    client.portal.call(put)

    assert client.get("/v1/lists/rogue").json()["additions"] == [sha("203.0.113.9/")[:8]]
    assert client.get("/v1/lists/rogue/hosts").json()["additions"] == []


def test_the_rogue_hosts_list_is_bounded_as_the_prefix_list_is(make_client: Callable[..., TestClient]) -> None:
    client = make_client(lists_max_entries=1)
    client.get("/v1/verdict", params={"url": "https://rogue-old.example/"})
    time.sleep(0.01)  # stored_at orders the rows
    client.get("/v1/verdict", params={"url": "https://rogue-new.example/"})

    body = client.get("/v1/lists/rogue/hosts").json()

    assert body["additions"] == ["rogue-new.example"] and body["max_entries"] == 1


def test_a_server_that_does_not_publish_names_answers_not_published(make_client: Callable[..., TestClient]) -> None:
    client = make_client(lists_publish_rogue_hosts=False)
    client.get("/v1/verdict", params={"url": "https://rogue-shop.example/"})

    response = client.get("/v1/lists/rogue/hosts")

    assert response.status_code == 404
    assert response.json()["error"]["code"] == "not_published"
    assert "rogue-shop" not in response.text
    assert client.get("/v1/lists/rogue").json()["additions"] == [sha("rogue-shop.example/")[:8]]


def test_the_rogue_hosts_list_is_in_the_openapi_document(client: TestClient) -> None:
    paths = client.get("/openapi.json").json()["paths"]

    operation = paths["/v1/lists/rogue/hosts"]["get"]
    assert {"200", "304", "404"} <= set(operation["responses"])
    assert [p["name"] for p in operation["parameters"]] == ["since"]
    assert "/v1/lists/{name}" in paths and "/v1/hashes" in paths
