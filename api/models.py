"""Request and response bodies of the API (they make the OpenAPI document)."""

from __future__ import annotations

from typing import Annotated, Literal

from pydantic import BaseModel, BeforeValidator, ConfigDict, Field

from rxcheck.result import Result

JurisdictionCode = Literal["auto", "GB", "EU", "US", "CA"]  # as checker.pipeline.JURISDICTIONS


def normalize_jurisdiction(value: object) -> object:
    if isinstance(value, str):
        return value.lower() if value.lower() == "auto" else value.upper()
    return value


Jurisdiction = Annotated[
    JurisdictionCode,
    BeforeValidator(normalize_jurisdiction),
    Field(description="Rules of which jurisdiction apply: `auto` (guessed from the site), GB, EU, US or CA."),
]
AuditState = Literal["queued", "running", "done", "failed", "cancelled"]


class CacheInfo(BaseModel):
    hit: bool = Field(description="True when the verdict came from the cache.")
    age_s: int = Field(description="Seconds since the verdict was computed.")
    max_age_s: int = Field(description="Seconds the verdict is served from the cache in all.")


class VerdictResponse(Result):
    """A check result (the same JSON as `rxcheck check --json`) plus where it came from."""

    cache: CacheInfo


class RequestBody(BaseModel):
    """Base of every request body: a field the API does not know is refused (422 naming it), not ignored."""

    model_config = ConfigDict(extra="forbid")


class AuditRequest(RequestBody):
    urls: list[str] = Field(min_length=1, description="The URLs to check (at most the server's limit).")
    jurisdiction: Jurisdiction = "auto"


class AuditCreated(BaseModel):
    id: str
    status: AuditState


class AuditStatus(BaseModel):
    id: str
    status: AuditState
    jurisdiction: str
    created_at: str = Field(description="When the audit was submitted (ISO 8601, UTC).")
    total: int = Field(description="URLs in the audit.")
    done: int = Field(description="URLs checked so far.")
    counts: dict[str, int] = Field(description="URLs checked so far, by verdict.")


class RuleInfo(BaseModel):
    id: str
    name: str
    category: str
    kind: str
    severity: str


class RulesResponse(BaseModel):
    rules_version: str
    rules: list[RuleInfo]


class Health(BaseModel):
    status: Literal["ok"]
    db: Literal["ok"]
    rules_version: str
    mode: Literal["live", "replay"]
