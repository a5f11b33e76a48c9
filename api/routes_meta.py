"""`GET /v1/rules` (the rule pack in use) and `GET /healthz` (is the server able to answer)."""

from __future__ import annotations

import logging
from typing import Annotated

from fastapi import APIRouter, Depends

from rxcheck.api.deps import Services, get_services, get_store, rate_limit
from rxcheck.api.errors import ApiError, error_responses
from rxcheck.api.models import Health, RulesResponse
from rxcheck.api.storage import DATABASE_ERRORS, Storage

log = logging.getLogger("rxcheck.api")

rules_router = APIRouter(
    prefix="/v1", tags=["rules"], dependencies=[Depends(rate_limit)], responses=error_responses(429, 500)
)
health_router = APIRouter(tags=["health"], responses=error_responses(500, 503))


@rules_router.get(
    "/rules",
    response_model=RulesResponse,
    summary="The rules in use",
    description="The rule pack version (in every result) and each rule's id, name, category, kind, severity.",
)
async def get_rules(services: Annotated[Services, Depends(get_services)]) -> RulesResponse:
    return RulesResponse(rules_version=services.rules_version, rules=services.rules)


@health_router.get(
    "/healthz",
    response_model=Health,
    summary="Health check",
    description="200 when the server is up and its database answers, else 503.",
)
async def get_health(
    services: Annotated[Services, Depends(get_services)],
    store: Annotated[Storage, Depends(get_store)],
) -> Health:
    try:
        await store.ping()
    except DATABASE_ERRORS as exc:
        log.error("health check: database error: %s", exc)
        raise ApiError(503, "db_unavailable", f"database error: {exc}") from None
    mode = "replay" if services.settings.replay else "live"
    return Health(status="ok", db="ok", rules_version=services.rules_version, mode=mode)
