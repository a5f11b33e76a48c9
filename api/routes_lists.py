"""`GET /v1/lists/{name}` and `GET /v1/hashes`: privacy-preserving lookups for browser extensions.

See `api/lists.py` for how the lists are made. A client keeps the three lists locally, hashes the host
expressions of each page it visits, and only on a local prefix hit asks `/v1/hashes` for the full hashes
behind that one prefix; it then decides locally. The server sees list downloads and 4-byte prefixes.
`GET /v1/lists/rogue/hosts` publishes the rogue sites by name (unless `lists_publish_rogue_hosts` is off), so
a client can stop them before the first request; it too is a whole-list download.
"""

from __future__ import annotations

import time
from typing import Annotated, Literal

from fastapi import APIRouter, Depends, Header, Path, Query, Request, Response
from pydantic import BaseModel, Field

from rxcheck.api.deps import Services, get_services, get_store, rate_limit, verdict_access
from rxcheck.api.errors import ApiError, error_responses
from rxcheck.api.lists import PREFIX_BYTES, ListName, ListService
from rxcheck.api.storage import Storage

router = APIRouter(
    prefix="/v1",
    tags=["lists"],
    dependencies=[Depends(rate_limit), Depends(verdict_access)],
    responses=error_responses(401, 422, 429, 500),
)

clock = time.time  # replaced in tests

HEX_PREFIX = rf"^([0-9a-fA-F]{{2}}){{{PREFIX_BYTES},32}}$"


class HashListResponse(BaseModel):
    list: ListName
    version: str = Field(description="The list's version: the first 16 hex digits of SHA-256 of its sorted prefixes.")
    type: Literal["full", "diff"] = Field(
        description="`full`: `additions` is the whole list. `diff`: apply `removals` then `additions` to `since`."
    )
    since: str | None = Field(description="The version this diff applies to (null for a full list).")
    prefix_bytes: int = Field(description="Bytes in each prefix (4).")
    count: int = Field(description="Prefixes in the list at this version.")
    additions: list[str] = Field(description="Prefixes to add, lower-case hex, sorted.")
    removals: list[str] = Field(description="Prefixes to remove, lower-case hex, sorted.")
    max_entries: int = Field(description="The most sites a list holds (the most recently judged are kept).")
    refresh_s: int = Field(description="Seconds until the list may change; fetch again after this.")


class HostListResponse(BaseModel):
    list: Literal["rogue"]
    version: str = Field(
        description="The list's version: the first 16 hex digits of SHA-256 of its sorted names, each followed by a "
        "newline."
    )
    type: Literal["full", "diff"] = Field(
        description="`full`: `additions` is the whole list. `diff`: apply `removals` then `additions` to `since`."
    )
    since: str | None = Field(description="The version this diff applies to (null for a full list).")
    count: int = Field(description="Names in the list at this version.")
    additions: list[str] = Field(
        description="Names to add: host names without `www.`, lower case, punycode, sorted. A name covers its "
        "subdomains."
    )
    removals: list[str] = Field(description="Names to remove, sorted.")
    max_entries: int = Field(description="The most sites the list holds (the most recently judged are kept).")
    refresh_s: int = Field(description="Seconds until the list may change; fetch again after this.")


class FullHash(BaseModel):
    hash: str = Field(description="SHA-256 of the canonical host expression, lower-case hex.")
    list: ListName
    verdict: str
    risk_score: int
    age_s: int = Field(description="Seconds since the verdict was stored.")
    checked_at: str | None = None
    jurisdiction: str | None = None
    rules_version: str | None = None
    site_type: str | None = Field(None, description="`pharmacy`, `information` or `unknown`, when the result has it.")
    verdict_reason: str | None = None


class HashesResponse(BaseModel):
    prefix: str
    matches: list[FullHash] = Field(description="Every listed site whose hash starts with the prefix.")


async def get_lists(
    request: Request,
    services: Annotated[Services, Depends(get_services)],
    store: Annotated[Storage, Depends(get_store)],
) -> ListService:
    """The app's `ListService` (made on first use), refreshed when older than `lists_refresh_s`."""
    lists: ListService | None = getattr(request.app.state, "lists", None)
    if lists is None:
        settings = services.settings
        lists = ListService(
            max_entries=settings.lists_max_entries,
            max_age_s=settings.lists_max_age_s,
            refresh_s=settings.lists_refresh_s,
        )
        request.app.state.lists = lists
    await lists.refresh(store, clock())
    return lists


def _cache_headers(response: Response, etag: str, max_age: int) -> None:
    response.headers["ETag"] = etag
    response.headers["Cache-Control"] = f"public, max-age={max_age}"


def _not_modified(if_none_match: str | None, etag: str, max_age: int) -> Response | None:
    """The 304 answer when `If-None-Match` names `etag`, else None."""
    if not if_none_match or etag not in (tag.strip() for tag in if_none_match.split(",")):
        return None
    not_modified = Response(status_code=304)
    _cache_headers(not_modified, etag, max_age)
    return not_modified


Since = Annotated[str | None, Query(pattern=r"^[0-9a-f]{16}$", description="The version the client has.")]


@router.get(
    "/lists/rogue/hosts",
    response_model=HostListResponse,
    summary="The rogue sites by name",
    description=(
        "The names of the sites on the `rogue` list (domain names only; a site known by its IP address is on the "
        "prefix list alone), as regulators publish their lists of rogue pharmacies. A client that holds them stops "
        "a listed site before its first request, and the server learns nothing from a whole-list download. "
        "Versions, diffs (`since`), `ETag` and `Cache-Control` work as for the prefix lists. Answers 404 "
        "`not_published` when the server publishes the rogue list as hash prefixes only."
    ),
    responses={
        304: {"description": "Not modified since the ETag sent in `If-None-Match`."},
        **error_responses(404),
    },
)
async def get_rogue_hosts(
    lists: Annotated[ListService, Depends(get_lists)],
    services: Annotated[Services, Depends(get_services)],
    response: Response,
    since: Since = None,
    if_none_match: Annotated[str | None, Header(include_in_schema=False)] = None,
) -> HostListResponse | Response:
    settings = services.settings
    if not settings.lists_publish_rogue_hosts:
        raise ApiError(404, "not_published", "this server publishes the rogue list as hash prefixes only")
    diff = lists.rogue_hosts_diff(since)
    etag = f'"rogue-hosts-{diff.since or "full"}-{diff.list.version}"'
    if (not_modified := _not_modified(if_none_match, etag, settings.lists_refresh_s)) is not None:
        return not_modified
    _cache_headers(response, etag, settings.lists_refresh_s)
    return HostListResponse(
        list="rogue",
        version=diff.list.version,
        type=diff.kind,
        since=diff.since,
        count=len(diff.list.hosts),
        additions=list(diff.additions),
        removals=list(diff.removals),
        max_entries=settings.lists_max_entries,
        refresh_s=settings.lists_refresh_s,
    )


@router.get(
    "/lists/{name}",
    response_model=HashListResponse,
    summary="A hash-prefix list",
    description=(
        "The 4-byte SHA-256 prefixes of the canonical host expressions (as the Safe Browsing Update API makes "
        "them: `example.com/`) of the sites judged `rogue`, `suspicious` or `legitimate`, from the verdict "
        "cache and recent audits. With `since=<version>` of a recent version, only the changes; otherwise (or "
        "when that version is no longer remembered) the whole list. Answers carry `ETag` and `Cache-Control`; "
        "`If-None-Match` with the ETag answers 304 while the list is unchanged."
    ),
    responses={304: {"description": "Not modified since the ETag sent in `If-None-Match`."}},
)
async def get_list(
    lists: Annotated[ListService, Depends(get_lists)],
    services: Annotated[Services, Depends(get_services)],
    name: Annotated[ListName, Path(description="Which list.")],
    response: Response,
    since: Since = None,
    if_none_match: Annotated[str | None, Header(include_in_schema=False)] = None,
) -> HashListResponse | Response:
    diff = lists.diff(name, since)
    hash_list = diff.list
    etag = f'"{name}-{diff.since or "full"}-{hash_list.version}"'
    max_age = services.settings.lists_refresh_s
    if (not_modified := _not_modified(if_none_match, etag, max_age)) is not None:
        return not_modified
    _cache_headers(response, etag, max_age)
    return HashListResponse(
        list=name,
        version=hash_list.version,
        type=diff.kind,
        since=diff.since,
        prefix_bytes=PREFIX_BYTES,
        count=len(hash_list.prefixes),
        additions=[p.hex() for p in diff.additions],
        removals=[p.hex() for p in diff.removals],
        max_entries=services.settings.lists_max_entries,
        refresh_s=max_age,
    )


@router.get(
    "/hashes",
    response_model=HashesResponse,
    summary="Full hashes for a prefix",
    description=(
        "The full SHA-256 hashes of every listed site whose hash starts with `prefix` (4 to 32 bytes in hex), "
        "each with its list, verdict, risk score and age. The client compares them with the hashes of the page "
        "it is on; the server never learns which of the matching sites, if any, that was."
    ),
)
async def get_hashes(
    lists: Annotated[ListService, Depends(get_lists)],
    services: Annotated[Services, Depends(get_services)],
    response: Response,
    prefix: Annotated[str, Query(pattern=HEX_PREFIX, description="A hash prefix in hex, from a list.")],
) -> HashesResponse:
    try:
        raw = bytes.fromhex(prefix)
    except ValueError:
        raise ApiError(422, "validation_error", f"prefix: not hex: {prefix!r}") from None
    now = clock()
    matches = [
        FullHash(
            hash=e.full_hash.hex(),
            list=e.list,
            verdict=e.verdict,
            risk_score=e.risk_score,
            age_s=max(0, int(now - e.stored_at)),
            checked_at=e.checked_at,
            jurisdiction=e.jurisdiction,
            rules_version=e.rules_version,
            site_type=e.site_type,
            verdict_reason=e.verdict_reason,
        )
        for e in lists.matches(raw)
    ]
    response.headers["Cache-Control"] = f"public, max-age={services.settings.lists_refresh_s}"
    return HashesResponse(prefix=prefix.lower(), matches=matches)
