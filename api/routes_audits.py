"""`/v1/audits`: submit many URLs, follow progress, stream the results as JSON Lines."""

from __future__ import annotations

from collections.abc import AsyncIterator
from datetime import UTC, datetime
from typing import Annotated

from fastapi import APIRouter, Depends, Path, Request, Response
from fastapi.responses import StreamingResponse

from api.audit_urls import check_audit_urls
from api.deps import Services, get_audits, get_services, get_store, get_verdicts, json_body, rate_limit, require_key
from api.errors import ApiError, error_responses
from api.jobs import AuditRunner
from api.models import AuditCreated, AuditRequest, AuditStatus
from api.store import AuditRow, Store
from api.verdicts import VerdictService
from checker.result import VERDICT_RANK, Result

RESULTS_PAGE = 200


class NDJSONResponse(StreamingResponse):
    media_type = "application/x-ndjson"


router = APIRouter(
    prefix="/v1/audits",
    tags=["audits"],
    dependencies=[Depends(rate_limit)],
    responses=error_responses(401, 422, 429, 500),
)

AuditId = Annotated[str, Path(pattern=r"^[0-9a-f]{32}$", description="The id returned on submission.")]


async def _owned_audit(store: Store, audit_id: str, owner: str) -> AuditRow:
    audit = await store.get_audit(audit_id)
    if audit is None or audit.owner != owner:
        raise ApiError(404, "not_found", f"no audit {audit_id}")
    return audit


@router.post(
    "",
    status_code=202,
    response_model=AuditCreated,
    summary="Start an audit",
    description=(
        "Queue a list of URLs to check in the background; `Location` names the new audit. Every URL is "
        "first checked as `GET /v1/verdict` checks it (http or https, a valid host, at most 2048 "
        "characters, no private address literal): if any is refused, the whole audit is refused with 422 "
        "`invalid_urls`, listing each refused entry (`body.urls.<index>`) in `details`. Each URL's result is "
        "stored as soon as it is known; a URL that fails when crawled (a name resolving to a private "
        "address, a site that does not answer) gets an `unreachable` result with the error, and the audit "
        "carries on. Requires an API key and a JSON body (415 otherwise). Too many URLs answer 413."
    ),
    responses={
        202: {"headers": {"Location": {"description": "The new audit.", "schema": {"type": "string"}}}},
        **error_responses(400, 413, 415),
    },
    dependencies=[Depends(json_body)],
)
async def create_audit(
    request: Request,
    response: Response,
    body: AuditRequest,
    owner: Annotated[str, Depends(require_key)],
    services: Annotated[Services, Depends(get_services)],
    audits: Annotated[AuditRunner, Depends(get_audits)],
    verdicts: Annotated[VerdictService, Depends(get_verdicts)],
) -> AuditCreated:
    limit = services.settings.max_urls_per_audit
    if len(body.urls) > limit:
        raise ApiError(413, "too_many_urls", f"{len(body.urls)} URLs in one audit; the limit is {limit}")
    check_audit_urls(body.urls, target=verdicts.target)
    audit_id = await audits.submit(body.urls, jurisdiction=body.jurisdiction, owner=owner)
    response.headers["Location"] = request.scope.get("root_path", "") + request.app.url_path_for(
        "get_audit", audit_id=audit_id
    )
    return AuditCreated(id=audit_id, status="queued")


@router.get(
    "/{audit_id}",
    response_model=AuditStatus,
    summary="Progress of an audit",
    responses=error_responses(404),
)
async def get_audit(
    audit_id: AuditId,
    owner: Annotated[str, Depends(require_key)],
    store: Annotated[Store, Depends(get_store)],
) -> AuditStatus:
    audit = await _owned_audit(store, audit_id, owner)
    counts = {verdict: audit.counts.get(verdict, 0) for verdict in VERDICT_RANK}
    created = datetime.fromtimestamp(audit.created, UTC).isoformat(timespec="seconds")
    return AuditStatus(
        id=audit.id,
        status=audit.status,  # type: ignore[arg-type]
        jurisdiction=audit.jurisdiction,
        created_at=created,
        total=audit.total,
        done=audit.done,
        counts=counts,
    )


@router.get(
    "/{audit_id}/results",
    response_class=NDJSONResponse,
    summary="Results of an audit (JSON Lines)",
    description=(
        "One check result per line (the `Result` JSON), in submission order, for every URL checked so "
        "far; poll the audit until `done` for the complete set. Streamed from the database."
    ),
    responses={
        200: {"model": Result, "description": "JSON Lines: one `Result` object per line."},  # see app.py
        **error_responses(404),
    },
)
async def get_audit_results(
    audit_id: AuditId,
    owner: Annotated[str, Depends(require_key)],
    store: Annotated[Store, Depends(get_store)],
) -> NDJSONResponse:
    await _owned_audit(store, audit_id, owner)
    return NDJSONResponse(_result_lines(store, audit_id))


async def _result_lines(store: Store, audit_id: str) -> AsyncIterator[bytes]:
    after = -1
    while True:
        page = await store.results_page(audit_id, after=after, limit=RESULTS_PAGE)
        if not page:
            return
        yield "".join(result + "\n" for _, result in page).encode("utf-8")
        after = page[-1][0]
