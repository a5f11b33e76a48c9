"""The FastAPI application: `create_app(settings)` wires settings, stores, services, middleware and routes."""

from __future__ import annotations

import logging
import time
from collections.abc import AsyncIterator
from contextlib import AbstractAsyncContextManager, AsyncExitStack, asynccontextmanager
from functools import partial
from typing import Any

from fastapi import FastAPI
from fastapi.routing import APIRoute
from fastapi_offline import FastAPIOffline
from starlette.types import Receive, Scope, Send

from rxcheck.api.auth import KeyRing
from rxcheck.api.bodylimit import BodyLimitMiddleware
from rxcheck.api.cache import VerdictCache
from rxcheck.api.cors import JSONErrorCORSMiddleware
from rxcheck.api.deps import Services
from rxcheck.api.distributed import QueuedAudits
from rxcheck.api.errors import install_error_handlers
from rxcheck.api.fastpath import CachedVerdictMiddleware
from rxcheck.api.headerlimit import HeaderLimitMiddleware
from rxcheck.api.headers import SecurityHeadersMiddleware
from rxcheck.api.jobs import AuditRunner, Audits
from rxcheck.api.models import RuleInfo
from rxcheck.api.ratelimit import RateLimiter
from rxcheck.api.routes_audits import router as audits_router
from rxcheck.api.routes_lists import router as lists_router
from rxcheck.api.routes_meta import health_router, rules_router
from rxcheck.api.routes_verdict import router as verdict_router
from rxcheck.api.settings import Settings
from rxcheck.api.storage import Storage, open_storage
from rxcheck.api.storage.postgres import PostgresStorage
from rxcheck.api.verdicts import SiteChecker, VerdictService
from rxcheck.fetch import Fetcher
from rxcheck.fetch.factory import open_fetcher
from rxcheck.fetch.guard import effective_ports
from rxcheck.fetch.limits import FetchLimits

API_VERSION = "1.0.0"

log = logging.getLogger("rxcheck.api")

DESCRIPTION = """\
Is this online pharmacy legitimate? rxcheck crawls a pharmacy website, applies its rule pack and answers
with a verdict (`legitimate`, `suspicious`, `rogue`, `not_a_pharmacy` or `unreachable`), a risk score and
the findings behind it, each with evidence.

* `GET /v1/verdict?url=...` checks one site (cached; concurrent requests share one crawl).
* `POST /v1/audits` checks many sites in the background (API key required); `DELETE /v1/audits/{id}` cancels.
* `GET /v1/rules` lists the rules in use.

Errors are always JSON: `{"error": {"code": "...", "message": "..."}}`.

Text in results that comes from the checked sites (`evidence[].snippet`, `final_url`, page URLs, error
messages) is untrusted: a hostile site chooses it. Escape it for where you show it (HTML, a terminal, a
spreadsheet cell).
"""

TAGS = [
    {"name": "verdicts", "description": "Check one site."},
    {"name": "audits", "description": "Check many sites in the background. API key required."},
    {"name": "rules", "description": "The rule pack behind the verdicts."},
    {"name": "lists", "description": "Hash-prefix lists for private lookups from browser extensions."},
    {"name": "health", "description": "For load balancers and monitoring."},
]


def create_app(
    settings: Settings | None = None,
    *,
    checker: SiteChecker | None = None,
    fetcher: Fetcher | None = None,
) -> FastAPI:
    """The API application. `settings` default to the environment (`Settings.from_env()`).

    `checker` defaults to `rxcheck.pipeline.Checker` over the settings' rule directories (a broken rule pack
    raises `RuleError` here, before serving); `fetcher` defaults to replaying `settings.replay` or, without
    it, a guarded live fetcher. Both are built once and shared by all requests; the app closes only a fetcher
    it built itself.
    """
    settings = settings or Settings.from_env()
    if checker is None:
        checker = site_checker(settings)
    pack: Any = checker.pack  # type: ignore[attr-defined]
    services = Services(
        settings=settings,
        keys=KeyRing(settings.api_keys),
        ip_limiter=RateLimiter(
            rate_per_min=settings.ip_rate_per_min,
            burst=settings.ip_burst,
            max_clients=settings.rate_limit_clients,
        ),
        key_limiter=RateLimiter(
            rate_per_min=settings.key_rate_per_min,
            burst=settings.key_burst,
            max_clients=settings.rate_limit_clients,
        ),
        crawl_ip_limiter=RateLimiter(
            rate_per_min=settings.crawl_ip_rate_per_min,
            burst=settings.crawl_ip_burst,
            max_clients=settings.rate_limit_clients,
        ),
        crawl_key_limiter=RateLimiter(
            rate_per_min=settings.crawl_key_rate_per_min,
            burst=settings.crawl_key_burst,
            max_clients=settings.rate_limit_clients,
        ),
        rules_version=str(pack.version),
        rules=[
            RuleInfo(id=r.id, name=r.name, category=r.category, kind=r.kind, severity=r.severity) for r in pack.rules
        ],
    )

    @asynccontextmanager
    async def lifespan(app: FastAPI) -> AsyncIterator[None]:
        if not settings.api_keys:
            log.warning("no API keys configured (RXCHECK_API_KEYS): every audit request will answer 401")
        async with AsyncExitStack() as stack:
            store = await open_storage(settings.db_path, pool_size=settings.db_pool_size)
            stack.push_async_callback(store.close)
            await store.purge_expired(time.time())
            site_fetcher = fetcher
            if site_fetcher is None:
                site_fetcher = await stack.enter_async_context(open_site_fetcher(settings))
            verdicts = verdict_service(settings, checker, site_fetcher, store)
            stack.push_async_callback(verdicts.aclose)
            audits: Audits
            if isinstance(store, PostgresStorage):  # workers check the sites: here audits are only queued
                audits = await stack.enter_async_context(
                    QueuedAudits(
                        store,
                        domain_concurrency=settings.domain_concurrency,
                        max_in_flight=settings.max_queued_urls_per_key,
                    )
                )
            else:
                runner = AuditRunner(
                    store=store,
                    verdicts=verdicts,
                    concurrency=settings.audit_concurrency,
                    max_in_flight=settings.max_queued_urls_per_key,
                )
                stack.push_async_callback(runner.stop)
                audits = runner
            services.store, services.verdicts, services.audits = store, verdicts, audits
            stack.callback(_forget, services)
            if isinstance(audits, AuditRunner):
                await audits.start()
            yield

    # Swagger UI (/docs) and ReDoc (/redoc) are served from the installed package, never from a CDN.
    app = FastAPIOffline(
        title="rxcheck API",
        version=API_VERSION,
        summary="Online pharmacy legitimacy checker.",
        description=DESCRIPTION,
        openapi_tags=TAGS,
        lifespan=lifespan,
        generate_unique_id_function=operation_id,
        swagger_ui_parameters={"validatorUrl": None},  # no badge fetched from the online validator
    )
    app.state.services = services
    app.openapi = partial(_openapi, app)  # type: ignore[method-assign]
    install_error_handlers(app)
    cors = {
        "allow_origins": list(settings.cors_origins),
        "allow_origin_regex": settings.cors_origin_regex,
        "allow_methods": ["GET", "POST", "DELETE"],
        "allow_headers": ["Authorization", "Content-Type"],
        "expose_headers": ["Retry-After"],
        "allow_credentials": False,
    }
    app.add_middleware(
        BodyLimitMiddleware,
        max_bytes=settings.max_body_bytes,
        path_limits={"/v1/audits/upload": settings.max_upload_bytes},
    )
    app.add_middleware(JSONErrorCORSMiddleware, **cors)
    app.add_middleware(HeaderLimitMiddleware, max_headers=settings.max_headers, max_bytes=settings.max_header_bytes)
    app.add_middleware(SecurityHeadersMiddleware)  # its headers are on every answer
    # Outermost: cached verdicts are answered before the four layers above, with the headers they would add.
    app.add_middleware(
        CachedVerdictMiddleware,
        services=services,
        cors=JSONErrorCORSMiddleware(_no_app, **cors),
        max_headers=settings.max_headers,
        max_header_bytes=settings.max_header_bytes,
    )
    app.include_router(verdict_router)
    app.include_router(audits_router)
    app.include_router(lists_router)
    app.include_router(rules_router)
    app.include_router(health_router)
    return app


def _openapi(app: FastAPI) -> dict[str, Any]:
    """FastAPI's document, with JSON Lines responses described as they are, in valid OpenAPI 3.1.

    FastAPI documents every response of a streaming route with the route's media type and a
    `{"type": "string", "$ref": ...}` schema. For `application/x-ndjson` routes, the success body becomes a
    string (OpenAPI 3.1 has no way to give the schema of each line; `itemSchema` is 3.2) whose description
    and `x-item-schema` extension name what each line holds; for those and `text/html` routes the error bodies
    become `application/json`, which they are.
    """
    if app.openapi_schema is None:
        document = FastAPI.openapi(app)
        for operations in document.get("paths", {}).values():
            for operation in operations.values():
                for status, response in operation.get("responses", {}).items():
                    content = response.get("content", {})
                    for media_type in ("application/x-ndjson", "text/html"):
                        schema = content.get(media_type, {}).get("schema", {})
                        if "$ref" not in schema:
                            continue
                        ref = {"$ref": schema["$ref"]}
                        if not status.startswith("2"):
                            response["content"] = {"application/json": {"schema": ref}}
                        elif media_type == "application/x-ndjson":
                            name = ref["$ref"].rsplit("/", 1)[-1]
                            line = {"type": "string", "description": f"JSON Lines: one `{name}` object per line."}
                            content[media_type] = {"schema": line, "x-item-schema": ref}
        app.openapi_schema = document
    return app.openapi_schema


def operation_id(route: APIRoute) -> str:
    """The operationId of a route: its function's name in camelCase (`get_verdict` -> `getVerdict`)."""
    first, *rest = route.name.split("_")
    return first + "".join(word.capitalize() for word in rest)


async def _no_app(scope: Scope, receive: Receive, send: Send) -> None:
    raise RuntimeError("the fast path's CORS policy only computes headers")


def _forget(services: Services) -> None:
    services.store = services.verdicts = services.audits = None


def fetch_limits(settings: Settings) -> FetchLimits:
    """The fetch limits the settings ask for."""
    deadline = min(settings.page_deadline_s, crawl_deadline(settings))
    ports = frozenset(settings.ports) if settings.ports else None
    return FetchLimits(page_deadline=deadline, site_deadline=crawl_deadline(settings), ports=ports)


def open_site_fetcher(settings: Settings) -> AbstractAsyncContextManager[Fetcher]:
    """The fetcher the settings describe: a WARC replay, or a guarded live fetcher within the settings' limits."""
    return open_fetcher(
        replay=settings.replay,
        limits=fetch_limits(settings),
        proxy=settings.proxy,
        ca_bundle=settings.ca_bundle,
        allow_private=settings.allow_private_addresses,
        proxy_resolves_names=settings.proxy_resolves_names,
    )


def verdict_service(settings: Settings, checker: SiteChecker, fetcher: Fetcher, store: Storage) -> VerdictService:
    """Verdicts as the settings describe them, cached in `store`: for the API's lookups and audits, and for the
    workers of distributed audits alike."""
    cache = VerdictCache(
        store,
        ttl_s=settings.cache_ttl_s,
        unreachable_ttl_s=settings.unreachable_ttl_s,
        memory_entries=settings.memory_cache_entries,
        memory_bytes=settings.memory_cache_bytes,
        recheck_s=settings.memory_cache_recheck_s,
    )
    return VerdictService(
        checker=checker,
        fetcher=fetcher,
        cache=cache,
        rules_version=str(checker.pack.version),  # type: ignore[attr-defined]
        deadline_s=settings.verdict_deadline_s,
        resolve_hosts=settings.replay is None,
        allow_private=settings.allow_private_addresses,
        ports=effective_ports(fetch_limits(settings).ports, allow_private=settings.allow_private_addresses),
        checks_per_client=settings.checks_per_client,
    )


def site_checker(settings: Settings) -> Any:
    """The checker the settings describe (`rxcheck.pipeline.Checker`, imported only when needed)."""
    from rxcheck.pipeline import Checker

    return Checker(rules_dirs=settings.rules_dirs, max_pages=settings.max_pages, deadline=crawl_deadline(settings))


def crawl_deadline(settings: Settings) -> float:
    """The crawler's own deadline: a little under the verdict deadline, so a slow site still gets a verdict
    from the pages fetched in time rather than a 504."""
    deadline = settings.verdict_deadline_s
    return max(deadline * 0.5, deadline - min(5.0, deadline * 0.1))
