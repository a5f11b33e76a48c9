"""The HTML report at scale: build a big results file from the fixture audit, render it, open it in Chromium.

Audits the fixture corpus (WARC replay, no network), repeats its results with distinct hosts up to SIZE lines, then
reports the time and peak memory of `rxcheck report`, the report's size, and how long headless Chromium takes to
show it. With --screenshot, also writes docs/screenshots/report.png from the fixture audit's report.

    python bench/report_scale.py                  # 10,000 sites
    python bench/report_scale.py 1000 --screenshot
"""

from __future__ import annotations

import argparse
import resource
import subprocess
import sys
import tempfile
import time
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(ROOT / "tests"))

from report_data import fixture_results, generate  # noqa: E402

CHROMIUM = "/usr/bin/chromium"
ARGS = ["--no-sandbox", "--disable-gpu", "--disable-background-networking", "--disable-component-update",
        "--disable-sync", "--no-first-run"]  # fmt: skip
SCREENSHOT = ROOT / "docs" / "screenshots" / "report.png"


def rxcheck(*args: str) -> float:
    start = time.perf_counter()
    subprocess.run([sys.executable, "-m", "rxcheck", *args], check=True, cwd=ROOT)
    return time.perf_counter() - start


def open_in_chromium(report: Path, screenshot: Path | None = None) -> tuple[float, float]:
    """Seconds until the summary is painted (DOMContentLoaded is later) and until the load event."""
    from playwright.sync_api import sync_playwright

    with sync_playwright() as playwright:
        browser = playwright.chromium.launch(executable_path=CHROMIUM, args=ARGS)
        page = browser.new_page(viewport={"width": 1280, "height": 1500}, device_scale_factor=1)
        page.route("**/*", lambda route: route.continue_() if route.request.url.startswith("file:") else route.abort())
        start = time.perf_counter()
        page.goto(report.as_uri(), wait_until="commit")
        page.locator("#summary figure svg").first.wait_for()
        painted = time.perf_counter() - start
        page.wait_for_load_state("load", timeout=300_000)
        loaded = time.perf_counter() - start
        if screenshot:
            screenshot.parent.mkdir(parents=True, exist_ok=True)
            page.screenshot(path=screenshot)
        browser.close()
    return painted, loaded


def main() -> None:
    parser = argparse.ArgumentParser()
    parser.add_argument("size", nargs="?", type=int, default=10_000)
    parser.add_argument("--screenshot", action="store_true", help=f"write {SCREENSHOT.relative_to(ROOT)}")
    options = parser.parse_args()
    with tempfile.TemporaryDirectory() as tmp:
        folder = Path(tmp)
        audit = folder / "fixtures.html"
        seconds = rxcheck("audit", "fixtures/urls.txt", "--replay", "fixtures/sites.warc.gz", "--format", "html",
                          "--out", str(audit))  # fmt: skip
        print(f"fixture audit: {seconds:.1f} s, report {audit.stat().st_size / 1e6:.2f} MB")
        if options.screenshot:
            open_in_chromium(audit, SCREENSHOT)
            print(f"wrote {SCREENSHOT.relative_to(ROOT)}")
        big = folder / "big.jsonl"
        with big.open("w", encoding="utf-8") as handle:
            handle.writelines(generate(fixture_results(audit.with_suffix(".jsonl")), options.size))
        before = resource.getrusage(resource.RUSAGE_CHILDREN).ru_maxrss
        seconds = rxcheck("report", str(big), "--out", str(folder / "big.html"))
        peak = max(before, resource.getrusage(resource.RUSAGE_CHILDREN).ru_maxrss) / 1024
        size = (folder / "big.html").stat().st_size / 1e6
        print(f"{options.size} sites: results {big.stat().st_size / 1e6:.0f} MB, report {size:.0f} MB, "
              f"rendered in {seconds:.1f} s, peak {peak:.0f} MiB")  # fmt: skip
        painted, loaded = open_in_chromium(folder / "big.html")
        print(f"chromium: summary painted after {painted:.1f} s, whole report loaded after {loaded:.1f} s")


if __name__ == "__main__":
    main()
