"""Server settings: one pydantic model, read from `RXCHECK_*` environment variables.

Every field can be set from the environment: the variable is `RXCHECK_` + the field name in capitals unless
`ENV_NAMES` gives another (`db_path` is `RXCHECK_DB`). Lists are comma-separated (`rules_dirs` uses the
path separator, `:` on POSIX); booleans accept `1/0`, `true/false`, `yes/no`, `on/off`.
"""

from __future__ import annotations

import os
from collections.abc import Mapping
from pathlib import Path
from typing import Annotated, Any

from pydantic import BaseModel, BeforeValidator, ConfigDict, Field, ValidationError

from rxcheck.api.storage import is_postgres_url
from rxcheck.errors import RxcheckError

ENV_PREFIX = "RXCHECK_"

# Fields whose variable is not simply RXCHECK_<FIELD>.
ENV_NAMES: dict[str, str] = {
    "db_path": "RXCHECK_DB",
    "allow_private_addresses": "RXCHECK_ALLOW_PRIVATE",
    "replay": "RXCHECK_REPLAY",
    "rules_dirs": "RXCHECK_RULES",
}


def _database(value: object) -> object:
    """A PostgreSQL URL stays a string; anything else names a SQLite file."""
    if isinstance(value, str) and not is_postgres_url(value):
        return Path(value)
    return value


class SettingsError(RxcheckError):
    """An environment variable holds a value the server cannot use; the message names it."""

    type = "settings_error"


class Settings(BaseModel):
    """Everything the API server can be configured with. Defaults suit a public deployment."""

    model_config = ConfigDict(frozen=True, extra="forbid")

    # storage and cache
    db_path: Annotated[Path | str, BeforeValidator(_database)] = Field(
        Path("rxcheck.sqlite"),
        description="The database (cache and audits): a SQLite file, or a `postgresql://` URL shared by several "
        "API processes and `rxcheck worker`s.",
    )
    db_pool_size: int = Field(20, ge=2, description="PostgreSQL connections one API process may hold.")
    cache_ttl_s: int = Field(24 * 3600, ge=0, description="How long a verdict is served from the cache.")
    unreachable_ttl_s: int = Field(
        15 * 60, ge=0, description="How long an `unreachable` verdict is cached (outages are often brief)."
    )
    memory_cache_entries: int = Field(
        10_000, ge=0, description="Verdicts kept in memory, pre-serialised, in front of the database (0: none)."
    )
    memory_cache_bytes: int = Field(
        128 * 1024 * 1024, ge=0, description="Bytes of verdict JSON kept in memory at most (least recent dropped)."
    )
    memory_cache_recheck_s: float = Field(
        5.0,
        ge=0,
        description="On PostgreSQL, a verdict in memory is read again from the database once it was last read this "
        "long ago, so a verdict stored by another process is served within this time.",
    )

    # checking
    verdict_deadline_s: float = Field(45.0, gt=0, description="A fresh verdict past this answers 504.")
    audit_concurrency: int = Field(
        8, ge=1, description="Sites crawled at once by the in-process audit runner (SQLite), or by one worker."
    )
    domain_concurrency: int = Field(
        2, ge=1, description="Sites of one registrable domain checked at once by all workers together (PostgreSQL)."
    )
    worker_heartbeat_s: float = Field(
        10.0, gt=0, description="How often a worker says it is alive; one silent for 4 of these is presumed dead."
    )
    max_pages: int = Field(12, ge=1, description="Pages crawled per site.")
    replay: Path | None = Field(None, description="Replay this WARC instead of fetching the network.")
    rules_dirs: tuple[Path, ...] = Field((), description="Extra rule directories layered over the built-in pack.")
    proxy: str | None = Field(None, description="HTTP(S) proxy for live fetches.")
    ca_bundle: Path | None = Field(None, description="CA bundle for live fetches.")
    allow_private_addresses: bool = Field(
        False,
        description="Allow loopback and private targets (never link-local or cloud metadata). For local testing only.",
    )
    proxy_resolves_names: bool = Field(
        False,
        description="With a proxy: hand it names this server cannot resolve (metadata and internal names still "
        "refused).",
    )
    ports: tuple[int, ...] | None = Field(
        None, description="Ports fetched (comma-separated); unset: 80 and 443, any port with allow_private_addresses."
    )
    page_deadline_s: float = Field(20.0, gt=0, description="Seconds one page fetch may take in total.")
    checks_per_client: int = Field(
        4, ge=1, description="Crawls one client address may have running at once for `/v1/verdict`; more wait."
    )

    # hash-prefix lists for browser extensions (/v1/lists, /v1/hashes)
    lists_max_entries: int = Field(100_000, ge=1, description="Sites in each hash-prefix list at most (newest kept).")
    lists_max_age_s: int = Field(30 * 24 * 3600, ge=0, description="Audit results older than this leave the lists.")
    lists_refresh_s: int = Field(300, ge=1, description="How often the lists are rebuilt; clients cache them as long.")
    lists_publish_rogue_hosts: bool = Field(
        True,
        description="Publish the rogue sites' names (`/v1/lists/rogue/hosts`), so clients stop them before their first "
        "request; off: the rogue list is hash prefixes only.",
    )

    # access control
    api_keys: tuple[str, ...] = Field((), description="Accepted API keys (`Authorization: Bearer <key>`).")
    verdict_requires_key: bool = Field(False, description="Require an API key for `/v1/verdict` too.")
    # Every request is charged to its key (a valid one) or else its address; a verdict that needs a crawl (a cache
    # miss or `fresh=true`) is charged to a second, much smaller bucket, so crawls cannot starve cached lookups.
    ip_rate_per_min: float = Field(6000, ge=0, description="Requests per minute per client address (0: off).")
    ip_burst: int = Field(1000, ge=1, description="Requests a client address may make at once.")
    key_rate_per_min: float = Field(12000, ge=0, description="Requests per minute per API key (0: off).")
    key_burst: int = Field(2000, ge=1, description="Requests an API key may make at once.")
    crawl_ip_rate_per_min: float = Field(
        6, ge=0, description="Verdicts needing a crawl (cache miss, `fresh=true`) per minute per address (0: off)."
    )
    crawl_ip_burst: int = Field(5, ge=1, description="Crawling verdicts a client address may ask for at once.")
    crawl_key_rate_per_min: float = Field(
        60, ge=0, description="Verdicts needing a crawl per minute per API key (0: off)."
    )
    crawl_key_burst: int = Field(20, ge=1, description="Crawling verdicts an API key may ask for at once.")
    rate_limit_clients: int = Field(10_000, ge=1, description="Rate-limit buckets kept (least recent dropped).")
    max_urls_per_audit: int = Field(10_000, ge=1, description="URLs one audit may hold.")
    max_queued_urls_per_key: int = Field(
        100_000,
        ge=1,
        description="URLs one API key may have queued or running at once, over all its audits (more: 429 "
        "`quota_exceeded`); an audit's URLs count until they are checked or it is cancelled.",
    )
    max_body_bytes: int = Field(2 * 1024 * 1024, ge=1, description="Largest request body accepted.")
    max_urls_per_upload: int = Field(
        1_000_000, ge=1, description="URLs one streamed list (`POST /v1/audits/upload`) may hold, on PostgreSQL."
    )
    max_upload_bytes: int = Field(
        256 * 1024 * 1024, ge=1, description="Largest streamed list (`POST /v1/audits/upload`) accepted."
    )
    cors_origins: tuple[str, ...] = Field(("*",), description="Origins allowed by CORS (`*`: any).")
    cors_origin_regex: str | None = Field(None, description="Origins matching this regex are allowed too.")

    # slow and oversized clients (enforced by `rxcheck serve`; see api/server.py)
    header_timeout_s: float = Field(
        10.0, gt=0, description="A request's line and headers must arrive within this (408, then closed)."
    )
    body_timeout_s: float = Field(60.0, gt=0, description="A request's body must arrive within this (then closed).")
    keep_alive_s: float = Field(5.0, gt=0, description="An idle keep-alive connection is closed after this.")
    max_header_bytes: int = Field(
        16 * 1024, ge=1024, description="Largest request header block (larger: 431, or 400 and closed)."
    )
    max_headers: int = Field(100, ge=1, description="Most header fields in one request (more: 431).")
    trusted_proxies: tuple[str, ...] = Field(
        (),
        description="Reverse proxies (addresses or networks) whose `X-Forwarded-For` names the client for rate "
        "limits. Empty: the connection's peer is the client and forwarding headers are ignored.",
    )

    @classmethod
    def from_env(cls, environ: Mapping[str, str] | None = None, **overrides: Any) -> Settings:
        """Settings from `RXCHECK_*` variables (default: `os.environ`); `overrides` win over the environment.

        Raises `SettingsError` naming the variable when a value is invalid.
        """
        env = os.environ if environ is None else environ
        values: dict[str, Any] = {}
        sources: dict[str, str] = {}
        for name, field in cls.model_fields.items():
            var = env_name(name)
            raw = env.get(var)
            if raw is None:
                continue
            sources[name] = var
            annotation = str(field.annotation)
            if name == "rules_dirs":
                values[name] = tuple(Path(p) for p in raw.split(os.pathsep) if p.strip())
            elif annotation.startswith("tuple"):
                values[name] = tuple(item.strip() for item in raw.split(",") if item.strip())
            elif raw.strip() == "" and "None" in annotation:
                values[name] = None
            else:
                values[name] = raw.strip()
        values.update({k: v for k, v in overrides.items() if v is not None})
        try:
            return cls.model_validate(values)
        except ValidationError as exc:
            err = exc.errors()[0]
            field_name = str(err["loc"][0]) if err["loc"] else "?"
            where = sources.get(field_name, field_name)
            raise SettingsError(f"invalid {where}: {err['msg']}") from None


def env_name(field: str) -> str:
    """The environment variable that sets `field`."""
    return ENV_NAMES.get(field, ENV_PREFIX + field.upper())
