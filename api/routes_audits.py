"""`/v1/audits`: submit many URLs, follow progress, cancel, stream the results as JSON Lines or as the HTML report.

On SQLite the audit runs in this process; on PostgreSQL it is queued for `rxcheck worker`s, and progress and
results are read from the database that all of them write.
"""

from __future__ import annotations

import asyncio
from collections.abc import AsyncIterator
from datetime import UTC, datetime
from typing import Annotated

from fastapi import APIRouter, Depends, Path, Query, Request, Response
from fastapi.responses import StreamingResponse

from rxcheck import report_html
from rxcheck.api.audit_urls import URLChecks, check_audit_urls
from rxcheck.api.deps import (
    Services,
    get_audits,
    get_services,
    get_store,
    get_verdicts,
    json_body,
    rate_limit,
    require_key,
)
from rxcheck.api.errors import ApiError, error_responses
from rxcheck.api.jobs import Audits
from rxcheck.api.models import AuditCreated, AuditRequest, AuditStatus, Jurisdiction
from rxcheck.api.storage import AuditRow, QuotaExceeded, Storage, URLs
from rxcheck.api.storage.postgres import PostgresStorage
from rxcheck.api.verdicts import VerdictService
from rxcheck.audit import read_urls
from rxcheck.result import VERDICT_RANK, Result

RESULTS_PAGE = 200


class NDJSONResponse(StreamingResponse):
    media_type = "application/x-ndjson"


class HTMLStreamResponse(StreamingResponse):
    media_type = "text/html"


router = APIRouter(
    prefix="/v1/audits",
    tags=["audits"],
    dependencies=[Depends(rate_limit)],
    responses=error_responses(401, 422, 429, 500),
)

AuditId = Annotated[str, Path(pattern=r"^[0-9a-f]{32}$", description="The id returned on submission.")]


async def _owned_audit(store: Storage, audit_id: str, owner: str) -> AuditRow:
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
        "carries on. Requires an API key and a JSON body (415 otherwise). Too many URLs answer 413. Each key may "
        "have at most `max_queued_urls_per_key` URLs queued or running over all its audits: an audit that would "
        "pass it answers 429 `quota_exceeded`, saying the limit and how many are in flight. The URLs of different "
        "keys are checked in round-robin, so one key's huge audit does not hold up another's small one."
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
    audits: Annotated[Audits, Depends(get_audits)],
    verdicts: Annotated[VerdictService, Depends(get_verdicts)],
) -> AuditCreated:
    limit = services.settings.max_urls_per_audit
    if len(body.urls) > limit:
        raise ApiError(413, "too_many_urls", f"{len(body.urls)} URLs in one audit; the limit is {limit}")
    check_audit_urls(body.urls, target=verdicts.target)
    audit_id = await _submit(audits, body.urls, jurisdiction=body.jurisdiction, owner=owner)
    response.headers["Location"] = request.scope.get("root_path", "") + request.app.url_path_for(
        "get_audit", audit_id=audit_id
    )
    return AuditCreated(id=audit_id, status="queued")


@router.post(
    "/upload",
    status_code=202,
    response_model=AuditCreated,
    summary="Start an audit from a URL list, streamed",
    description=(
        "Like `POST /v1/audits`, for long lists: the body is a list of URLs, one per line (`text/plain`; blank "
        "lines and `#` comments skipped, a CSV's first column taken), stored in batches as it arrives. On "
        "PostgreSQL it is never held whole in memory, and holds up to `max_urls_per_upload` URLs; on SQLite "
        "the limit is `max_urls_per_audit`. Requires an API key. Too many URLs answer 413 and store nothing. "
        "Every URL is checked as `POST /v1/audits` checks it: if any is refused, the whole list is refused with "
        "422 `invalid_urls`, listing each refused entry (`body.urls.<index>`, the URL's position in the list, "
        "from 0, blank lines and comments not counted). The per-key quota applies (429 `quota_exceeded`)."
    ),
    openapi_extra={"requestBody": {"required": True, "content": {"text/plain": {"schema": {"type": "string"}}}}},
    responses=error_responses(413),
)
async def upload_audit(
    request: Request,
    owner: Annotated[str, Depends(require_key)],
    services: Annotated[Services, Depends(get_services)],
    store: Annotated[Storage, Depends(get_store)],
    audits: Annotated[Audits, Depends(get_audits)],
    verdicts: Annotated[VerdictService, Depends(get_verdicts)],
    jurisdiction: Annotated[Jurisdiction, Query()] = "auto",
) -> AuditCreated:
    settings = services.settings
    limit = settings.max_urls_per_upload if isinstance(store, PostgresStorage) else settings.max_urls_per_audit
    urls = _body_urls(request, limit, URLChecks(verdicts.target))
    audit_id = await _submit(audits, urls, jurisdiction=jurisdiction, owner=owner)
    return AuditCreated(id=audit_id, status="queued")


async def _submit(audits: Audits, urls: URLs, *, jurisdiction: str, owner: str) -> str:
    """Submit an audit; 429 `quota_exceeded` when its key would have too many URLs queued or running."""
    try:
        return await audits.submit(urls, jurisdiction=jurisdiction, owner=owner)
    except QuotaExceeded as exc:
        detail = {"loc": "body", "msg": str(exc), "type": "quota_exceeded", "limit": exc.limit}
        raise ApiError(429, "quota_exceeded", str(exc), details=[detail | {"in_flight": exc.in_flight}]) from None


async def _body_urls(request: Request, limit: int, checks: URLChecks) -> AsyncIterator[str]:
    """The URLs of a streamed list, as its lines arrive, each checked by `checks`; past `limit`, a 413, and at the
    end a 422 if any URL was refused (either way the audit is rolled back)."""
    count = 0
    rest = b""
    async for chunk in request.stream():
        lines = (rest + chunk).split(b"\n")
        rest = lines.pop()
        for url in read_urls(line.decode("utf-8", errors="replace") for line in lines):
            count += 1
            if count > limit:
                raise ApiError(413, "too_many_urls", f"more than {limit} URLs in one audit")
            if checks.accept(url):
                yield url
    for url in read_urls([rest.decode("utf-8", errors="replace")]):
        if count + 1 > limit:
            raise ApiError(413, "too_many_urls", f"more than {limit} URLs in one audit")
        if checks.accept(url):
            yield url
    checks.raise_if_refused()


@router.get(
    "/{audit_id}",
    response_model=AuditStatus,
    summary="Progress of an audit",
    responses=error_responses(404),
)
async def get_audit(
    audit_id: AuditId,
    owner: Annotated[str, Depends(require_key)],
    store: Annotated[Storage, Depends(get_store)],
) -> AuditStatus:
    return _status(await _owned_audit(store, audit_id, owner))


@router.delete(
    "/{audit_id}",
    response_model=AuditStatus,
    summary="Cancel an audit",
    description=(
        "URLs not started yet are dropped; those being checked finish and keep their results. An audit that "
        "has already ended is left as it is. Answers the audit's progress afterwards."
    ),
    responses=error_responses(404),
)
async def cancel_audit(
    audit_id: AuditId,
    owner: Annotated[str, Depends(require_key)],
    store: Annotated[Storage, Depends(get_store)],
    audits: Annotated[Audits, Depends(get_audits)],
) -> AuditStatus:
    await _owned_audit(store, audit_id, owner)
    await audits.cancel(audit_id)
    return _status(await _owned_audit(store, audit_id, owner))


def _status(audit: AuditRow) -> AuditStatus:
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
    store: Annotated[Storage, Depends(get_store)],
) -> NDJSONResponse:
    await _owned_audit(store, audit_id, owner)
    return NDJSONResponse(_result_lines(store, audit_id))


async def _result_lines(store: Storage, audit_id: str) -> AsyncIterator[bytes]:
    after = -1
    while True:
        page = await store.results_page(audit_id, after=after, limit=RESULTS_PAGE)
        if not page:
            return
        yield "".join(result + "\n" for _, result in page).encode("utf-8")
        after = page[-1][0]


@router.get(
    "/{audit_id}/report.html",
    response_class=HTMLStreamResponse,
    summary="The audit as an HTML report",
    description=(
        "One self-contained HTML page (the same report as `rxcheck report`): summary, charts, a sortable table "
        "of all sites and every finding with its evidence, for the results stored so far. It makes no external "
        "requests and is complete without JavaScript. Streamed from the database in two passes."
    ),
    responses={200: {"content": {"text/html": {"schema": {"type": "string"}}}}, **error_responses(404)},
)
async def get_audit_report(
    audit_id: AuditId,
    owner: Annotated[str, Depends(require_key)],
    store: Annotated[Storage, Depends(get_store)],
) -> HTMLStreamResponse:
    audit = await _owned_audit(store, audit_id, owner)
    source = f"audit {audit.id} ({audit.status}, {audit.done} of {audit.total} checked)"
    headers = {"Content-Security-Policy": report_html.content_security_policy(), "X-Content-Type-Options": "nosniff"}
    return HTMLStreamResponse(_report_chunks(store, audit_id, source), headers=headers)


async def _stored_pages(store: Storage, audit_id: str) -> AsyncIterator[list[str]]:
    after = -1
    while page := await store.results_page(audit_id, after=after, limit=RESULTS_PAGE):
        yield [result for _, result in page]
        after = page[-1][0]


async def _report_chunks(store: Storage, audit_id: str, source: str) -> AsyncIterator[bytes]:
    """First pass: the summary and table; second pass: one section per site (only those the first pass counted).

    Parsing and rendering run in worker threads, a page of results at a time, so a big report never blocks the loop.
    """
    reader, summary = report_html.SiteReader(), report_html.Summary()
    async for texts in _stored_pages(store, audit_id):
        await asyncio.to_thread(summary.add_lines, reader, texts)
    yield (await asyncio.to_thread(report_html.render_head, summary, source=source)).encode("utf-8")
    reader = report_html.SiteReader()
    async for texts in _stored_pages(store, audit_id):
        yield (await asyncio.to_thread(report_html.render_sections, summary, reader, texts)).encode("utf-8")
        if reader.count >= summary.total:
            break
    yield report_html.render_tail(summary).encode("utf-8")
