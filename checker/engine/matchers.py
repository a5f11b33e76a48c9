"""One function per check type: each looks at the site (pages, facts, URL) and returns the evidence it found."""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass, field
from functools import cached_property
from typing import TYPE_CHECKING, Any
from urllib.parse import urlsplit

from rxcheck.engine.schema import (
    Check,
    FactCheck,
    ImageCheck,
    LinkCheck,
    RoleCheck,
    SelectorCheck,
    TextCheck,
    TextMatch,
    UrlCheck,
)  # fmt: skip
from rxcheck.engine.text import PageText, TextProgram, compile_regex, text_program
from rxcheck.facts import Facts
from rxcheck.language import Language, snippet
from rxcheck.parse import css_path
from rxcheck.result import Evidence, Note
from rxcheck.snapshot import Page, Site
from rxcheck.urls import registrable_domain

if TYPE_CHECKING:
    from rxcheck.engine.loader import RulePack

MAX_EVIDENCE = 5


@dataclass
class Context:
    """Everything rules look at for one site, with per-site caches shared by all rules."""

    site: Site
    facts: Facts
    pack: RulePack
    jurisdiction: str
    notes: list[Note] = field(default_factory=list)  # rules that failed on this site
    _texts: dict[int, PageText] = field(default_factory=dict)

    def pages(self, roles: list[str] | None = None, exclude: list[str] | None = None) -> list[Page]:
        return [
            page for page in self.site.html_pages()
            if (not roles or page.role in roles) and not (exclude and page.role in exclude)
        ]  # fmt: skip

    @property
    def language(self) -> Language:
        return self.pack.language

    def text_of(self, page: Page) -> PageText:
        key = id(page)
        if key not in self._texts:
            self._texts[key] = PageText(page)
        return self._texts[key]

    @cached_property
    def site_domains(self) -> set[str]:
        urls = [self.site.start_url] + ([self.site.final_url] if self.site.final_url else [])
        return {registrable_domain(u) for u in urls}

    def is_same_site(self, url: str) -> bool:
        return registrable_domain(url) in self.site_domains


def program(match: TextMatch, ctx: Context) -> TextProgram:
    return text_program(match.phrases, match.regex, [ctx.pack.lexicon.matcher(name) for name in match.terms])


def _search(match: TextMatch | None, ctx: Context, *texts: str) -> bool:
    if match is None:
        return True
    prog = program(match, ctx)
    return any(prog.search(t) for t in texts if t)


def check_text(check: TextCheck, ctx: Context) -> list[Evidence]:
    prog = program(check, ctx)
    near = program(check.near, ctx) if check.near else None
    not_near = program(check.not_near, ctx) if check.not_near else None
    found: list[Evidence] = []
    pages_matched = 0
    for page in ctx.pages(check.roles, check.exclude_roles):
        page_hits = 0
        for hit in ctx.text_of(page).find(prog, ctx.language):
            if check.include == "asserted" and hit.status != "asserted":
                continue
            block_text = hit.sentence.block.text
            if near and not near.search(block_text):
                continue
            if not_near and not_near.search(block_text):
                continue
            page_hits += 1
            if len(found) < MAX_EVIDENCE:
                text = hit.sentence.text
                found.append(Evidence(url=page.final_url, snippet=snippet(text, hit.start, hit.end),
                                      locator=hit.sentence.block.locator))  # fmt: skip
            break  # one piece of evidence per page is enough
        pages_matched += bool(page_hits)
    return found if pages_matched >= check.min_pages else []


def check_selector(check: SelectorCheck, ctx: Context) -> list[Evidence]:
    found = []
    for page in ctx.pages(check.roles):
        try:
            elements = page.doc.select(check.css) if page.doc else []
        except Exception as exc:  # soupsieve raises its own error types for bad selectors
            raise ValueError(f"invalid CSS selector {check.css!r}: {exc}") from None
        for element in elements:
            text = " ".join(element.get_text(" ").split())
            if _search(check.text, ctx, text):
                found.append(Evidence(url=page.final_url, snippet=snippet(text or str(element)[:200]),
                                      locator=css_path(element)))  # fmt: skip
                break
        if len(found) >= MAX_EVIDENCE:
            break
    return found


def _regexes(patterns: list[str]):
    return [compile_regex(p) for p in patterns]


def _target_ok(target: str, href: str | None, ctx: Context) -> bool:
    if target == "any":
        return True
    if target == "none":
        return href is None
    if href is None or not href.startswith(("http://", "https://")):
        return False
    same = ctx.is_same_site(href)
    return same if target == "same_site" else not same


def check_link(check: LinkCheck, ctx: Context) -> list[Evidence]:
    hrefs = _regexes(check.href)
    found = []
    for page in ctx.pages(check.roles):
        for link in page.links:
            if not _target_ok(check.target, link.href, ctx):
                continue
            if hrefs and not any(r.search(link.href) for r in hrefs):
                continue
            if not _search(check.text, ctx, link.text, link.title):
                continue
            found.append(Evidence(url=page.final_url, snippet=f"{link.text or link.title} → {link.href}"[:300],
                                  locator=link.locator))  # fmt: skip
            break
        if len(found) >= MAX_EVIDENCE:
            break
    return found


def check_image(check: ImageCheck, ctx: Context) -> list[Evidence]:
    hrefs = _regexes(check.link_href)
    found = []
    for page in ctx.pages(check.roles):
        for image in page.images:
            name = urlsplit(image.src).path.rsplit("/", 1)[-1].replace("-", " ").replace("_", " ")
            if not _search(check.text, ctx, image.alt, image.title, name):
                continue
            if not _target_ok(check.link, image.link_href, ctx):
                continue
            if hrefs and not (image.link_href and any(r.search(image.link_href) for r in hrefs)):
                continue
            link = f" linking to {image.link_href}" if image.link_href else " (not a link)"
            found.append(Evidence(url=page.final_url, snippet=f"image “{image.alt or name}”{link}"[:300],
                                  locator=image.locator))  # fmt: skip
            break
        if len(found) >= MAX_EVIDENCE:
            break
    return found


def check_role(check: RoleCheck, ctx: Context) -> list[Evidence]:
    return [
        Evidence(url=page.final_url, snippet=f"{page.role} page: {page.title}"[:300], locator="title")
        for page in ctx.pages(check.roles)
    ][:MAX_EVIDENCE]


def _compare(actual: Any, test: Any) -> bool:
    if not isinstance(test, dict):
        return actual == test
    for op, expected in test.items():
        if op == "exists":
            ok = (actual is not None and actual != [] and actual != "") == bool(expected)
        elif actual is None:
            ok = op in ("ne", "not_in")
        elif op == "eq":
            ok = actual == expected
        elif op == "ne":
            ok = actual != expected
        elif op in ("lt", "lte", "gt", "gte"):
            try:
                ok = {"lt": actual < expected, "lte": actual <= expected,
                      "gt": actual > expected, "gte": actual >= expected}[op]  # fmt: skip
            except TypeError:
                ok = False
        elif op == "in":
            ok = actual in expected if not isinstance(actual, list) else bool(set(actual) & set(expected))
        elif op == "not_in":
            ok = actual not in expected if not isinstance(actual, list) else not (set(actual) & set(expected))
        elif op == "matches":
            ok = bool(compile_regex(str(expected)).search(str(actual)))
        elif op == "contains":
            ok = expected in actual if isinstance(actual, list | str) else False
        else:
            ok = False
        if not ok:
            return False
    return True


def check_fact(check: FactCheck, ctx: Context) -> list[Evidence]:
    matching = [
        fact
        for fact in ctx.facts.of(check.kind)
        if (check.include == "any" or fact.get("status") in (None, "asserted"))
        and all(_compare(fact.get(name), test) for name, test in check.where.items())
    ]
    if len(matching) < check.min_count:
        return []
    found = []
    for fact in matching:
        evidence = fact.evidence or Evidence(url=ctx.site.final_url or ctx.site.start_url, snippet=str(fact.value))
        if evidence not in found:
            found.append(evidence)
        if len(found) >= MAX_EVIDENCE:
            break
    return found


def check_url(check: UrlCheck, ctx: Context) -> list[Evidence]:
    urls = {"start": [ctx.site.start_url], "final": [ctx.site.final_url or ctx.site.start_url]}.get(
        check.which, [ctx.site.start_url, ctx.site.final_url or ctx.site.start_url]
    )
    hosts = _regexes(check.host)
    for url in dict.fromkeys(urls):
        parts = urlsplit(url)
        host = parts.hostname or ""
        if check.scheme and parts.scheme != check.scheme:
            continue
        if hosts and not any(r.search(host) for r in hosts):
            continue
        if check.tld and not any(_has_suffix(host, t) for t in check.tld):
            continue
        return [Evidence(url=url, snippet=f"site address: {url}", locator="url")]
    return []


def _has_suffix(host: str, tld: str) -> bool:
    suffix = tld.lower().lstrip(".")
    return host == suffix or host.endswith("." + suffix)


MATCHERS: dict[str, Callable[[Any, Context], list[Evidence]]] = {
    "text": check_text,
    "selector": check_selector,
    "link": check_link,
    "image": check_image,
    "role": check_role,
    "fact": check_fact,
    "url": check_url,
}


def run_check(check: Check, ctx: Context) -> list[Evidence]:
    kind = check.type
    return MATCHERS[kind](getattr(check, kind), ctx)
