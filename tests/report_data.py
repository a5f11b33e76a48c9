"""Results for the report tests: ordinary ones, hostile ones, and a generator for big results files."""

from __future__ import annotations

import itertools
import json
from collections.abc import Iterator
from pathlib import Path

HOSTILE = '<script>alert(1)</script>"\' onmouseover="alert(2)" </script><img src=x onerror=alert(3)>\u2028\u2029end'
JS_URL = "javascript:alert(document.domain)"


def result(url: str = "https://pharmacy.example/", verdict: str = "legitimate", score: int = 5, **extra) -> dict:
    base = {
        "url": url,
        "final_url": url,
        "verdict": verdict,
        "risk_score": score,
        "jurisdiction": "GB",
        "rules_version": "2026.11-test",
        "checked_at": "2026-11-25T20:14:03+00:00",
        "error": None,
        "pages": [{"url": url, "status": 200, "role": "home"}],
        "findings": [],
    }
    return base | extra


def finding(rule: str = "rx-no-prescription-needed", *, kind: str = "red_flag", category: str = "prescription",
            severity: str = "critical", snippet: str = "Buy without prescription", url: str = "https://rogue.example/",
            name: str = "Prescription medicines offered without a prescription",
            message: str = "Sold without a prescription.", evidence: int = 1) -> dict:  # fmt: skip
    return {
        "rule": rule, "name": name, "category": category, "kind": kind, "severity": severity, "weight": 50,
        "message": message,
        "evidence": [{"url": url, "snippet": snippet, "locator": "body > p"} for _ in range(evidence)],
    }  # fmt: skip


def hostile_result() -> dict:
    """Every crawled string a report shows, written to break out of HTML, attributes, scripts and JSON."""
    return result(
        url="https://rogue.example/?q=" + HOSTILE,
        verdict="rogue",
        score=97,
        jurisdiction="GB" + HOSTILE,
        rules_version="v" + HOSTILE,
        verdict_reason="Reason " + HOSTILE,
        final_url=JS_URL,
        pages=[{"url": JS_URL, "status": 200, "role": "home" + HOSTILE}],
        site_type={
            "type": "pharmacy",  # a Literal: hostile text cannot reach it
            "evidence": [
                {
                    "signal": "cart" + HOSTILE,
                    "side": "seller",
                    "weight": 2,
                    "describe": "cart" + HOSTILE,
                    "snippet": HOSTILE,
                    "url": JS_URL,
                }
            ],
        },
        findings=[
            finding(
                rule="r" + HOSTILE,
                name="Name " + HOSTILE,
                category="cat" + HOSTILE,
                message="Msg " + HOSTILE,
                snippet=HOSTILE,
                url=JS_URL,
            ),  # fmt: skip
            finding(rule="r2", snippet="text", url=" JavaScript:alert(4)"),
            finding(rule="r3", snippet="text", url="java\tscript:alert(5)"),
            finding(rule="r4", snippet="text", url='https://ok.example/"><script>alert(6)</script>'),
            finding(rule="r5", snippet="text", url="data:text/html,<script>alert(7)</script>"),
        ],
    )


def fixture_results(path: Path) -> list[dict]:
    return [json.loads(line) for line in path.read_text(encoding="utf-8").splitlines() if line.strip()]


def generate(templates: list[dict], count: int) -> Iterator[str]:
    """`count` result lines cycled from `templates`, each with its own host (as a 10,000-site audit would have)."""
    for n, template in zip(range(count), itertools.cycle(templates), strict=False):
        host = f"site{n:05d}.example"
        line = json.dumps(template)
        for old in {template["url"].split("/")[2]} | {p["url"].split("/")[2] for p in template.get("pages", [])}:
            line = line.replace(f"//{old}", f"//{host}")
        yield line + "\n"


def fixture_audit(folder: Path, warc: Path, labels: list[dict[str, str]]) -> tuple[Path, list[str]]:
    """`rxcheck audit --format html` over one fixture site of each label, plus one the archive does not hold."""
    from typer.testing import CliRunner

    from rxcheck.cli import app

    kinds = sorted({row["label"] for row in labels})
    urls = [next(row["url"] for row in labels if row["label"] == kind) for kind in kinds]
    urls.append("https://not-in-the-archive.example/")
    listing = folder / "urls.txt"
    listing.write_text("\n".join(urls) + "\n")
    out = folder / "audit.html"
    ran = CliRunner().invoke(app, ["audit", str(listing), "--replay", str(warc), "--format", "html", "--out", str(out)])
    assert ran.exit_code == 0, ran.output
    return out, urls
