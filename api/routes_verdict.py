"""`GET /v1/verdict`: the verdict for one site, from the cache or freshly crawled."""

from __future__ import annotations

from typing import Annotated

from fastapi import APIRouter, Depends, Query, Request, Response

from rxcheck.api.deps import CrawlCharge, Services, crawl_charge, get_services, get_verdicts, rate_limit, verdict_access
from rxcheck.api.errors import ApiError, error_responses
from rxcheck.api.headers import verdict_cache_control
from rxcheck.api.models import Jurisdiction, VerdictResponse
from rxcheck.api.verdicts import Lookup, VerdictService
from rxcheck.errors import BlockedAddress, FetchTimeout, InvalidURL

router = APIRouter(
    prefix="/v1",
    tags=["verdicts"],
    dependencies=[Depends(rate_limit)],
    responses=error_responses(400, 401, 422, 429, 500, 504),
)


@router.get(
    "/verdict",
    response_model=VerdictResponse,
    summary="Verdict for one site",
    description=(
        "Check whether an online pharmacy is legitimate. A verdict computed recently (24 hours by default) "
        "for the same site, jurisdiction and rule pack is served from the cache; otherwise the site is "
        "crawled, within a deadline (504 past it). Concurrent requests for the same site share one crawl. "
        "A verdict that needs a crawl (a cache miss, or `fresh=true`) is charged to a per-client crawl rate "
        "limit, much smaller than the limit on cached lookups (429 with `Retry-After` past it). "
        "`Cache-Control` says how long the verdict may be reused (what remains of its cache lifetime). "
        "Targets that are not public http(s) sites (private or loopback addresses, other schemes, URLs "
        "over 2048 characters) are refused with 400 before anything is fetched. Open to all unless the "
        "server requires an API key (`Authorization: Bearer <key>`)."
    ),
    dependencies=[Depends(verdict_access)],
)
async def get_verdict(
    request: Request,
    verdicts: Annotated[VerdictService, Depends(get_verdicts)],
    services: Annotated[Services, Depends(get_services)],
    charge_crawl: Annotated[CrawlCharge, Depends(crawl_charge)],
    url: Annotated[str, Query(min_length=1, description="The site to check (scheme optional).")],
    fresh: Annotated[bool, Query(description="Crawl now even if a cached verdict exists.")] = False,
    jurisdiction: Annotated[Jurisdiction, Query()] = "auto",
) -> VerdictResponse:
    try:
        client = request.client.host if request.client else None
        lookup = await verdicts.lookup(
            url, jurisdiction=jurisdiction, fresh=fresh, client=client, before_crawl=charge_crawl
        )
    except (InvalidURL, BlockedAddress) as exc:
        raise ApiError(400, exc.type, str(exc)) from None
    except FetchTimeout as exc:
        raise ApiError(504, "deadline_exceeded", str(exc)) from None
    # The verdict was validated and serialised when it was stored: the answer is spliced from those bytes.
    return verdict_response(lookup, shared=not services.settings.verdict_requires_key)


def verdict_response(lookup: Lookup, *, shared: bool) -> Response:
    """The answer for a lookup: its JSON, and `Cache-Control` for what remains of its cache lifetime."""
    cache_control = verdict_cache_control(max_age_s=lookup.max_age_s, age_s=lookup.age_s, shared=shared)
    return Response(lookup.response_json(), media_type="application/json", headers={"Cache-Control": cache_control})
