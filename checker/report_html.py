"""The HTML audit report: one self-contained file with a summary, charts, a sortable table and a section per site.

Results are read twice, streaming. The first pass aggregates the summary and the table (one small row per site);
the second renders each site's section as it is read, so memory grows with the table only, never with the
findings. Everything crawled is escaped by Jinja2's autoescape; only our own CSS, JS and chart SVG are markup.
"""

from __future__ import annotations

import base64
import hashlib
import json
import re
from collections import Counter
from collections.abc import Iterable, Iterator
from dataclasses import dataclass, field
from datetime import UTC, datetime
from importlib import resources
from pathlib import Path
from typing import Any
from urllib.parse import urlsplit

import jinja2
from markupsafe import Markup

from rxcheck.errors import RxcheckError
from rxcheck.report import VERDICT_EXPLAINED, VERDICT_LABELS, jurisdiction_label
from rxcheck.result import Result

VERDICT_ORDER = ("rogue", "suspicious", "unreachable", "legitimate", "not_a_pharmacy")  # worst first
SITE_TYPES = ("pharmacy", "information", "unknown")
NO_SITE_TYPE = "not recorded"
SCORE_BIN = 5  # risk scores are counted in bins 0-4, 5-9, ..., 95-100 (the verdict bands start at 35 and 70)
TOP_RULES = 12
EVIDENCE_SHOWN = 3  # per finding; the results file keeps them all (this keeps a 10,000-site report a sensible size)
SKIPPED_LINES_SHOWN = 5
_WEB_URL = re.compile(r"https?://[^\s\x00-\x1f\x7f<>\"'`\\]+", re.IGNORECASE)


class ReportError(RxcheckError):
    """The results cannot be read or the report cannot be written; the message says which file and why."""

    type = "report_error"


def is_web_url(value: object) -> bool:
    """True only for an absolute http(s) URL with a host and no whitespace, quotes or control characters.

    Anything else (`javascript:`, `data:`, relative, obfuscated with tabs or newlines) is shown as text, never linked.
    """
    if not isinstance(value, str) or not _WEB_URL.fullmatch(value):
        return False
    try:
        parts = urlsplit(value)
    except ValueError:
        return False
    return parts.scheme.lower() in ("http", "https") and bool(parts.hostname)


def short_url(url: str, base: str | None = None) -> str:
    """How a link reads: its path alone when it is on the same host as `base` (the site), else the whole URL."""
    if base:
        try:
            parts, site = urlsplit(url), urlsplit(base)
        except ValueError:
            return url
        if parts.netloc and parts.netloc == site.netloc and parts.scheme == site.scheme:
            return url[len(f"{parts.scheme}://{parts.netloc}") :] or "/"
    return url


@dataclass(frozen=True)
class SiteTypeEvidence:
    signal: str
    kind: str
    snippet: str
    url: str


@dataclass(frozen=True)
class SiteType:
    type: str
    evidence: list[SiteTypeEvidence]


@dataclass(frozen=True)
class Site:
    """One result as the report shows it: the validated `Result`, its place in the report, and its site type and
    verdict reason (absent from results written before rxcheck recorded them)."""

    index: int
    result: Result
    site_type: SiteType | None
    verdict_reason: str | None

    @property
    def anchor(self) -> str:
        return f"site-{self.index}"


def _text(value: object) -> str:
    return value if isinstance(value, str) else "" if value is None else str(value)


def _site_type(result: Result) -> SiteType | None:
    """The result's site type with its evidence, each item labelled by what it shows ("it prices medicines...")."""
    if result.site_type is None:
        return None
    evidence = [SiteTypeEvidence(e.describe or e.signal, e.side, e.snippet, e.url) for e in result.site_type.evidence]
    return SiteType(result.site_type.type, evidence)


class SiteReader:
    """Turns result lines into `Site`s, numbering the valid ones and counting the lines that are not results."""

    def __init__(self) -> None:
        self.line = 0
        self.count = 0
        self.skipped = 0
        self.skipped_lines: list[int] = []

    def read(self, text: str | bytes) -> Site | None:
        self.line += 1
        if not text.strip():
            return None
        try:
            raw = json.loads(text)
            result = Result.model_validate(raw)
        except ValueError:  # malformed JSON (a line cut short by a crash) or not a Result
            self.skipped += 1
            if len(self.skipped_lines) < SKIPPED_LINES_SHOWN:
                self.skipped_lines.append(self.line)
            return None
        self.count += 1
        return Site(self.count, result, _site_type(result), result.verdict_reason or None)

    def sites(self, lines: Iterable[str | bytes]) -> Iterator[Site]:
        for text in lines:
            if (site := self.read(text)) is not None:
                yield site


@dataclass(frozen=True)
class Row:
    """One line of the table of all sites."""

    index: int
    url: str
    verdict: str
    score: int
    site_type: str
    red_flags: int
    trust_signals: int
    error_type: str

    @property
    def rank(self) -> int:
        return len(VERDICT_ORDER) - VERDICT_ORDER.index(self.verdict)


@dataclass
class Summary:
    """Everything the top of the report shows, aggregated one site at a time."""

    total: int = 0
    verdicts: Counter[str] = field(default_factory=Counter)
    site_types: Counter[str] = field(default_factory=Counter)
    flag_categories: Counter[str] = field(default_factory=Counter)  # sites with a red flag in that category
    flag_rules: Counter[str] = field(default_factory=Counter)  # sites with that red flag
    rule_names: dict[str, tuple[str, str, str]] = field(default_factory=dict)  # rule -> (name, category, severity)
    score_bins: list[int] = field(default_factory=lambda: [0] * (100 // SCORE_BIN))
    jurisdictions: Counter[str] = field(default_factory=Counter)
    rules_versions: Counter[str] = field(default_factory=Counter)
    error_types: Counter[str] = field(default_factory=Counter)
    first_checked: datetime | None = None
    last_checked: datetime | None = None
    rows: list[Row] = field(default_factory=list)
    skipped: int = 0
    skipped_lines: list[int] = field(default_factory=list)

    def add(self, site: Site) -> None:
        result = site.result
        self.total += 1
        self.verdicts[result.verdict] += 1
        site_type = site.site_type.type if site.site_type else NO_SITE_TYPE
        self.site_types[site_type] += 1
        red = result.red_flags()
        for category in {f.category for f in red}:
            self.flag_categories[category] += 1
        for finding in red:
            if finding.rule not in self.rule_names:
                self.rule_names[finding.rule] = (finding.name, finding.category, finding.severity)
        for rule in {f.rule for f in red}:
            self.flag_rules[rule] += 1
        self.score_bins[min(result.risk_score // SCORE_BIN, len(self.score_bins) - 1)] += 1
        self.jurisdictions[result.jurisdiction] += 1
        self.rules_versions[result.rules_version] += 1
        if result.error:
            self.error_types[result.error.type] += 1
        checked = _parse_time(result.checked_at)
        if checked is not None:
            self.first_checked = min(self.first_checked or checked, checked)
            self.last_checked = max(self.last_checked or checked, checked)
        self.rows.append(
            Row(site.index, result.url, result.verdict, result.risk_score, site_type, len(red),
                len(result.trust_signals()), result.error.type if result.error else "")
        )  # fmt: skip

    def add_lines(self, reader: SiteReader, lines: Iterable[str | bytes]) -> None:
        """Count the sites in `lines`, read on with `reader` (call again with the next lines)."""
        for site in reader.sites(lines):
            self.add(site)
        self.skipped, self.skipped_lines = reader.skipped, list(reader.skipped_lines)

    def table(self) -> list[Row]:
        """Worst first: by verdict, then risk score, then URL."""
        return sorted(self.rows, key=lambda row: (-row.rank, -row.score, row.url))

    def top_rules(self) -> list[tuple[str, str, str, str, int]]:
        """The most frequent red flags: (rule, name, category, severity, sites)."""
        return [(rule, *self.rule_names[rule], n) for rule, n in self.flag_rules.most_common(TOP_RULES)]

    def verdict_counts(self) -> list[tuple[str, int]]:
        return [(verdict, self.verdicts.get(verdict, 0)) for verdict in VERDICT_ORDER]

    def site_type_counts(self) -> list[tuple[str, int]]:
        known = [(kind, self.site_types[kind]) for kind in SITE_TYPES if self.site_types.get(kind)]
        other = sorted((kind, n) for kind, n in self.site_types.items() if kind not in SITE_TYPES)
        return known + other


def _parse_time(value: str) -> datetime | None:
    try:
        moment = datetime.fromisoformat(value)
    except ValueError:
        return None
    return moment.replace(tzinfo=UTC) if moment.tzinfo is None else moment.astimezone(UTC)


# -- rendering --


@dataclass(frozen=True)
class _Assets:
    css: Markup
    js: Markup
    csp: str


def _asset(name: str) -> str:
    return resources.files("rxcheck").joinpath("templates", name).read_text(encoding="utf-8")


def _sha256(text: str) -> str:
    return "'sha256-" + base64.b64encode(hashlib.sha256(text.encode("utf-8")).digest()).decode("ascii") + "'"


def _load_assets() -> _Assets:
    css, js = _asset("report.css"), _asset("report.js")
    csp = f"default-src 'none'; style-src {_sha256(css)}; script-src {_sha256(js)}; base-uri 'none'; form-action 'none'"
    # Our own files, not crawled text: the hashes in the policy are of exactly these bytes.
    return _Assets(Markup(css), Markup(js), csp)


def _environment() -> jinja2.Environment:
    env = jinja2.Environment(
        loader=jinja2.PackageLoader("rxcheck", "templates"),
        autoescape=True,
        undefined=jinja2.StrictUndefined,
        trim_blocks=True,
        lstrip_blocks=True,
    )
    env.tests["web_url"] = is_web_url
    env.filters["short_url"] = short_url
    env.globals.update(
        VERDICT_LABELS=VERDICT_LABELS,
        VERDICT_EXPLAINED=VERDICT_EXPLAINED,
        EVIDENCE_SHOWN=EVIDENCE_SHOWN,
        jurisdiction_label=jurisdiction_label,
    )
    return env


_ENV = _environment()
_ASSETS = _load_assets()


def content_security_policy() -> str:
    """The policy the report carries in its `<meta>` (also sent as a header by the API)."""
    return _ASSETS.csp


def _macros() -> Any:
    return _ENV.get_template("report.html.j2").module


def render_head(summary: Summary, *, source: str, generated: datetime | None = None) -> str:
    """The document up to the first site section: summary, charts and the table of all sites."""
    from rxcheck.report_charts import summary_charts

    return str(
        _macros().head(
            summary=summary, source=source, generated=generated or datetime.now(UTC), charts=summary_charts(summary),
            assets=_ASSETS,
        )
    )  # fmt: skip


def render_site(site: Site) -> str:
    return str(_macros().site(site=site))


def render_tail(summary: Summary) -> str:
    """The end of the document: the summary as escaped JSON for other tools, and the (optional) script."""
    data = {
        "sites": summary.total,
        "verdicts": dict(summary.verdict_counts()),
        "site_types": dict(summary.site_type_counts()),
        "red_flag_categories": dict(summary.flag_categories.most_common()),
        "jurisdictions": dict(summary.jurisdictions.most_common()),
        "rules_versions": dict(summary.rules_versions.most_common()),
        "errors": dict(summary.error_types.most_common()),
        "first_checked": _iso(summary.first_checked),
        "last_checked": _iso(summary.last_checked),
        "skipped_lines": summary.skipped,
    }
    return str(_macros().tail(summary=summary, assets=_ASSETS, data=data))


def _iso(moment: datetime | None) -> str | None:
    return moment.isoformat(timespec="seconds") if moment else None


def render(summary: Summary, sites: Iterable[Site], *, source: str) -> Iterator[str]:
    """The whole report in pieces; `sites` is read once, and only the `summary.total` sites it counted are shown."""
    yield render_head(summary, source=source)
    for site in sites:
        if site.index > summary.total:
            break
        yield render_site(site)
    yield render_tail(summary)


def render_sections(summary: Summary, reader: SiteReader, lines: Iterable[str | bytes]) -> str:
    """The sections of the sites in `lines` (read on with `reader`), up to the `summary.total` sites it counted."""
    return "".join(render_site(site) for site in reader.sites(lines) if site.index <= summary.total)


def summarise(lines: Iterable[str | bytes]) -> Summary:
    summary = Summary()
    summary.add_lines(SiteReader(), lines)
    return summary


def sidecar_path(report: Path) -> Path:
    """Where `audit --format html` streams its JSON Lines results: beside the report (`a.html` -> `a.jsonl`)."""
    sidecar = report.with_suffix(".jsonl")
    return sidecar if sidecar != report else report.with_name(report.name + ".results.jsonl")


def write_report(results: Path, out: Path) -> Summary:
    """Read a JSON Lines results file twice and write the report to `out` (atomically: a `.part` file renamed)."""
    if not results.is_file():
        raise ReportError(f"no such results file: {results}")
    if results.resolve() == out.resolve():
        raise ReportError(f"the report would overwrite its results file {results}; choose another --out")
    partial = out.with_name(out.name + ".part")
    try:
        with results.open(encoding="utf-8", errors="replace") as lines:
            summary = summarise(lines)
        with results.open(encoding="utf-8", errors="replace") as lines, partial.open("w", encoding="utf-8") as stream:
            for chunk in render(summary, SiteReader().sites(lines), source=results.name):
                stream.write(chunk)
        partial.replace(out)
    except OSError as exc:
        partial.unlink(missing_ok=True)
        raise ReportError(f"cannot write the report {out} from {results}: {exc.strerror or exc}") from exc
    return summary
