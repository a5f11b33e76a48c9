"""Settings from the environment, rules and health endpoints, the store's guarantees."""

from __future__ import annotations

import sqlite3
from collections.abc import Callable
from pathlib import Path
from typing import get_args

import pytest
from api_doubles import RULES_VERSION, TestClient

from rxcheck.api.models import JurisdictionCode
from rxcheck.api.settings import Settings, SettingsError
from rxcheck.api.storage import StoreError, open_storage


def test_defaults() -> None:
    settings = Settings.from_env({})

    assert settings.db_path == Path("rxcheck.sqlite")
    assert settings.cache_ttl_s == 24 * 3600
    assert settings.verdict_deadline_s == 45
    assert settings.audit_concurrency == 8
    assert settings.max_urls_per_audit == 10_000
    assert settings.max_body_bytes == 2 * 1024 * 1024
    assert settings.api_keys == ()
    assert settings.cors_origins == ("*",)
    assert not settings.allow_private_addresses and not settings.verdict_requires_key


def test_every_setting_is_documented() -> None:
    assert [name for name, field in Settings.model_fields.items() if not field.description] == []


def test_environment_variables() -> None:
    settings = Settings.from_env(
        {
            "RXCHECK_DB": "/data/rx.sqlite",
            "RXCHECK_API_KEYS": "k1, k2,,",
            "RXCHECK_ALLOW_PRIVATE": "1",
            "RXCHECK_VERDICT_REQUIRES_KEY": "true",
            "RXCHECK_CORS_ORIGINS": "chrome-extension://abc,https://rx.example",
            "RXCHECK_CACHE_TTL_S": "60",
            "RXCHECK_REPLAY": "fixtures/sites.warc.gz",
            "RXCHECK_RULES": "rules/a:rules/b",
            "RXCHECK_VERDICT_DEADLINE_S": "2.5",
            "UNRELATED": "x",
        }
    )

    assert settings.db_path == Path("/data/rx.sqlite")
    assert settings.api_keys == ("k1", "k2")
    assert settings.allow_private_addresses and settings.verdict_requires_key
    assert settings.cors_origins == ("chrome-extension://abc", "https://rx.example")
    assert settings.cache_ttl_s == 60
    assert settings.replay == Path("fixtures/sites.warc.gz")
    assert settings.rules_dirs == (Path("rules/a"), Path("rules/b"))
    assert settings.verdict_deadline_s == 2.5


def test_overrides_win_over_the_environment() -> None:
    settings = Settings.from_env({"RXCHECK_DB": "env.sqlite"}, db_path=Path("arg.sqlite"), replay=None)

    assert settings.db_path == Path("arg.sqlite")


@pytest.mark.parametrize(
    ("env", "named"),
    [
        ({"RXCHECK_AUDIT_CONCURRENCY": "many"}, "RXCHECK_AUDIT_CONCURRENCY"),
        ({"RXCHECK_ALLOW_PRIVATE": "perhaps"}, "RXCHECK_ALLOW_PRIVATE"),
        ({"RXCHECK_VERDICT_DEADLINE_S": "0"}, "RXCHECK_VERDICT_DEADLINE_S"),
    ],
)
def test_invalid_values_name_the_variable(env: dict[str, str], named: str) -> None:
    with pytest.raises(SettingsError, match=f"^invalid {named}: "):
        Settings.from_env(env)


def test_api_jurisdictions_are_the_checkers() -> None:
    pipeline = pytest.importorskip("rxcheck.pipeline")

    assert set(get_args(JurisdictionCode)) == set(pipeline.JURISDICTIONS)


def test_rules_lists_the_pack(client: TestClient) -> None:
    body = client.get("/v1/rules").json()

    assert body["rules_version"] == RULES_VERSION
    assert body["rules"][0] == {
        "id": "rx-not-required",
        "name": "No prescription needed",
        "category": "prescription",
        "kind": "red_flag",
        "severity": "critical",
    }


def test_healthz_checks_the_database(client: TestClient, monkeypatch: pytest.MonkeyPatch) -> None:
    assert client.get("/healthz").json() == {
        "status": "ok",
        "db": "ok",
        "rules_version": RULES_VERSION,
        "mode": "live",
    }

    async def broken() -> None:
        raise sqlite3.OperationalError("disk I/O error")

    monkeypatch.setattr(client.app.state.services.store, "ping", broken)  # type: ignore[attr-defined]
    response = client.get("/healthz")

    assert response.status_code == 503
    assert response.json()["error"] == {"code": "db_unavailable", "message": "database error: disk I/O error"}


def test_docs_are_served(client: TestClient) -> None:
    assert client.get("/docs").status_code == 200
    assert client.get("/openapi.json").json()["info"]["title"] == "rxcheck API"


async def test_store_uses_wal_and_keeps_each_result(tmp_path: Path) -> None:
    store = await open_storage(tmp_path / "sub" / "db.sqlite")
    try:
        await store.create_audit("a" * 32, ["x.example", "y.example"], jurisdiction="auto", owner="o", now=1.0)
        first = await store.record_result("a" * 32, 0, verdict="rogue", result_json="{}", now=2.0)
        again = await store.record_result("a" * 32, 0, verdict="rogue", result_json="{}", now=3.0)
        last = await store.record_result("a" * 32, 1, verdict="legitimate", result_json="{}", now=4.0)
        audit = await store.get_audit("a" * 32)
    finally:
        await store.close()

    assert (first, again, last) == ("running", None, "done")
    assert audit is not None and (audit.done, audit.counts) == (2, {"rogue": 1, "legitimate": 1})
    with sqlite3.connect(tmp_path / "sub" / "db.sqlite") as db:
        assert db.execute("PRAGMA journal_mode").fetchone() == ("wal",)


def test_the_app_fails_fast_on_a_bad_db_path(make_client: Callable[..., TestClient], tmp_path: Path) -> None:
    (tmp_path / "file").write_text("not a directory")

    with pytest.raises(StoreError, match="^cannot open the database .*file/db.sqlite: "):
        make_client(db_path=tmp_path / "file" / "db.sqlite")


def test_fetch_guard_settings_from_the_environment() -> None:
    from rxcheck.api.app import fetch_limits

    settings = Settings.from_env(
        {"RXCHECK_PORTS": "80,443,8080", "RXCHECK_PROXY_RESOLVES_NAMES": "1", "RXCHECK_PAGE_DEADLINE_S": "7"}
    )

    assert settings.ports == (80, 443, 8080) and settings.proxy_resolves_names
    limits = fetch_limits(settings)
    assert limits.ports == frozenset({80, 443, 8080}) and limits.page_deadline == 7.0
    assert fetch_limits(Settings.from_env({})).ports is None  # 80 and 443, or any with allow_private
    with pytest.raises(SettingsError, match="RXCHECK_PORTS"):
        Settings.from_env({"RXCHECK_PORTS": "http"})
