"""The whole check, stage by stage: fetch -> snapshot -> facts -> rules -> verdict."""

from __future__ import annotations

import asyncio
from collections.abc import Sequence
from concurrent.futures import ThreadPoolExecutor
from pathlib import Path

from rxcheck.crawl import Crawler, CrawlSettings
from rxcheck.engine.evaluate import evaluate
from rxcheck.engine.loader import RulePack, load_pack
from rxcheck.engine.matchers import Context
from rxcheck.engine.schema import Rule
from rxcheck.errors import RxcheckError
from rxcheck.facts import Facts
from rxcheck.facts.extract import extract_facts, guess_jurisdiction
from rxcheck.fetch import Fetcher
from rxcheck.lexicon import one_pass
from rxcheck.result import ErrorInfo, Finding, PageSummary, Result, asked_source
from rxcheck.sitetype import decide_site_type, untested_site_type
from rxcheck.snapshot import Site
from rxcheck.urls import normalize_url
from rxcheck.verdict import UNREACHABLE_SCORE, Policy, judge, operator_override
from rxcheck.workers import AssessPool, FetchedSite

JURISDICTIONS = ("auto", "GB", "EU", "US", "CA")


class Checker:
    """Checks sites against one rule pack. Create once, use for many sites (the pack is loaded once)."""

    def __init__(
        self,
        *,
        rules_dirs: Sequence[Path] = (),
        max_pages: int = 12,
        deadline: float = 60.0,
        obey_robots: bool = True,
        policy: Policy | None = None,
        pack: RulePack | None = None,
        workers: int = 0,
    ) -> None:
        """`workers` >= 1 assesses sites in that many processes; 0 assesses them in this process. Either way the
        results are the same. The workers start at once, forked from this process once the pack is loaded, so that
        they share it (create the Checker before starting threads or an event loop: otherwise each
        worker loads the pack itself, see `rxcheck.workers`). Call this in a module's `if __name__ == "__main__":`
        block, as multiprocessing requires, and call `close()` when done."""
        if workers >= 1 and pack is not None:
            raise ValueError("workers >= 1 may load the pack from rules_dirs in a worker; it cannot take `pack`")
        self.pack: RulePack = pack or load_pack(rules_dirs)
        self.settings = CrawlSettings(max_pages=max_pages, deadline=deadline, obey_robots=obey_robots)
        self.policy = policy or Policy()
        self.pool = AssessPool(workers, rules_dirs, self.policy, self.pack) if workers >= 1 else None
        if self.pool is not None:
            self.pool.start()
        # without workers, sites are assessed in this process one at a time, on one thread of their own: assessing
        # is CPU work under one GIL, and several at once on the default pool's threads only contend for it
        self._assessor = ThreadPoolExecutor(1, thread_name_prefix="rxcheck-assess") if self.pool is None else None

    def warm_up(self) -> None:
        """Assess, once, a site made of the pack's own rule test pages, so that what is built on first use (lazily
        compiled patterns, the regex engine's tables) is paid at start-up, not by the first site a person asks
        about. For long-running processes (`serve`, workers); a one-off check gains nothing."""
        from rxcheck.engine.ruletests import warm_up_site

        self.assess(warm_up_site(self.pack))

    def close(self) -> None:
        """Stop the worker processes, or the assessing thread."""
        if self.pool is not None:
            self.pool.close()
        if self._assessor is not None:
            self._assessor.shutdown(wait=True)

    async def check(self, url: str, fetcher: Fetcher, *, jurisdiction: str = "auto") -> Result:
        """Check one site. Never raises for a bad URL or a dead site: the result says `unreachable` and why."""
        try:
            start_url = normalize_url(url)
            if jurisdiction not in JURISDICTIONS:
                raise RxcheckError(f"unknown jurisdiction {jurisdiction!r}; use one of {', '.join(JURISDICTIONS)}")
        except RxcheckError as exc:
            return self.failed(url, exc, jurisdiction)
        override = operator_override(self.pack.overrides, start_url)
        if override is not None:
            return Result(
                url=url, verdict=override.entry.verdict, risk_score=override.score, jurisdiction=jurisdiction,
                jurisdiction_source=asked_source(jurisdiction), rules_version=self.pack.version,
                findings=[override.finding(start_url)], verdict_reason=override.reason,
                site_type=untested_site_type(
                    "information" if override.entry.verdict == "not_a_pharmacy" else "pharmacy",
                    "the operator of this checker fixed its verdict", start_url, override.entry.reason,
                ),
            )  # fmt: skip
        try:
            site = await Crawler(fetcher, self.pack.roles, self.settings).crawl(url, start_url)
        except RxcheckError as exc:
            return self.failed(url, exc, jurisdiction)
        if self.pool is not None:
            fetched = FetchedSite.of(site)
            del site  # its parsed trees are not kept while it waits for a worker (most of the in-flight sites do)
            return await self.pool.assess_fetched(fetched, jurisdiction)
        assert self._assessor is not None
        return await asyncio.get_running_loop().run_in_executor(self._assessor, self.assess, site, jurisdiction)

    def assess(self, site: Site, jurisdiction: str = "auto") -> Result:
        """Facts, rules and verdict for a site already fetched."""
        with one_pass():  # facts, rules and site type share each block's lexicon matches
            facts, ctx, findings = self.findings(site, jurisdiction)
            site_type = decide_site_type(site, facts, findings, self.pack)
        source = "inferred" if jurisdiction == "auto" else "given"
        judgement = judge(findings, site_type, self.policy)
        findings = sorted(judgement.findings, key=lambda f: (f.kind != "red_flag", -f.weight, f.rule))
        return Result(
            url=site.url,
            final_url=site.final_url,
            verdict=judgement.verdict,
            risk_score=judgement.score,
            jurisdiction=ctx.jurisdiction,
            jurisdiction_source=source,
            rules_version=self.pack.version,
            site_type=site_type,
            verdict_reason=judgement.reason,
            pages=[PageSummary(url=p.final_url, status=p.status, role=p.role) for p in site.pages],
            findings=findings,
            notes=facts.notes + ctx.notes,
        )

    def findings(
        self, site: Site, jurisdiction: str = "auto", rules: list[Rule] | None = None
    ) -> tuple[Facts, Context, list[Finding]]:
        """Facts and the findings of `rules` (default: the pack's active rules), before the verdict."""
        facts = extract_facts(site, self.pack)
        if jurisdiction == "auto":
            jurisdiction = guess_jurisdiction(site, facts, self.pack)
        ctx = Context(site=site, facts=facts, pack=self.pack, jurisdiction=jurisdiction)
        return facts, ctx, evaluate(self.pack.active() if rules is None else rules, ctx)

    def failed(self, url: str, exc: RxcheckError, jurisdiction: str = "auto") -> Result:
        return Result(
            url=url,
            verdict="unreachable",
            risk_score=UNREACHABLE_SCORE,
            jurisdiction=jurisdiction,
            jurisdiction_source=asked_source(jurisdiction),
            rules_version=self.pack.version,
            error=ErrorInfo(type=exc.type, message=str(exc), status=exc.status),
            verdict_reason=f"unreachable: {exc}",
            site_type=untested_site_type("unknown", "it could not be checked", url, str(exc)),
        )
