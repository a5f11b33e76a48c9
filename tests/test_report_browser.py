"""The HTML report in a real browser (Debian's Chromium, headless, driven by Playwright; never downloaded).

Set RXCHECK_UPDATE_SCREENSHOT=1 to also write docs/screenshots/report.png (bench/report_scale.py --screenshot
makes the README's one from the whole fixture corpus).
"""

from __future__ import annotations

from collections.abc import Iterator
from pathlib import Path

import pytest
from report_data import fixture_audit

CHROMIUM = Path("/usr/bin/chromium")
ARGS = ["--no-sandbox", "--disable-gpu", "--disable-background-networking", "--disable-component-update",
        "--disable-sync", "--no-first-run"]  # fmt: skip
WATCH_CSP = """
window.__csp = [];
document.addEventListener("securitypolicyviolation", (e) => window.__csp.push(e.violatedDirective));
"""

pytestmark = pytest.mark.skipif(
    not CHROMIUM.exists(), reason="Debian's chromium is not installed at /usr/bin/chromium (.ci/run installs it)"
)


@pytest.fixture(scope="module")
def audited(tmp_path_factory: pytest.TempPathFactory, fixture_warc: Path, labels) -> tuple[Path, list[str]]:
    return fixture_audit(tmp_path_factory.mktemp("browser"), fixture_warc, labels)


@pytest.fixture(scope="module")
def browser(audited) -> Iterator:
    """Chromium, started after the audit: Playwright's sync API keeps an event loop running in this thread."""
    from playwright.sync_api import sync_playwright

    with sync_playwright() as playwright:
        browser = playwright.chromium.launch(executable_path=str(CHROMIUM), args=ARGS)
        yield browser
        browser.close()


class Watched:
    """A page whose console errors, uncaught errors, CSP violations and non-file requests are recorded."""

    def __init__(self, browser, *, javascript: bool = True) -> None:
        self.context = browser.new_context(java_script_enabled=javascript, viewport={"width": 1280, "height": 1600})
        self.page = self.context.new_page()
        self.errors: list[str] = []
        self.requests: list[str] = []
        self.page.on("console", lambda m: self.errors.append(m.text) if m.type in ("error", "warning") else None)
        self.page.on("pageerror", lambda e: self.errors.append(str(e)))
        self.page.route("**/*", self._route)
        self.page.add_init_script(WATCH_CSP)

    def _route(self, route) -> None:
        if route.request.url.startswith("file://"):
            route.continue_()
        else:  # nothing may leave the machine: record and refuse
            self.requests.append(route.request.url)
            route.abort()


def test_the_report_loads_with_no_errors_no_csp_violations_and_no_requests(browser, audited, tmp_path) -> None:
    out, urls = audited
    watched = Watched(browser)
    page = watched.page
    page.goto(out.as_uri())

    assert watched.errors == []
    assert page.evaluate("window.__csp") == []
    assert watched.requests == []
    charts = page.locator("figure svg")
    assert charts.count() >= 3
    assert all(charts.nth(i).bounding_box()["width"] > 100 for i in range(charts.count()))
    assert page.locator("details.site").count() == len(urls)
    assert page.locator("#sites-table tbody tr").count() == len(urls)
    page.screenshot(path=tmp_path / "report.png")
    assert (tmp_path / "report.png").stat().st_size > 20_000
    watched.context.close()


def test_filtering_sorting_and_table_links_work_with_javascript(browser, audited) -> None:
    out, urls = audited
    watched = Watched(browser)
    page = watched.page
    page.goto(out.as_uri())
    rows = page.locator("#sites-table tbody tr")
    rogue = page.locator("#sites-table tbody tr[data-verdict=rogue]").count()

    assert page.locator("#filters").is_visible()
    page.locator("#filters input[value=rogue]").uncheck()
    assert page.locator("#sites-table tbody tr:visible").count() == len(urls) - rogue
    assert page.locator("details.site[data-verdict=rogue]:visible").count() == 0
    assert page.locator("#shown").text_content() == f"showing {len(urls) - rogue} of {len(urls)}"
    page.locator("#filters input[value=rogue]").check()

    page.locator("th[data-sort=score]").click()
    scores = [int(rows.nth(i).get_attribute("data-score")) for i in range(rows.count())]
    assert scores == sorted(scores, reverse=True)
    page.locator("th[data-sort=score]").click()
    scores = [int(rows.nth(i).get_attribute("data-score")) for i in range(rows.count())]
    assert scores == sorted(scores)

    link = rows.nth(0).locator("a")
    target = link.get_attribute("href")
    link.click()
    assert page.locator(f"{target} .reason").is_visible()
    assert watched.errors == [] and watched.requests == []
    watched.context.close()


def test_the_report_is_complete_without_javascript(browser, audited) -> None:
    out, urls = audited
    watched = Watched(browser, javascript=False)
    page = watched.page
    page.goto(out.as_uri())

    assert page.locator("details.site").count() == len(urls)
    assert page.locator("#sites-table tbody tr").count() == len(urls)
    assert page.locator("figure svg").count() >= 3
    assert not page.locator("#filters").is_visible()  # the controls only appear when they can work
    page.goto(out.as_uri() + "#site-2")  # an anchor opens its collapsed section by itself
    assert page.locator("#site-2 .reason").is_visible()
    assert watched.errors == [] and watched.requests == []
    watched.context.close()
