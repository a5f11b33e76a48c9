"""The HTML audit report: what it shows, that hostile text stays text, and the `report` / `audit --format html` CLI."""

from __future__ import annotations

import base64
import hashlib
import json
import shutil
import subprocess
import sys
from pathlib import Path

import lxml.html
import pytest
from report_data import HOSTILE, JS_URL, finding, fixture_audit, generate, hostile_result, result
from typer.testing import CliRunner

from rxcheck.cli import app
from rxcheck.report_html import is_web_url, render, summarise, write_report

runner = CliRunner()
OUR_SCRIPTS = 2  # the summary as JSON, and the optional filtering script


def write_results(path: Path, results: list[dict], extra_lines: list[str] = ()) -> Path:
    # raw UTF-8, as `audit` writes it: U+2028 and U+2029 appear literally inside lines
    lines = "".join(json.dumps(r, ensure_ascii=False) + "\n" for r in results)
    path.write_text(lines + "".join(extra_lines), encoding="utf-8")
    return path


def report_of(tmp_path: Path, results: list[dict], extra_lines: list[str] = ()) -> lxml.html.HtmlElement:
    out = tmp_path / "report.html"
    write_report(write_results(tmp_path / "results.jsonl", results, extra_lines), out)
    return lxml.html.fromstring(out.read_bytes())


def sections(doc: lxml.html.HtmlElement) -> list[lxml.html.HtmlElement]:
    return doc.xpath("//details[contains(@class, 'site')]")


@pytest.fixture(scope="module")
def audited(tmp_path_factory: pytest.TempPathFactory, fixture_warc: Path, labels) -> tuple[Path, list[str]]:
    return fixture_audit(tmp_path_factory.mktemp("audit"), fixture_warc, labels)


def test_audit_format_html_streams_results_beside_the_report_and_renders_every_site(audited) -> None:
    out, urls = audited
    results = [json.loads(line) for line in out.with_suffix(".jsonl").read_text().splitlines()]
    doc = lxml.html.fromstring(out.read_bytes())

    assert sorted(r["url"] for r in results) == sorted(urls)
    assert len(sections(doc)) == len(urls)
    assert len(doc.xpath("//table[@id='sites-table']/tbody/tr")) == len(urls)
    table_links = doc.xpath("//table[@id='sites-table']//a/@href")
    assert sorted(table_links) == sorted(f"#site-{n}" for n in range(1, len(urls) + 1))
    assert all(doc.get_element_by_id(link[1:]) is not None for link in table_links)
    assert len(doc.xpath("//figure//*[local-name()='svg']")) >= 3
    unreachable = next(s for s in sections(doc) if s.get("data-verdict") == "unreachable")
    assert "not_in_archive" in unreachable.text_content()


def test_a_resumed_html_audit_appends_to_its_results_and_reports_them_all(tmp_path: Path, fixture_warc, labels) -> None:
    urls = [row["url"] for row in labels[:3]]
    (tmp_path / "urls.txt").write_text("\n".join(urls[:2]) + "\n")
    args = ["audit", str(tmp_path / "urls.txt"), "--replay", str(fixture_warc), "--format", "html", "--resume",
            "--out", str(tmp_path / "r.html")]  # fmt: skip
    assert runner.invoke(app, args).exit_code == 0
    (tmp_path / "urls.txt").write_text("\n".join(urls) + "\n")
    assert runner.invoke(app, args).exit_code == 0

    lines = (tmp_path / "r.jsonl").read_text().splitlines()
    assert sorted(json.loads(line)["url"] for line in lines) == sorted(urls)  # each once: the first two not redone
    assert len(sections(lxml.html.fromstring((tmp_path / "r.html").read_bytes()))) == 3


def test_the_summary_counts_verdicts_flags_jurisdictions_and_times(tmp_path: Path) -> None:
    flags = [finding(), finding("pay-crypto-only", category="payment", name="Crypto only")]
    rogue = result("https://rogue.example/", "rogue", 95, jurisdiction="US", checked_at="2026-11-26T08:00:00+00:00",
                   findings=flags)  # fmt: skip
    rogue2 = result("https://rogue2.example/", "rogue", 88, findings=[finding(), finding()])
    dead = result("https://dead.example/", "unreachable", 50, error={"type": "timeout", "message": "no answer in 20 s"})
    doc = report_of(tmp_path, [result(), rogue, rogue2, dead])

    cards = {li.xpath("string(.//*[@class='card-label'])"): li.xpath("string(.//*[@class='card-n'])")
             for li in doc.xpath("//li[contains(@class, 'card')]")}  # fmt: skip
    assert cards == {"ROGUE": "2", "SUSPICIOUS": "0", "UNREACHABLE": "1", "LEGITIMATE": "1", "NOT A PHARMACY": "0"}
    top = [row.text_content() for row in doc.xpath("//section[@aria-labelledby='top-flags']//tbody/tr")]
    assert "rx-no-prescription-needed" in top[0] and top[0].strip().endswith("2")  # counted once per site
    assert "pay-crypto-only" in top[1] and top[1].strip().endswith("1")
    data = json.loads(doc.get_element_by_id("rxcheck-summary").text)
    assert data["jurisdictions"] == {"GB": 3, "US": 1}
    assert data["errors"] == {"timeout": 1}
    assert data["red_flag_categories"] == {"prescription": 2, "payment": 1}
    assert (data["first_checked"], data["last_checked"]) == ("2026-11-25T20:14:03+00:00", "2026-11-26T08:00:00+00:00")
    verdicts = [row.get("data-verdict") for row in doc.xpath("//table[@id='sites-table']/tbody/tr")]
    assert verdicts == ["rogue", "rogue", "unreachable", "legitimate"]  # worst first, higher score first
    assert "no answer in 20 s" in doc.xpath("string(//details[@data-verdict='unreachable'])")


def test_site_type_and_verdict_reason_are_shown_when_present_and_optional_when_absent(tmp_path: Path) -> None:
    newer = result(
        verdict_reason="It sells medicines with a checkout and shows a GPhC number.",
        site_type={"type": "pharmacy", "evidence": [
            {"signal": "order_path", "side": "seller", "weight": 2, "describe": "it has an order path of its own",
             "snippet": "Add to basket", "url": "https://pharmacy.example/a"}
        ]},
    )  # fmt: skip
    doc = report_of(tmp_path, [newer, result("https://older.example/")])
    newer_section, older_section = (s.text_content() for s in sections(doc))

    assert "It sells medicines with a checkout and shows a GPhC number." in newer_section
    assert "Add to basket" in newer_section and "it has an order path of its own" in newer_section
    assert "seller" in newer_section
    assert "not recorded" in older_section
    assert "Its identity can be checked" in older_section  # the verdict's general explanation instead


def test_each_finding_shows_message_severity_page_link_and_snippet(tmp_path: Path) -> None:
    flagged = result(
        "https://rogue.example/", "rogue", 90, findings=[finding(evidence=5, url="https://rogue.example/rx")]
    )
    doc = report_of(tmp_path, [flagged])
    item = doc.xpath("//ol[@class='findings']/li")[0]

    assert item.xpath("string(.//*[contains(@class, 'sev')])") == "critical"
    assert "Sold without a prescription." in item.text_content()
    assert item.xpath(".//q/text()")[0] == "Buy without prescription"
    assert item.xpath(".//a/@href")[0] == "https://rogue.example/rx"
    assert "and 2 more places in the results file" in item.text_content()


def test_hostile_text_never_becomes_markup(tmp_path: Path) -> None:
    out = tmp_path / "report.html"
    write_report(write_results(tmp_path / "results.jsonl", [hostile_result(), result()]), out)
    html = out.read_text(encoding="utf-8")
    doc = lxml.html.fromstring(html.encode("utf-8"))

    scripts = doc.xpath("//script")
    assert len(scripts) == OUR_SCRIPTS
    assert scripts[0].get("type") == "application/json"
    assert doc.xpath("//img | //iframe | //object | //embed | //form | //base") == []
    for element in doc.iter():
        if isinstance(element.tag, str):
            assert not [a for a in element.attrib if a.lower().startswith("on")], element.tag
    hrefs = doc.xpath("//a/@href")
    assert hrefs and all(h.startswith(("https://", "http://", "#")) for h in hrefs)
    assert not any("javascript" in h.lower() or "<" in h or '"' in h for h in hrefs)
    text = doc.text_content()
    assert HOSTILE in text  # shown as the text it is, line separators included
    assert JS_URL in text and "data:text/html,<script>alert(7)</script>" in text
    summary = json.loads(doc.get_element_by_id("rxcheck-summary").text)
    assert summary["jurisdictions"]["GB" + HOSTILE] == 1
    json_block = html.split('id="rxcheck-summary">', 1)[1].split("</script>", 1)[0]
    assert "<" not in json_block and ">" not in json_block


def test_the_policy_allows_exactly_the_inline_style_and_script_and_nothing_external(tmp_path: Path) -> None:
    doc = report_of(tmp_path, [result()])
    policy = doc.xpath("//meta[@http-equiv='Content-Security-Policy']/@content")[0]
    directives = dict(part.strip().split(" ", 1) for part in policy.split(";"))

    def digest(text: str) -> str:
        return "'sha256-" + base64.b64encode(hashlib.sha256(text.encode()).digest()).decode() + "'"

    assert directives["default-src"] == "'none'"
    assert directives["style-src"] == digest(doc.xpath("//style")[0].text)
    assert directives["script-src"] == digest(doc.xpath("//script[not(@type)]")[0].text)
    assert doc.xpath("//link | //*[@src] | //*[@style]") == []
    assert not [h for h in doc.xpath("//a/@href") if not h.startswith(("#", "https://pharmacy.example"))]


def test_lines_that_are_not_results_are_counted_and_named(tmp_path: Path) -> None:
    results = write_results(
        tmp_path / "r.jsonl", [result()], ["not json\n", '{"url": 3}\n', '{"url": "https://cut.exa']
    )
    ran = runner.invoke(app, ["report", str(results), "--out", str(tmp_path / "r.html")])

    assert ran.exit_code == 0
    assert "3 line(s) of" in ran.output and "(line 2, 3, 4)" in ran.output
    doc = lxml.html.fromstring((tmp_path / "r.html").read_bytes())
    assert len(sections(doc)) == 1
    assert "3 lines of r.jsonl were not a result" in doc.xpath("string(//*[@role='alert'])")


@pytest.mark.parametrize(
    ("args", "message"),
    [
        (["report", "missing.jsonl"], "no such results file: missing.jsonl"),
        (["audit", "urls.txt", "--format", "html"], "--format html needs --out (the report is a file)"),
        (["audit", "urls.txt", "--format", "html", "--out", "no/r.html"], "no such folder for --out: no"),
    ],
)
def test_cli_mistakes_are_one_line_errors(args: list[str], message: str, tmp_path: Path, monkeypatch) -> None:
    monkeypatch.chdir(tmp_path)
    (tmp_path / "urls.txt").write_text("https://a.example/\n")
    ran = runner.invoke(app, args)

    assert ran.exit_code == 2
    assert ran.output.strip() == f"rxcheck: error: {message}"


def test_report_defaults_beside_its_results_and_never_overwrites_them(tmp_path: Path) -> None:
    results = write_results(tmp_path / "audit.jsonl", [result()])
    assert runner.invoke(app, ["report", str(results)]).exit_code == 0
    assert (tmp_path / "audit.html").stat().st_size > 0

    ran = runner.invoke(app, ["report", str(results), "--out", str(results)])
    assert ran.exit_code == 2 and "would overwrite its results file" in ran.output
    assert json.loads(results.read_text())["url"] == "https://pharmacy.example/"


def test_sites_added_between_the_two_passes_are_not_shown_half_counted() -> None:
    first = [json.dumps(result(f"https://s{n}.example/")) for n in range(3)]
    summary = summarise(first)
    grown = first + [json.dumps(result("https://late.example/"))]
    from rxcheck.report_html import SiteReader

    html = "".join(render(summary, SiteReader().sites(grown), source="x"))

    assert summary.total == 3
    assert "late.example" not in html and html.count('<details class="site') == 3


def test_a_10000_site_results_file_gives_a_complete_report(tmp_path: Path) -> None:
    templates = [
        result("https://rogue.example/", "rogue", 96, findings=[finding(evidence=4), finding("p", category="payment")]),
        result("https://ok.example/", "legitimate", 3),
        result("https://dead.example/", "unreachable", 50, error={"type": "timeout", "message": "slow"}, pages=[]),
    ]
    results = tmp_path / "big.jsonl"
    with results.open("w") as handle:
        handle.writelines(generate(templates, 10_000))
    ran = runner.invoke(app, ["report", str(results), "--out", str(tmp_path / "big.html")])

    assert ran.exit_code == 0, ran.output
    html = (tmp_path / "big.html").read_text(encoding="utf-8")
    assert html.count('<details class="site') == 10_000
    assert html.count("<tr data-verdict=") == 10_000
    assert 'id="site-10000"' in html and "site09999.example" in html


def _can_unshare_net() -> bool:
    return shutil.which("unshare") is not None and subprocess.run(["unshare", "--net", "true"]).returncode == 0


@pytest.mark.skipif(not _can_unshare_net(), reason="`unshare --net` needs root (CI and this machine have it)")
def test_the_report_and_its_charts_render_with_no_network_at_all(tmp_path: Path) -> None:
    results = write_results(
        tmp_path / "r.jsonl", [result(), result("https://r.example/", "rogue", 90, findings=[finding()])]
    )
    out = tmp_path / "r.html"
    command = [sys.executable, "-m", "rxcheck", "report", str(results), "--out", str(out)]
    ran = subprocess.run(["unshare", "--net", *command], capture_output=True, text=True, timeout=300)

    assert ran.returncode == 0, ran.stderr
    assert len(lxml.html.fromstring(out.read_bytes()).xpath("//figure//*[local-name()='svg']")) >= 3


@pytest.mark.parametrize(
    ("url", "linked"),
    [
        ("https://pharmacy.example/a?b=c#d", True),
        ("HTTP://PHARMACY.EXAMPLE/", True),
        ("javascript:alert(1)", False),
        (" javascript:alert(1)", False),
        ("java\nscript:alert(1)", False),
        ("https://ok.example/\nx", False),
        ('https://ok.example/"onclick="x', False),
        ("data:text/html,hi", False),
        ("//pharmacy.example/", False),
        ("/relative", False),
        ("https://", False),
        ("https://[::1", False),
    ],
)
def test_only_http_urls_are_links(url: str, linked: bool) -> None:
    assert is_web_url(url) is linked
