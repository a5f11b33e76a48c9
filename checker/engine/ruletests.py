"""Running the tests that each rule carries (`tests: {match: [...], no_match: [...]}`), as Semgrep's --test does."""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass
from pathlib import Path

from rxcheck.discover import RoleMatcher
from rxcheck.engine.loader import RulePack, load_pack, rule_files
from rxcheck.engine.schema import Rule, RuleTest
from rxcheck.fetch import Exchange, FetchResult
from rxcheck.pipeline import Checker
from rxcheck.snapshot import Page, Site
from rxcheck.urls import normalize_url

HTML = (("content-type", "text/html; charset=utf-8"),)


@dataclass(frozen=True)
class RuleTestOutcome:
    rule: str
    source: Path | None
    expected: str  # "match" or "no_match"
    index: int
    passed: bool
    note: str = ""

    def describe(self) -> str:
        where = f" ({self.source})" if self.source else ""
        note = f": {self.note}" if self.note else ""
        return f"{self.rule}{where} {self.expected}[{self.index}] did not behave as expected{note}"


def site_from_test(case: RuleTest, matcher: RoleMatcher) -> Site:
    """A site made of the test's pages, as if fetched: the first page is the home page."""
    pages = {case.url: {"html": case.html, "role": case.role}} if case.html is not None else case.pages
    site = Site(url=next(iter(pages)), start_url=normalize_url(next(iter(pages))))
    for index, (url, spec) in enumerate(pages.items()):
        html, role = (spec, None) if isinstance(spec, str) else (spec.get("html", ""), spec.get("role"))
        role = role or ("home" if index == 0 else matcher.role_of(url)[0])
        hops = [Exchange(url=url, status=200, headers=HTML, body=html.encode())]
        if index == 0 and case.final_url:
            hops = [Exchange(url=url, status=301, headers=(("location", case.final_url),)),
                    Exchange(url=case.final_url, status=200, headers=HTML, body=html.encode())]  # fmt: skip
        site.pages.append(Page.from_fetch(FetchResult(url=url, exchanges=tuple(hops)), role))
    return site


def warm_up_site(pack: RulePack, max_pages: int = 400) -> Site:
    """One site whose pages are the first pages of the pack's own rule test cases, in every language the rules are
    tested in: assessing it once exercises nearly every pattern, list and check of the pack."""
    cases = [case for rule in pack.rules for case in (*rule.tests.match, *rule.tests.no_match)]
    pages = [site_from_test(case, pack.roles).pages[0] for case in cases[:max_pages]]
    return Site(url="https://warm-up.invalid/", start_url="https://warm-up.invalid/", pages=pages)


def run_case(rule: Rule, case: RuleTest, checker: Checker) -> bool:
    """Whether the rule makes a finding on the case's site, on the path of a real check (`Checker.findings`, which
    `Checker.assess` runs before the verdict). A rule that fails on the case does not match."""
    site = site_from_test(case, checker.pack.roles)
    _, ctx, findings = checker.findings(site, case.jurisdiction, rules=[rule])
    return not ctx.notes and any(finding.rule == rule.id for finding in findings)


def run_rule_tests(local_dirs: Sequence[Path] = ()) -> list[RuleTestOutcome]:
    """Run the tests of every rule in the effective pack (bundled + `local_dirs`)."""
    checker = Checker(pack=load_pack(local_dirs))
    pack = checker.pack
    wanted = {path.stem for d in local_dirs for path in rule_files(Path(d))} if local_dirs else None
    outcomes = []
    for rule in pack.rules:
        if wanted is not None and rule.id not in wanted:
            continue
        for expected, cases in (("match", rule.tests.match), ("no_match", rule.tests.no_match)):
            for index, case in enumerate(cases):
                matched = run_case(rule, case, checker)
                outcomes.append(RuleTestOutcome(rule=rule.id, source=pack.sources.get(rule.id), expected=expected,
                                                index=index, passed=matched == (expected == "match"),
                                                note=case.note))  # fmt: skip
    return outcomes
