"""Renderings of a result: readable text for a terminal, JSON, and CSV rows for audits."""

from __future__ import annotations

import csv
import io

from rxcheck.result import Finding, Result, SiteType

CSV_FIELDS = [
    "url", "final_url", "verdict", "risk_score", "jurisdiction", "rules_version", "checked_at",
    "error", "red_flags", "trust_signals", "pages", "site_type", "verdict_reason", "jurisdiction_source",
    "input_index",
]  # fmt: skip
VERDICT_LABELS = {
    "legitimate": "LEGITIMATE",
    "suspicious": "SUSPICIOUS",
    "rogue": "ROGUE",
    "not_a_pharmacy": "NOT A PHARMACY",
    "unreachable": "UNREACHABLE",
}
SITE_TYPE_EVIDENCE_SHOWN = 4
VERDICT_EXPLAINED = {
    "legitimate": "Its identity can be checked and it shows no serious red flag.",
    "suspicious": "It involves prescription medicines but its identity or practice cannot be checked.",
    "rogue": "It shows clear signs of illegal practice. Do not buy here.",
    "not_a_pharmacy": "It does not sell medicines itself, so a shop's red flags and trust signals do not apply.",
    "unreachable": "It could not be checked.",
}


# Shown escaped in text and CSV output, so text from a checked site cannot drive a terminal or spoof a line: C0
# controls but tab (newline too: a snippet cannot start a line of the report), DEL, C1 controls, and the
# bidirectional overrides and isolates.
_ESCAPED = {c: f"\\x{c:02x}" for c in (*range(0x20), *range(0x7F, 0xA0)) if c != 0x09}
_ESCAPED |= {c: f"\\u{c:04x}" for c in (*range(0x202A, 0x202F), *range(0x2066, 0x206A))}
# A spreadsheet runs a cell starting with one of these as a formula (OWASP, CSV injection).
_FORMULA_START = ("=", "+", "-", "@", "\t", "\r")


def printable(text: str) -> str:
    """`text` with control characters escaped (`\\x1b`), safe to print on a terminal."""
    return text.translate(_ESCAPED)


def csv_cell(value: object) -> object:
    """A CSV cell that is inert in a spreadsheet and a terminal: controls escaped, a formula start quoted with `'`."""
    if not isinstance(value, str):
        return value
    text = printable(value)
    return "'" + text if text.startswith(_FORMULA_START) else text


def to_json(result: Result, *, indent: int | None = 2) -> str:
    return result.model_dump_json(indent=indent)


def _finding_lines(finding: Finding, mark: str) -> list[str]:
    lines = [f"  {mark} [{finding.severity}] {finding.name}", f"      {finding.message}"]
    for item in finding.evidence:
        where = f"{item.url}" + (f"  ({item.locator})" if item.locator else "")
        lines.append(f"      at {where}")
        lines.append(f"         “{item.snippet}”")
    return lines


def _site_type_lines(site_type: SiteType) -> list[str]:
    """What kind of site it is and the evidence for it, the side that decided first."""
    lines = [
        f"  site type: {site_type.type} (seller evidence {site_type.seller_score:g}, "
        f"evidence of another kind of site {site_type.other_score:g})"
    ]
    for item in site_type.evidence[:SITE_TYPE_EVIDENCE_SHOWN]:
        mark = "+" if item.side == "seller" else "-"
        lines.append(f"    {mark} {item.describe}: “{item.snippet}” ({item.url})")
    return lines


def jurisdiction_label(result: Result) -> str:
    """The jurisdiction as the text and HTML reports name it, saying whether it was given or assumed."""
    where, source = result.jurisdiction, result.jurisdiction_source
    if source == "given":
        return f"jurisdiction given: {where}"
    if source == "inferred" and where == "unknown":
        return (
            "jurisdiction assumed: unknown (the site's own signals name none clearly; only rules for every "
            "jurisdiction applied)"
        )
    if source == "inferred":
        return f"jurisdiction assumed: {where} (from the site's own signals)"
    if source == "undecided":
        return "jurisdiction: not decided (the site was not read)"
    return f"jurisdiction: {where}"  # a result written before the source was recorded


def to_text(result: Result) -> str:
    head = f"{result.url}: {VERDICT_LABELS[result.verdict]} (risk {result.risk_score}/100)"
    lines = [head, f"  {result.verdict_reason or VERDICT_EXPLAINED[result.verdict]}"]
    if result.verdict_reason:
        lines.append(f"  {VERDICT_EXPLAINED[result.verdict]}")
    if result.site_type is not None:
        lines += _site_type_lines(result.site_type)
    if result.final_url and result.final_url != result.url:
        lines.append(f"  final address: {result.final_url}")
    lines.append(f"  {jurisdiction_label(result)}   rules: {result.rules_version}")
    if result.error:
        lines.append(f"  error ({result.error.type}): {result.error.message}")
    red, trust = result.red_flags(), result.trust_signals()
    if red:
        lines += ["", f"Red flags ({len(red)})"] + [line for f in red for line in _finding_lines(f, "✗")]
    if trust:
        lines += ["", f"Trust signals ({len(trust)})"] + [line for f in trust for line in _finding_lines(f, "✓")]
    if result.pages:
        lines += ["", f"Pages checked ({len(result.pages)})"]
        lines += [f"  {p.status or '-':>3} {p.role:<13} {p.url}" for p in result.pages]
    return "\n".join(printable(line) for line in lines)


def csv_header() -> str:
    return _csv_line(CSV_FIELDS)


def to_csv_row(result: Result) -> str:
    return _csv_line([
        result.url, result.final_url or "", result.verdict, result.risk_score, result.jurisdiction,
        result.rules_version, result.checked_at, result.error.message if result.error else "",
        ";".join(f.rule for f in result.red_flags()), ";".join(f.rule for f in result.trust_signals()),
        len(result.pages), result.site_type.type if result.site_type else "", result.verdict_reason,
        result.jurisdiction_source or "", "" if result.input_index is None else result.input_index,
    ])  # fmt: skip


def _csv_line(values: list) -> str:
    buffer = io.StringIO()
    csv.writer(buffer, lineterminator="\n").writerow([csv_cell(value) for value in values])
    return buffer.getvalue()
