"""The extension in a real chromium: warning before a rogue site, badges and popup, failures, service worker
restarts, and what private mode sends."""

from __future__ import annotations

import socket
import time
from urllib.parse import urlsplit

import pytest
from harness import (
    CHROMIUM,
    ERROR_HOOK,
    INFORMATION,
    LEGITIMATE,
    NO_CHROMIUM,
    ROGUE,
    SCREENSHOTS,
    ApiServer,
    Browser,
    SiteServer,
    worker_errors,
)

from rxcheck.api.lists import full_hash, host_expressions, hosts_version

pytestmark = pytest.mark.skipif(not CHROMIUM.exists(), reason=NO_CHROMIUM)


def _navigate(page, url: str) -> None:
    """Start a navigation the extension may redirect (Playwright reports a redirect to the extension as aborted)."""
    from playwright.sync_api import Error as PlaywrightError

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


ROGUE_HOST = urlsplit(ROGUE).hostname

LIST_RULE_HOSTS = """async () => (await chrome.declarativeNetRequest.getDynamicRules())
  .filter(r => r.id >= 100).flatMap(r => r.condition.requestDomains)"""


def _rogue_requests(site_server: SiteServer, since: int) -> list[tuple[str, str]]:
    """What the fixture server was asked for the rogue site (or any of its subdomains) since request `since`."""
    return [r for r in site_server.requests[since:] if r[0] == ROGUE_HOST or r[0].endswith("." + ROGUE_HOST)]


def test_the_first_visit_to_a_listed_rogue_site_is_stopped_before_any_request(
    browser: Browser, api_server: ApiServer, site_server: SiteServer
) -> None:
    assert browser.sw("async () => Object.keys(await chrome.storage.local.get(null))") == ["settings"]  # as installed
    status = browser.configure(apiBase=api_server.base, mode="private")
    assert status["ok"] and status["rogueHosts"] is True
    assert browser.sw(LIST_RULE_HOSTS) == [ROGUE_HOST]  # the published rogue site, as a blocking rule
    assert browser.sw("async () => (await chrome.storage.local.get('rogueHosts')).rogueHosts || {}") == {}
    page = browser.context.new_page()
    warning = f"{browser.origin}/warning.html"
    requested = len(site_server.requests)

    _navigate(page, ROGUE)  # the first visit this browser makes to it
    assert _wait_for_url(page, warning) == f"{warning}#{ROGUE}"
    page.wait_for_selector("#reasons li:has-text('risk score of 100/100')")  # from its prefix's full hashes

    assert _rogue_requests(site_server, requested) == []  # not even the first request reached the site
    assert "rogue online pharmacy" in page.text_content("h1")
    assert page.text_content("#site") == ROGUE_HOST
    tab = browser.active_tab()
    assert browser.badge(tab) == "BAD"
    page.screenshot(path=str(SCREENSHOTS / "warning-page.png"))
    popup = _popup(browser, tab)
    popup.wait_for_selector("#verdict")
    assert "Rogue pharmacy" in popup.text_content("#verdict")
    assert "100/100" in popup.text_content(".facts")
    popup.close()

    page.bring_to_front()
    _navigate(page, f"https://shop.{ROGUE_HOST}/generic-cialis.html")  # a subdomain: the name covers it
    assert _wait_for_url(page, f"{warning}#https://shop.") == f"{warning}#https://shop.{ROGUE_HOST}/generic-cialis.html"
    assert _rogue_requests(site_server, requested) == []
    page.goto(LEGITIMATE, wait_until="load")  # a site on no rule opens as ever
    assert page.url == LEGITIMATE and ("www.hartwellpharmacy.co.uk", "/") in site_server.requests[requested:]
    assert worker_errors(browser) == []


def test_without_published_names_the_prefix_list_warns_and_later_visits_are_stopped_before_any_request(
    browser: Browser, prefix_only_api: ApiServer, site_server: SiteServer
) -> None:
    start = prefix_only_api.log_size()
    status = browser.configure(apiBase=prefix_only_api.base, mode="private")
    assert status["ok"] and status["rogueHosts"] is False
    assert browser.sw(LIST_RULE_HOSTS) == []
    page = browser.context.new_page()
    warning = f"{browser.origin}/warning.html"

    _navigate(page, ROGUE)  # first visit: the rogue list's prefix matches, the full hash confirms, as it starts
    assert _wait_for_url(page, warning).startswith(warning)
    page.wait_for_selector("#reasons li")
    requested = len(site_server.requests)
    _navigate(page, ROGUE + "generic-cialis.html")  # now known to this browser: stopped by its rule
    _wait_for_url(page, f"{warning}#{ROGUE}generic-cialis.html")

    assert page.url == f"{warning}#{ROGUE}generic-cialis.html"
    assert _rogue_requests(site_server, requested) == []
    assert browser.badge(browser.active_tab()) == "BAD"
    paths = [line.split()[1] for line in prefix_only_api.access_log(start)]
    assert "/v1/lists/rogue/hosts" in paths and not [p for p in paths if "viagra" in p]
    assert worker_errors(browser) == []


def test_the_warning_page_goes_back_or_continues_once(browser: Browser, api_server: ApiServer) -> None:
    assert browser.configure(apiBase=api_server.base, mode="private")["ok"]
    page = browser.context.new_page()
    warning = f"{browser.origin}/warning.html"
    page.goto(LEGITIMATE, wait_until="load")
    _navigate(page, ROGUE)
    _wait_for_url(page, warning)

    page.click("#continue")  # this once: the site opens
    page.wait_for_url(ROGUE, wait_until="load")
    assert "warning.html" not in page.url
    _navigate(page, ROGUE + "generic-cialis.html")  # the next visit is stopped again
    assert _wait_for_url(page, warning) == f"{warning}#{ROGUE}generic-cialis.html"
    page.click("#back")
    page.wait_for_url(LEGITIMATE, wait_until="load")  # the last page that was not rogue
    assert worker_errors(browser) == []


def _screenshot(popup, name: str) -> None:
    """The popup as the toolbar shows it: its width, as tall as its content."""
    popup.set_viewport_size({"width": 380, "height": popup.evaluate("document.body.scrollHeight")})
    popup.screenshot(path=str(SCREENSHOTS / name), full_page=True)


def _popup(browser: Browser, tab_id: int):
    popup = browser.context.new_page()
    popup.set_viewport_size({"width": 380, "height": 600})
    popup.goto(f"{browser.origin}/popup.html?tab={tab_id}")
    return popup


def test_a_legitimate_site_gets_the_legitimate_badge_and_a_popup_with_evidence(
    browser: Browser, api_server: ApiServer
) -> None:
    assert browser.configure(apiBase=api_server.base, mode="private")["ok"]
    page = browser.context.new_page()
    page.goto(LEGITIMATE, wait_until="load")
    tab = browser.active_tab()
    log_start = api_server.log_size()

    assert browser.wait_for_badge(tab, "OK") == "OK"
    assert "legitimate" in browser.title(tab)
    popup = _popup(browser, tab)
    popup.wait_for_selector("#verdict")
    assert "Legitimate pharmacy" in popup.text_content("#verdict")
    assert "rxcheck's lists" in popup.text_content(".facts")
    popup.click("#check-site")
    popup.wait_for_selector("#findings li", timeout=60000)

    findings = popup.query_selector_all("#findings li")
    assert findings and all(f.query_selector(".message").text_content().strip() for f in findings)
    quoted = [f for f in findings if f.query_selector("blockquote")]
    assert quoted, "no finding shows its evidence"
    link = quoted[0].query_selector(".where a").get_attribute("href")
    assert link.startswith("https://www.hartwellpharmacy.co.uk/")
    facts = popup.text_content(".facts")
    assert "GB" in facts and "a full check" in facts and "Rules" in facts
    assert popup.query_selector("#check-again") is not None
    checks = [line for line in api_server.access_log(log_start) if line.startswith("GET /v1/verdict")]
    assert checks == ["GET /v1/verdict?url=https%3A%2F%2Fwww.hartwellpharmacy.co.uk HTTP/1.1"]  # the origin only
    _screenshot(popup, "popup-legitimate.png")
    assert worker_errors(browser) == []


def test_an_informational_site_gives_no_warning_in_automatic_mode(browser: Browser, api_server: ApiServer) -> None:
    options = browser.context.new_page()
    options.goto(f"{browser.origin}/options.html")
    options.wait_for_selector("input[name=mode][value=off]:checked")  # what is stored
    options.fill("#apiBase", api_server.base)
    options.check("input[name=mode][value=automatic]")
    options.click("#save")
    options.wait_for_selector("#status:has-text('Saved')")
    settings = browser.sw("async () => (await chrome.storage.local.get('settings')).settings")
    assert settings == {"apiBase": api_server.base, "apiKey": "", "mode": "automatic"}
    start = api_server.log_size()
    page = browser.context.new_page()

    page.goto(INFORMATION, wait_until="load")
    tab = browser.active_tab()
    deadline = time.monotonic() + 30
    while browser.sw("async t => ((await chrome.storage.session.get(`tab:${t}`))[`tab:${t}`] || {}).status", tab) in (
        None,
        "checking",
    ):
        assert time.monotonic() < deadline, "no verdict in 30 s"
        page.wait_for_timeout(50)

    assert page.url == INFORMATION and page.title()
    assert browser.badge(tab) not in ("BAD", "WARN")
    checks = [line for line in api_server.access_log(start) if line.startswith("GET /v1/verdict")]
    assert checks == ["GET /v1/verdict?url=https%3A%2F%2Fwww.medicinessafety.ie HTTP/1.1"]  # the origin only
    assert worker_errors(browser) == []


def test_the_extension_hashes_hosts_as_the_server_does(browser: Browser) -> None:
    page = browser.context.new_page()
    page.goto(f"{browser.origin}/options.html")
    urls = [
        "https://WWW.Hartwellpharmacy.CO.UK./x?y",
        "http://0x7f.1/",
        "https://a.b.c.d.e.f.g/",
        "https://bücher.example/",
    ]

    hashed = page.evaluate(
        "async urls => { const h = await import('./lib/hashing.js');"
        " return Promise.all(urls.map(async u => (await h.hashesForUrl(u)).map(e => [e.expression, e.hash]))) }",
        urls,
    )

    for url, expressions in zip(urls, hashed, strict=True):
        expected = host_expressions(urlsplit(url).netloc)
        assert [e for e, _ in expressions] == expected, url
        assert [h for _, h in expressions] == [full_hash(e).hex() for e in expected]


ROGUE_RULES_SCRIPT = """async ([hosts, version, diffVersion]) => {
  const r = await import('./lib/rogue-rules.js');
  const rules = async () => (await chrome.declarativeNetRequest.getDynamicRules())
    .filter(rule => rule.id >= 100).map(rule => [rule.id, rule.condition.requestDomains.length]);
  const held = async () => (await chrome.storage.local.get('rogueHostList')).rogueHostList || null;
  const asked = [];
  const answering = (body) => ({ rogueHosts: async (since) => { asked.push(since || null); return body; } });
  const out = {};
  out.full = await r.refreshRogueHosts(answering({ ok: true, body: { type: 'full', version, additions: hosts } }));
  out.fullRules = await rules();
  out.fullHeld = await held();
  out.covered = await r.onRogueHostList('shop.' + hosts[1]);
  const diff = { type: 'diff', version: diffVersion, additions: ['zz-new.example'], removals: hosts.slice(0, 600) };
  out.diff = await r.refreshRogueHosts(answering({ ok: true, body: diff }));
  out.diffRules = await rules();
  out.removedCovered = await r.onRogueHostList(hosts[0]);
  const liar = { ok: true, body: { type: 'full', version: '0000000000000000', additions: ['a.example'] } };
  out.bad = await r.refreshRogueHosts(answering(liar));
  out.badRules = await rules();
  out.unpublished = await r.refreshRogueHosts(answering({ ok: false, code: 'not_published', reason: 'no' }));
  out.unpublishedRules = await rules();
  out.unpublishedHeld = await held();
  out.asked = asked;
  return out;
}"""


def test_the_published_rogue_sites_become_rules_in_chunks_replaced_by_diffs(browser: Browser) -> None:
    hosts = [f"rogue-{i:04d}.example" for i in range(2500)]
    after = sorted(hosts[600:] + ["zz-new.example"])
    page = browser.context.new_page()
    page.goto(f"{browser.origin}/options.html")

    out = page.evaluate(ROGUE_RULES_SCRIPT, [hosts, hosts_version(hosts), hosts_version(after)])

    assert out["full"] == {"ok": True, "published": True}
    assert out["fullRules"] == [[100, 1000], [101, 1000], [102, 500]]
    assert out["fullHeld"]["version"] == hosts_version(hosts) and out["fullHeld"]["count"] == 2500
    assert out["covered"] is True  # a name covers its subdomains
    assert out["diff"]["ok"] and out["diffRules"] == [[100, 1000], [101, 901]]  # one call: the third rule is gone
    assert out["removedCovered"] is False
    assert out["bad"] == {"ok": False, "reason": "the list of rogue sites does not match its checksum"}
    assert out["badRules"] == out["diffRules"]  # what is held stays
    assert out["unpublished"] == {"ok": True, "published": False}
    assert out["unpublishedRules"] == [] and out["unpublishedHeld"]["published"] is False
    # the first download asks for everything; then the version held; a checksum failure asks for everything again
    assert out["asked"] == [None, hosts_version(hosts), hosts_version(after), None, hosts_version(after)]
    assert worker_errors(browser) == []


def test_an_api_error_gives_its_reason(browser: Browser, api_server: ApiServer) -> None:
    status = browser.configure(apiBase=api_server.base + "/nowhere", mode="private")

    assert not status["ok"]
    assert status["reason"] == "the rxcheck API answered 404: no such resource: /nowhere/v1/lists/rogue"
    assert worker_errors(browser) == []


def test_the_api_down_gives_unknown_with_the_reason_and_no_error(browser: Browser, site_server: SiteServer) -> None:
    closed = f"http://127.0.0.1:{_closed_port()}"
    status = browser.configure(apiBase=closed, mode="private")
    assert not status["ok"] and "cannot be reached" in status["reason"]
    page = browser.context.new_page()

    page.goto(LEGITIMATE, wait_until="load")  # browsing goes on
    tab = browser.active_tab()

    assert page.url == LEGITIMATE and "Hartwell" in page.title()
    assert browser.wait_for_badge(tab, "?") == "?"
    assert "cannot be reached" in browser.title(tab)
    popup = _popup(browser, tab)
    popup.wait_for_selector("#reason")
    assert "Unknown" in popup.text_content("#verdict")
    assert f"the rxcheck API at {closed} cannot be reached" in popup.text_content("#reason")
    popup.click("#check-again")
    popup.wait_for_selector("#check-again:enabled")
    assert "cannot be reached" in popup.text_content("#reason")
    _screenshot(popup, "popup-api-down.png")
    assert worker_errors(browser) == []


def test_a_stopped_service_worker_recovers_its_state(
    browser: Browser, api_server: ApiServer, site_server: SiteServer
) -> None:
    assert browser.configure(apiBase=api_server.base, mode="private")["ok"]
    page = browser.context.new_page()
    page.goto(LEGITIMATE, wait_until="load")
    tab = browser.active_tab()
    assert browser.wait_for_badge(tab, "OK") == "OK"

    _stop_service_worker(browser)
    popup = _popup(browser, tab)  # what the tab shows is in chrome.storage, not in the stopped worker
    popup.wait_for_selector("#verdict")
    assert "Legitimate pharmacy" in popup.text_content("#verdict")
    popup.close()
    page.bring_to_front()
    requested = len(site_server.requests)
    _navigate(page, ROGUE)  # the rules outlive the worker; the blocked navigation wakes it to show the warning

    assert _wait_for_url(page, f"{browser.origin}/warning.html").startswith(f"{browser.origin}/warning.html")
    assert _rogue_requests(site_server, requested) == []
    browser.worker = browser.context.service_workers[-1]
    assert browser.sw("() => self.__rxErrors === undefined")  # a new worker: nothing in memory survived
    browser.worker.evaluate(ERROR_HOOK)
    assert browser.sw(LIST_RULE_HOSTS) == [ROGUE_HOST]
    held = browser.sw("async () => (await chrome.storage.local.get('rogueHostList')).rogueHostList")
    assert held["published"] and held["version"] == hosts_version([ROGUE_HOST]) and held["count"] == 1
    assert browser.sw("async () => (await chrome.storage.local.get('lists')).lists.rogue.prefixes.length") >= 1
    assert browser.sw("async () => (await chrome.alarms.get('rxcheck-refresh-lists')).periodInMinutes") == 30
    page.goto(LEGITIMATE, wait_until="load")
    assert browser.wait_for_badge(tab, "OK") == "OK"
    assert worker_errors(browser) == []


def test_private_mode_sends_only_list_and_prefix_requests(
    browser: Browser, api_server: ApiServer, site_server: SiteServer
) -> None:
    start = api_server.log_size()
    assert browser.configure(apiBase=api_server.base, mode="private")["ok"]
    page = browser.context.new_page()

    for url in (LEGITIMATE, INFORMATION, "https://www.hartwellpharmacy.co.uk/contact/"):
        page.goto(url, wait_until="load")
    _navigate(page, ROGUE)
    _wait_for_url(page, f"{browser.origin}/warning.html")
    assert browser.wait_for_badge(browser.active_tab(), "BAD") == "BAD"

    requests = api_server.access_log(start)
    assert requests, "the extension asked the API nothing"
    paths = [line.split()[1] for line in requests]
    assert all(p.startswith(("/v1/lists/", "/v1/hashes?prefix=")) for p in paths), paths
    assert any(p.startswith("/v1/hashes?prefix=") for p in paths)
    assert "/v1/lists/rogue/hosts" in paths  # the whole list of rogue sites' names: it tells nothing of the visits
    names = ("hartwell", "medicinessafety", "viagra", "contact", "www.")
    assert not [p for p in paths if any(name in p for name in names)]
    assert worker_errors(browser) == []


def _stop_service_worker(browser: Browser) -> None:
    """Stop the extension's service worker as Chrome does when it is idle (through the DevTools protocol)."""
    cdp = browser.context.browser.new_browser_cdp_session()
    targets = cdp.send("Target.getTargets")["targetInfos"]
    [worker] = [t for t in targets if t["type"] == "service_worker" and browser.origin in t["url"]]
    cdp.send("Target.closeTarget", {"targetId": worker["targetId"]})
    deadline = time.monotonic() + 10
    while time.monotonic() < deadline:
        alive = [t for t in cdp.send("Target.getTargets")["targetInfos"] if t["type"] == "service_worker"]
        if not alive:
            return
        time.sleep(0.05)
    raise AssertionError("the service worker did not stop")


def test_a_slow_api_gives_unknown_and_browsing_goes_on(browser: Browser) -> None:
    with socket.socket() as silent:  # accepts connections (the kernel's backlog) and never answers
        silent.bind(("127.0.0.1", 0))
        silent.listen(16)
        status = browser.configure(apiBase=f"http://127.0.0.1:{silent.getsockname()[1]}", mode="private")
        page = browser.context.new_page()
        page.goto(LEGITIMATE, wait_until="load")
        tab = browser.active_tab()

        assert not status["ok"] and "did not answer within 15 s" in status["reason"]
        assert page.url == LEGITIMATE
        assert browser.wait_for_badge(tab, "?") == "?"
        assert "did not answer within 15 s" in browser.title(tab)
    assert worker_errors(browser) == []


def _closed_port() -> int:
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        return sock.getsockname()[1]  # closed again when this returns: nothing listens there


def test_the_popup_shows_site_type_and_verdict_reason_when_the_result_has_them(browser: Browser) -> None:
    origin = "https://shop.example"
    result = {
        "url": origin + "/",
        "verdict": "suspicious",
        "risk_score": 55,
        "jurisdiction": "EU",
        "rules_version": "pack-9",
        "site_type": {"type": "pharmacy", "evidence": [{"url": origin + "/", "snippet": "Add to basket: Sildenafil"}]},
        "verdict_reason": "It sells prescription medicines but shows no licence.",
        "findings": [],
        "cache": {"hit": True, "age_s": 7200, "max_age_s": 86400},
    }
    state = {"origin": origin, "host": "shop.example", "status": "verdict", "source": "check", "verdict": "suspicious"}
    state |= {"risk_score": 55, "age_s": 7200}
    browser.sw(
        "async ([o, r, s]) => { await chrome.storage.local.set({results: {[o]: {result: r, storedAt: Date.now()}}});"
        " await chrome.storage.session.set({'tab:999': s}) }",
        [origin, result, state],
    )

    popup = _popup(browser, 999)
    popup.wait_for_selector("#verdict")

    assert "Suspicious" in popup.text_content("#verdict")
    assert "It sells prescription medicines but shows no licence." in popup.text_content("#view")
    facts = popup.text_content(".facts")
    assert "Pharmacy" in facts and "EU" in facts and "pack-9" in facts and "2 hours ago" in facts
    assert popup.text_content("#site-type-evidence") == "Add to basket: Sildenafil"
    assert worker_errors(browser) == []


def test_the_extensions_page_shows_no_manifest_errors_or_warnings(browser: Browser) -> None:
    page = browser.context.new_page()
    page.goto("chrome://extensions/")

    info = page.evaluate(
        "id => new Promise(r => chrome.developerPrivate.getExtensionInfo(id, r))", browser.extension_id
    )

    assert info["state"] == "ENABLED"
    assert info["manifestErrors"] == [] and info["installWarnings"] == []
    assert sorted(p["message"] for p in info["permissions"]["simplePermissions"]) == [
        "Block content on any page",
        "Read your browsing history",
    ]
