"""The rule schema: what a YAML rule file may say. Validated at load; exported as `rules/schema.json`."""

from __future__ import annotations

from typing import Any, Literal

from pydantic import BaseModel, ConfigDict, Field, field_validator, model_validator

CATEGORIES = (
    "prescription", "licensing", "location", "contact", "pricing", "payment",
    "policies", "seals", "product_safety", "domain", "security", "content",
)  # fmt: skip
Category = Literal[
    "prescription", "licensing", "location", "contact", "pricing", "payment",
    "policies", "seals", "product_safety", "domain", "security", "content",
]  # fmt: skip
Jurisdiction = Literal["GB", "EU", "US", "CA"]
ID_PATTERN = r"^[a-z0-9][a-z0-9-]{2,63}$"
CHECK_NAME_PATTERN = r"^[a-z_][a-z0-9_]*$"


class Strict(BaseModel):
    model_config = ConfigDict(extra="forbid", frozen=True)


class TextMatch(Strict):
    """Phrases (plain words, case-insensitive, whole words), regular expressions (RE2 syntax) and/or the names of
    lexicon lists (`rules/reference/lexicon/<lang>.yaml`), whose terms in every language match."""

    phrases: list[str] = Field(default_factory=list)
    regex: list[str] = Field(default_factory=list)
    terms: list[str] = Field(default_factory=list, description="names of lexicon term lists")

    @model_validator(mode="after")
    def _something(self) -> TextMatch:
        if not self.phrases and not self.regex and not self.terms:
            raise ValueError("give at least one of `phrases`, `regex` or `terms`")
        return self


class TextCheck(TextMatch):
    """Visible page text. By default only asserted statements count: negated ("we never sell without a
    prescription"), questions, quotations and warnings ("beware of sites that sell without a prescription")
    do not."""

    roles: list[str] = Field(default_factory=list, description="only pages with these roles (default: all)")
    exclude_roles: list[str] = Field(default_factory=list)
    near: TextMatch | None = Field(None, description="must also occur in the same block of text")
    not_near: TextMatch | None = Field(None, description="must not occur in the same block of text")
    include: Literal["asserted", "any"] = "asserted"
    min_pages: int = Field(1, ge=1, description="how many different pages must match")


class SelectorCheck(Strict):
    css: str
    text: TextMatch | None = None
    roles: list[str] = Field(default_factory=list)


class LinkCheck(Strict):
    text: TextMatch | None = None
    href: list[str] = Field(default_factory=list, description="regular expressions on the absolute link URL")
    target: Literal["any", "same_site", "external"] = "any"
    roles: list[str] = Field(default_factory=list)


class ImageCheck(Strict):
    text: TextMatch | None = Field(None, description="matched against alt, title and file name")
    link: Literal["any", "none", "same_site", "external"] = "any"
    link_href: list[str] = Field(default_factory=list, description="regular expressions on the link around it")
    roles: list[str] = Field(default_factory=list)


class RoleCheck(Strict):
    roles: list[str] = Field(min_length=1)


class FactCheck(Strict):
    """Facts of one kind whose attributes satisfy `where`: `{attr: value}` or `{attr: {op: value}}`, with ops
    eq, ne, lt, lte, gt, gte, in, not_in, exists, matches (regex), contains."""

    kind: str
    where: dict[str, Any] = Field(default_factory=dict)
    min_count: int = Field(1, ge=1)
    include: Literal["asserted", "any"] = Field(
        "asserted", description="facts read from text count only when asserted (see `status`), unless `any`"
    )

    @field_validator("where")
    @classmethod
    def _ops(cls, where: dict[str, Any]) -> dict[str, Any]:
        allowed = {"eq", "ne", "lt", "lte", "gt", "gte", "in", "not_in", "exists", "matches", "contains"}
        for attr, test in where.items():
            if isinstance(test, dict):
                unknown = set(test) - allowed
                if unknown:
                    raise ValueError(f"unknown operator {sorted(unknown)} for {attr!r}; use one of {sorted(allowed)}")
        return where


class UrlCheck(Strict):
    """The site's start or final URL."""

    which: Literal["start", "final", "any"] = "any"
    scheme: Literal["http", "https"] | None = None
    host: list[str] = Field(default_factory=list, description="regular expressions on the host name")
    tld: list[str] = Field(default_factory=list, description="public suffixes, e.g. pharmacy, co.uk")


class Check(Strict):
    """Exactly one of the check types, and an optional description used when its absence is the evidence."""

    text: TextCheck | None = None
    selector: SelectorCheck | None = None
    link: LinkCheck | None = None
    image: ImageCheck | None = None
    role: RoleCheck | None = None
    fact: FactCheck | None = None
    url: UrlCheck | None = None
    describe: str | None = Field(None, description="what this check looks for, e.g. 'a street address'")

    @model_validator(mode="after")
    def _exactly_one(self) -> Check:
        kinds = [name for name in ("text", "selector", "link", "image", "role", "fact", "url") if getattr(self, name)]
        if len(kinds) != 1:
            raise ValueError(f"a check has exactly one of text, selector, link, image, role, fact, url (got {kinds})")
        return self

    @property
    def type(self) -> str:
        return next(
            name for name in ("text", "selector", "link", "image", "role", "fact", "url") if getattr(self, name)
        )


class RuleTest(Strict):
    """A test case: one HTML page (`html`, served at `url` with `role`), or several (`pages`: url -> html)."""

    html: str | None = None
    url: str = "https://shop.example.com/"
    final_url: str | None = Field(None, description="where `url` redirects to, for redirect rules")
    role: str = "home"
    pages: dict[str, str | dict[str, str]] = Field(default_factory=dict)
    jurisdiction: str = "auto"
    note: str = ""

    @model_validator(mode="after")
    def _content(self) -> RuleTest:
        if (self.html is None) == (not self.pages):
            raise ValueError("a test gives either `html` or `pages`")
        return self


class RuleTests(Strict):
    match: list[RuleTest] = Field(default_factory=list)
    no_match: list[RuleTest] = Field(default_factory=list)


class Rule(Strict):
    id: str = Field(pattern=ID_PATTERN)
    name: str = Field(min_length=3, max_length=120)
    category: Category
    kind: Literal["red_flag", "trust_signal"]
    severity: Literal["info", "low", "medium", "high", "critical"]
    weight: float = Field(ge=0, le=100)
    status: Literal["experimental", "test", "stable", "deprecated", "disabled"] = "experimental"
    description: str
    message: str = Field(description="one sentence for a shopper, shown with the finding")
    references: list[str] = Field(min_length=1)
    jurisdictions: list[Jurisdiction] = Field(default_factory=list, description="empty: applies everywhere")
    tags: list[str] = Field(default_factory=list)
    falsepositives: list[str] = Field(default_factory=list)
    checks: dict[str, Check] = Field(min_length=1)
    condition: str
    evidence: list[str] | None = Field(None, description="checks whose matches are shown (default: all that matched)")
    tests: RuleTests = Field(default_factory=RuleTests)

    @field_validator("checks")
    @classmethod
    def _check_names(cls, checks: dict[str, Check]) -> dict[str, Check]:
        import re

        for name in checks:
            if not re.match(CHECK_NAME_PATTERN, name) or name in ("and", "or", "not"):
                raise ValueError(f"check name {name!r} must be lowercase letters, digits and _, not a keyword")
        return checks

    @model_validator(mode="after")
    def _references_known(self) -> Rule:
        from rxcheck.engine.condition import parse_condition

        tree = parse_condition(self.condition)
        unknown = tree.names() - set(self.checks)
        if unknown:
            raise ValueError(f"condition names unknown checks: {sorted(unknown)}")
        if self.evidence and set(self.evidence) - set(self.checks):
            raise ValueError(f"evidence names unknown checks: {sorted(set(self.evidence) - set(self.checks))}")
        if self.status == "stable" and not (self.tests.match and self.tests.no_match):
            raise ValueError("a stable rule carries tests: at least one `match` and one `no_match` case")
        return self

    @property
    def enabled(self) -> bool:
        return self.status not in ("disabled", "deprecated")


class DomainOverride(Strict):
    domain: str
    verdict: Literal["legitimate", "suspicious", "rogue", "not_a_pharmacy"]
    reason: str


class Overrides(Strict):
    """`overrides.yaml` at the root of a pack: verdicts fixed by domain, applied before any rule; and rule ids
    to disable."""

    allow: list[DomainOverride] = Field(default_factory=list)
    deny: list[DomainOverride] = Field(default_factory=list)
    disable: list[str] = Field(default_factory=list)
