"""Constants and helpers of the browser tests (the fixtures that use them are in conftest.py)."""

from __future__ import annotations

import os
import tempfile
import time
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

REPO = Path(__file__).resolve().parents[2]
EXTENSION = REPO / "extension"
FIXTURES = REPO / "fixtures"
CHROMIUM = Path(os.environ.get("RXCHECK_CHROMIUM", "/usr/bin/chromium"))
# the README's screenshots are rewritten only when asked (RXCHECK_UPDATE_SCREENSHOT=1); otherwise each run's go to a
# scratch folder, so a test run leaves the checkout as it found it
SCREENSHOTS = (
    REPO / "docs" / "screenshots"
    if os.environ.get("RXCHECK_UPDATE_SCREENSHOT")
    else Path(tempfile.gettempdir()) / "rxcheck-extension-screenshots"
)
SCREENSHOTS.mkdir(parents=True, exist_ok=True)

ROGUE = "https://buy-viagra-online-rx.com/"
LEGITIMATE = "https://www.hartwellpharmacy.co.uk/"
INFORMATION = "https://www.medicinessafety.ie/buying-medicines-online/"

NO_CHROMIUM = f"browser tests need chromium at {CHROMIUM} (apt-get install chromium)"


@dataclass
class SiteServer:
    port: int
    spki: str
    requests: list[tuple[str, str]] = field(default_factory=list)  # (host, path) in the order asked


@dataclass
class ApiServer:
    base: str
    log: Path

    def access_log(self, since: int = 0) -> list[str]:
        """The request lines uvicorn logged (`GET /v1/... HTTP/1.1`), from byte offset `since` of the log."""
        with self.log.open("rb") as handle:
            handle.seek(since)
            text = handle.read().decode("utf-8", "replace")
        return [line.split('"')[1] for line in text.splitlines() if line.count('"') >= 2 and "HTTP/" in line]

    def log_size(self) -> int:
        return self.log.stat().st_size


@dataclass
class Browser:
    context: Any
    worker: Any
    extension_id: str
    errors: list[str]

    @property
    def origin(self) -> str:
        return f"chrome-extension://{self.extension_id}"

    def sw(self, script: str, arg: Any = None) -> Any:
        return self.worker.evaluate(script, arg)

    def list_status(self) -> dict[str, Any] | None:
        return self.sw("async () => (await chrome.storage.local.get('listStatus')).listStatus || null")

    def configure(self, **settings: Any) -> dict[str, Any]:
        """Save settings as the options page does, then wait for the list download they start; its status."""
        deadline = time.monotonic() + 40  # a download that times out takes 15 s
        started = self.sw("() => Date.now()")
        self.sw("s => chrome.storage.local.set({settings: s})", settings)
        while (status := self.list_status() or {"at": 0})["at"] < started:
            assert time.monotonic() < deadline, "the extension did not fetch its lists in 40 s"
            time.sleep(0.05)
        return status

    def active_tab(self) -> int:
        return self.sw("async () => (await chrome.tabs.query({active: true, lastFocusedWindow: true}))[0].id")

    def badge(self, tab_id: int) -> str:
        return self.sw("tabId => chrome.action.getBadgeText({tabId})", tab_id)

    def title(self, tab_id: int) -> str:
        return self.sw("tabId => chrome.action.getTitle({tabId})", tab_id)

    def wait_for_badge(self, tab_id: int, expected: str, timeout: float = 20) -> str:
        deadline = time.monotonic() + timeout
        while (text := self.badge(tab_id)) != expected and time.monotonic() < deadline:
            time.sleep(0.05)
        return text


ERROR_HOOK = """() => {
  if (self.__rxErrors) return;
  self.__rxErrors = [];
  const keep = (kind) => (...args) => self.__rxErrors.push(kind + ": " + args.map(String).join(" "));
  for (const kind of ["error", "warn"]) {
    const original = console[kind];
    console[kind] = (...a) => { keep(kind)(...a); original(...a); };
  }
  self.addEventListener("error", (e) => keep("uncaught")(e.message));
  self.addEventListener("unhandledrejection", (e) => keep("rejection")(e.reason && e.reason.message || e.reason));
}"""


def worker_errors(browser: Browser) -> list[str]:
    return browser.errors + list(browser.sw("() => self.__rxErrors || []"))
