"""Every regular expression of a rule pack runs on RE2 (linear time): none reaches Python's backtracking `re`.

Instrumented: a pack with a distinctive pattern in every place a rule may hold one is loaded, validated and
run over a site on which every check is evaluated, while every compilation through `re` is recorded.
"""

import re
from pathlib import Path

import pytest
import re2

from rxcheck.engine.evaluate import evaluate
from rxcheck.engine.loader import load_pack, validate_pack
from rxcheck.engine.matchers import Context
from rxcheck.engine.vocabulary import fact_kinds
from rxcheck.facts.extract import extract_facts
from rxcheck.fetch import Exchange, FetchResult
from rxcheck.pipeline import Checker
from rxcheck.snapshot import Page, Site

HEAD = """\
id: {id}
name: Probe rule {id}
category: content
kind: red_flag
severity: low
weight: 1
description: Probes which engine compiles its patterns.
message: Probe.
references: [tests]
condition: probe
checks:
  probe:
    {check}
"""
PROBES = {
    "probe-text": ("text:\n      regex: ['zq1(a|b)+qz', 'miracle']\n      include: any\n"
                   "      near: {regex: ['zq2(a|b)+qz', 'cure']}\n      not_near: {regex: ['zq3(a|b)+qz']}"),
    "probe-link": "link:\n      href: ['zq4(a|b)+qz', 'example']\n      text: {regex: ['zq5(a|b)+qz', 'contact']}",
    "probe-image": "image:\n      link_href: ['zq6(a|b)+qz', 'example']\n      text: {regex: ['zq7(a|b)+qz', 'seal']}",
    "probe-url": "url:\n      host: ['zq8(a|b)+qz', 'example']",
    "probe-fact": "fact:\n      kind: domain\n      where: {host: {matches: 'zq9(a|b)+qz|example'}}",
    "probe-selector": "selector:\n      css: 'p'\n      text: {regex: ['zq0(a|b)+qz', 'miracle']}",
}  # fmt: skip
MARK = re2.compile(r"zq\d\(a\|b\)\+qz")
HTML = b"""<html><body><p>A miracle cure, no zq1aqz here.</p>
<a href="https://www.shop.example.com/contact">contact</a>
<a href="https://www.shop.example.com/"><img src="/seal.png" alt="seal"></a></body></html>"""


def probe_pack(root: Path) -> Path:
    for rule_id, check in PROBES.items():
        path = root / "content" / f"{rule_id}.yaml"
        path.parent.mkdir(parents=True, exist_ok=True)
        path.write_text(HEAD.format(id=rule_id, check=check))
    return root


@pytest.fixture
def python_re_patterns(monkeypatch) -> list[str]:
    seen: list[str] = []
    original = re._compile

    def recording(pattern, flags):
        seen.append(pattern if isinstance(pattern, str) else repr(pattern))
        return original(pattern, flags)

    monkeypatch.setattr(re, "_compile", recording)
    return seen


def test_no_pattern_of_a_pack_is_compiled_by_python_re(tmp_path, python_re_patterns):
    pack_dir = probe_pack(tmp_path)
    assert validate_pack(pack_dir).problems == []
    checker = Checker(rules_dirs=[pack_dir])
    exchange = Exchange(url="https://www.shop.example.com/", status=200, headers=(("content-type", "text/html"),),
                        body=HTML)  # fmt: skip
    page = Page.from_fetch(FetchResult(url=exchange.url, exchanges=(exchange,)), "home")
    site = Site(url=exchange.url, start_url=exchange.url, pages=[page])
    checker.assess(site)  # the whole pipeline, facts included
    ctx = Context(site=site, facts=extract_facts(site, checker.pack), pack=checker.pack,
                  jurisdiction="unknown")  # fmt: skip
    fired = {finding.rule for finding in evaluate(checker.pack.active(), ctx)}
    assert set(PROBES) <= fired, f"every probe must be evaluated and match: missing {set(PROBES) - fired}"
    leaked = [pattern for pattern in python_re_patterns if MARK.search(pattern)]
    assert leaked == [], leaked


def test_the_recorder_would_see_a_pattern_compiled_by_python_re(python_re_patterns):
    re.compile("zq4(a|b)+qz" + "")
    assert any(MARK.search(pattern) for pattern in python_re_patterns)


def test_every_fact_kind_the_extractors_produce_is_documented():
    pages = []
    for html in sorted(Path(__file__).resolve().parents[2].glob("fixtures/sites/*/pages/index.html"))[:40]:
        exchange = Exchange(url="https://www.shop.example.com/", status=200,
                            headers=(("content-type", "text/html"),), body=html.read_bytes())  # fmt: skip
        pages.append(Page.from_fetch(FetchResult(url=exchange.url, exchanges=(exchange,)), "home"))
    pack = load_pack()
    produced = set()
    for page in pages:
        site = Site(url=page.url, start_url=page.url, pages=[page])
        produced |= set(extract_facts(site, pack).kinds())
    assert len(produced) > 10
    assert produced <= fact_kinds(), produced - fact_kinds()
