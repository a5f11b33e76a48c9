"""The extension in a real chromium: warning before a rogue site, badges and popup, failures, service worker
restarts, and what private mode sends."""

from __future__ import annotations

import time

from playwright.sync_api import Error as PlaywrightError

from conftest import (
    INFORMATION,
    LEGITIMATE,
    ROGUE,
    SCREENSHOTS,
    ApiServer,
    Browser,
    SiteServer,
    worker_errors,
)


def _navigate(page, url: str) -> None:
    """Start a navigation the extension may redirect (Playwright reports a redirect to the extension as aborted)."""
    try:
        page.goto(url, wait_until="commit")
    except PlaywrightError as error:
        if not any(s in str(error) for s in ("ERR_ABORTED", "ERR_BLOCKED_BY_CLIENT", "interrupted")):
            raise


def _wait_for_url(page, prefix: str, timeout: float = 15) -> str:
    deadline = time.monotonic() + timeout
    while not page.url.startswith(prefix) and time.monotonic() < deadline:
        page.wait_for_timeout(50)
    return page.url


def test_a_rogue_site_gives_the_warning_page_before_its_content_loads(
    browser: Browser, api_server: ApiServer, site_server: SiteServer
) -> None:
    assert browser.configure(apiBase=api_server.base, mode="private")["ok"]
    page = browser.context.new_page()
    warning = f"{browser.origin}/warning.html"

    page.goto(ROGUE, wait_until="commit")  # first visit: the rogue list's prefix matches, the full hash confirms
    assert _wait_for_url(page, warning).startswith(warning)
    page.wait_for_selector("#reasons li")
    requested = len(site_server.requests)

    _navigate(page, ROGUE + "generic-cialis.html")  # now a known rogue site: redirected by the rule
    _wait_for_url(page, warning)
    page.wait_for_selector("#reasons li")
    print("URL", page.url, site_server.requests[requested - 3 :])

    assert page.url == f"{warning}#{ROGUE}generic-cialis.html"
    assert "rogue online pharmacy" in page.text_content("h1")
    assert page.text_content("#site") == "buy-viagra-online-rx.com"
    assert [r for r in site_server.requests[requested:] if r[0] == "buy-viagra-online-rx.com"] == []
    assert browser.badge(browser.active_tab()) == "BAD"
    page.screenshot(path=str(SCREENSHOTS / "warning-page.png"))
    assert worker_errors(browser) == []
