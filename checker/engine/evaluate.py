"""Evaluating rules: run each rule's named checks, combine them by its condition, explain what matched."""

from __future__ import annotations

from rxcheck.engine.condition import parse_condition
from rxcheck.engine.matchers import Context, run_check
from rxcheck.engine.schema import Rule
from rxcheck.result import Evidence, Finding, Note
from rxcheck.snapshot import not_found


def applies(rule: Rule, jurisdiction: str) -> bool:
    return not rule.jurisdictions or jurisdiction in rule.jurisdictions


def evaluate_rule(rule: Rule, ctx: Context) -> Finding | None:
    """The finding this rule makes on the site, or None. Checks run lazily, once each."""
    outcomes: dict[str, list[Evidence]] = {}

    def matched(name: str) -> bool:
        if name not in outcomes:
            outcomes[name] = run_check(rule.checks[name], ctx)
        return bool(outcomes[name])

    tree = parse_condition(rule.condition)
    if not tree.evaluate(matched):
        return None
    evidence: list[Evidence] = []
    shown = rule.evidence if rule.evidence is not None else sorted(tree.positive_names(), key=list(rule.checks).index)
    for name in shown:
        if matched(name):
            evidence.extend(item for item in outcomes[name] if item not in evidence)
    for name in sorted(tree.names() - tree.positive_names(), key=list(rule.checks).index):
        if name in outcomes and not outcomes[name] and rule.checks[name].type != "url":  # the address is no page
            evidence.append(_absence(rule, name, ctx))
    return Finding(
        rule=rule.id, name=rule.name, category=rule.category, kind=rule.kind, severity=rule.severity,
        weight=rule.weight, message=rule.message, evidence=evidence, tags=list(rule.tags),
    )  # fmt: skip


def _absence(rule: Rule, name: str, ctx: Context) -> Evidence:
    """What was looked for and not found, naming the pages that were checked."""
    check = rule.checks[name]
    return not_found(ctx.site, check.describe or name.replace("_", " "))


def evaluate(rules: list[Rule], ctx: Context) -> list[Finding]:
    """The findings of every rule that applies. A rule that fails is left out and named in `ctx.notes`."""
    findings = []
    for rule in rules:
        if rule.enabled and applies(rule, ctx.jurisdiction):
            try:
                finding = evaluate_rule(rule, ctx)
            except Exception as exc:  # one broken rule must not cost the whole check
                ctx.notes.append(Note(stage="rules", name=rule.id, message=f"{type(exc).__name__}: {exc}"[:300]))
                continue
            if finding is not None:
                findings.append(finding)
    return findings
