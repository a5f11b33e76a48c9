"""The result of checking one site: the JSON shape shared by `check --json`, `audit` and the API."""

from __future__ import annotations

from datetime import UTC, datetime
from typing import Literal

from pydantic import BaseModel, Field, model_validator

Verdict = Literal["legitimate", "suspicious", "rogue", "not_a_pharmacy", "unreachable"]
Kind = Literal["red_flag", "trust_signal"]
Severity = Literal["info", "low", "medium", "high", "critical"]
# Where a result's jurisdiction came from: named by the caller, read from the site's own signals, or not decided
# (the site was not read: unreachable, or an operator's fixed verdict; the jurisdiction is then "auto").
JurisdictionSource = Literal["given", "inferred", "undecided"]

# Order used by `--fail-on` and by summaries: higher is worse.
VERDICT_RANK: dict[str, int] = {
    "legitimate": 0,
    "not_a_pharmacy": 0,
    "unreachable": 1,
    "suspicious": 2,
    "rogue": 3,
}


class Evidence(BaseModel):
    url: str
    snippet: str = Field(
        description="Text copied from the checked site: untrusted. Escape it for where it is shown (HTML, a "
        "terminal, a spreadsheet cell); never insert it as markup."
    )
    locator: str = ""


class Finding(BaseModel):
    rule: str
    name: str
    category: str
    kind: Kind
    severity: Severity
    weight: float
    message: str
    evidence: list[Evidence] = Field(default_factory=list)
    tags: list[str] = Field(default_factory=list)


class SiteTypeEvidence(BaseModel):
    signal: str
    side: Literal["seller", "other"]
    weight: float
    describe: str
    url: str
    snippet: str
    locator: str = ""
    rule: str | None = None  # for a red flag stated in a seller's voice: the rule that found it


class SiteType(BaseModel):
    """What kind of site this is, and why: `pharmacy` (a seller of medicines), `information` or `unknown`."""

    type: Literal["pharmacy", "information", "unknown"]
    seller_score: float = 0.0
    other_score: float = 0.0
    seller_evidence: bool = False  # enough seller evidence to be judged as a possible seller
    evidence: list[SiteTypeEvidence] = Field(default_factory=list)


class PageSummary(BaseModel):
    url: str
    status: int | None
    role: str


class ErrorInfo(BaseModel):
    type: str
    message: str
    status: int | None = None  # the HTTP status, for `http_error`


class Note(BaseModel):
    """A part of the check that failed and was skipped (the rest of the check went on)."""

    stage: Literal["facts", "rules"]
    name: str  # the extractor or the rule id
    message: str


class Result(BaseModel):
    url: str
    final_url: str | None = None
    verdict: Verdict
    risk_score: int = Field(ge=0, le=100)
    jurisdiction: str = Field(
        description="Whose rules applied: GB, EU, US or CA; `unknown` when the site's own signals named none clearly "
        "(only rules for every jurisdiction applied); `auto` when it was not decided."
    )
    jurisdiction_source: JurisdictionSource | None = Field(
        default=None,
        description="`given` by the caller, `inferred` from the site, or `undecided`; null in results "
        "written before this field was added.",
    )
    rules_version: str
    checked_at: str = Field(default_factory=lambda: datetime.now(UTC).isoformat(timespec="seconds"))
    error: ErrorInfo | None = None
    site_type: SiteType | None = None
    verdict_reason: str = ""
    pages: list[PageSummary] = Field(default_factory=list)
    findings: list[Finding] = Field(default_factory=list)
    notes: list[Note] = Field(default_factory=list)
    input_index: int | None = Field(
        default=None,
        description="In an audit, where this URL is in its input, to join results back to it: the line of the list "
        "given to `rxcheck audit` (1-based, every line counted: a CSV header, blank lines and comments too), or the "
        "1-based position in the list of an API audit; null elsewhere.",
    )

    @model_validator(mode="after")
    def _undecided_when_auto(self) -> Result:
        if self.jurisdiction_source is None and self.jurisdiction == "auto":
            self.jurisdiction_source = "undecided"
        return self

    def red_flags(self) -> list[Finding]:
        return [f for f in self.findings if f.kind == "red_flag"]

    def trust_signals(self) -> list[Finding]:
        return [f for f in self.findings if f.kind == "trust_signal"]


def asked_source(jurisdiction: str) -> JurisdictionSource:
    """The source of a jurisdiction as asked for, before the site is read: `auto` is not decided yet."""
    return "undecided" if jurisdiction == "auto" else "given"
