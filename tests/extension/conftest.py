"""The browser harness: Debian's chromium with the unpacked extension, a local HTTPS server playing the fixture
sites by host name, and a real `rxcheck` API server replaying the fixture WARC. Every connection stays on
127.0.0.1: chromium maps every host name to the fixture server (`--host-resolver-rules`), except 127.0.0.1 itself,
where the API listens, and runs with background networking, component updates and sync off."""

from __future__ import annotations

import base64
import hashlib
import importlib.util
import os
import signal
import socket
import ssl
import subprocess
import sys
import threading
import time
from collections.abc import Iterator
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from pathlib import Path
from typing import Any
from urllib.parse import urlsplit

import httpx
import pytest
from harness import (
    CHROMIUM,
    ERROR_HOOK,
    EXTENSION,
    FIXTURES,
    INFORMATION,
    LEGITIMATE,
    REPO,
    ROGUE,
    ApiServer,
    Browser,
    SiteServer,
)


def _free_port() -> int:
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        return sock.getsockname()[1]


def _fixture_resources() -> dict[tuple[str, str], Any]:
    spec = importlib.util.spec_from_file_location("fixtures_build_warc_ext", FIXTURES / "build_warc.py")
    assert spec and spec.loader
    module = importlib.util.module_from_spec(spec)
    sys.modules[spec.name] = module
    spec.loader.exec_module(module)
    _, resources = module.collect(FIXTURES / "sites")
    return {(urlsplit(r.url).hostname or "", urlsplit(r.url).path or "/"): r for r in resources}


@pytest.fixture(scope="module")
def site_server() -> Iterator[SiteServer]:
    """HTTPS on 127.0.0.1 serving every fixture site by its Host header; records (host, path) requested."""
    import trustme

    resources = _fixture_resources()
    ca = trustme.CA()
    cert = ca.issue_cert(*sorted({host for host, _ in resources}))
    context = ssl.create_default_context(ssl.Purpose.CLIENT_AUTH)
    cert.configure_cert(context)
    der = ssl.PEM_cert_to_DER_cert(cert.cert_chain_pems[0].bytes().decode())
    from cryptography import x509
    from cryptography.hazmat.primitives import serialization

    public_key = x509.load_der_x509_certificate(der).public_key()
    spki_der = public_key.public_bytes(serialization.Encoding.DER, serialization.PublicFormat.SubjectPublicKeyInfo)
    state = SiteServer(port=0, spki=base64.b64encode(hashlib.sha256(spki_der).digest()).decode())

    class Handler(BaseHTTPRequestHandler):
        def do_GET(self) -> None:  # noqa: N802 - the http.server interface
            host = (self.headers.get("Host") or "").split(":")[0].lower()
            path = urlsplit(self.path).path or "/"
            state.requests.append((host, path))
            resource = resources.get((host, path))
            if resource is None:
                self.send_response(404)
                self.send_header("Content-Type", "text/plain")
                self.end_headers()
                self.wfile.write(b"not found")
                return
            self.send_response(resource.status)
            if resource.location:
                self.send_header("Location", resource.location)
            self.send_header("Content-Type", resource.content_type or "text/html; charset=utf-8")
            self.send_header("Content-Length", str(len(resource.body)))
            self.end_headers()
            self.wfile.write(resource.body)

        def log_message(self, format: str, *args: Any) -> None:
            pass

    class Server(ThreadingHTTPServer):
        daemon_threads = True

        def handle_error(self, request: Any, client_address: Any) -> None:
            if not isinstance(sys.exc_info()[1], (ConnectionError, ssl.SSLError)):  # the browser dropped a request
                super().handle_error(request, client_address)

    server = Server(("127.0.0.1", 0), Handler)
    server.socket = context.wrap_socket(server.socket, server_side=True)
    state.port = server.server_address[1]
    thread = threading.Thread(target=server.serve_forever, daemon=True)
    thread.start()
    yield state
    server.shutdown()
    server.server_close()


def _start_api(tmp: Path, name: str, **settings: str) -> tuple[subprocess.Popen[bytes], ApiServer]:
    port = _free_port()
    env = {**os.environ, "RXCHECK_IP_RATE_PER_MIN": "0", "RXCHECK_CRAWL_IP_RATE_PER_MIN": "0"} | settings
    env |= {"PYTHONPATH": str(REPO), "PYTHONUNBUFFERED": "1"}
    log = tmp / f"{name}.log"
    command = [sys.executable, "-m", "rxcheck.api.server", "--host", "127.0.0.1", "--port", str(port)]
    command += ["--replay", str(FIXTURES / "sites.warc.gz"), "--db", str(tmp / f"{name}.sqlite")]
    with log.open("wb") as out:
        process = subprocess.Popen(command, cwd=REPO, env=env, stdout=out, stderr=subprocess.STDOUT)
    api = ApiServer(base=f"http://127.0.0.1:{port}", log=log)
    deadline = time.monotonic() + 30
    with httpx.Client(base_url=api.base, trust_env=False, timeout=60) as http:
        while True:
            assert process.poll() is None, log.read_text(errors="replace")
            try:
                if http.get("/healthz").status_code == 200:
                    break
            except httpx.TransportError:
                pass
            assert time.monotonic() < deadline, "the API server did not start in 30 s"
            time.sleep(0.1)
        # what rxcheck has judged before the browser starts: these make the lists
        for url in (ROGUE, LEGITIMATE, INFORMATION):
            response = http.get("/v1/verdict", params={"url": url})
            assert response.status_code == 200, response.text
    return process, api


def _stop(process: subprocess.Popen[bytes]) -> None:
    process.send_signal(signal.SIGINT)
    try:
        process.wait(timeout=15)
    except subprocess.TimeoutExpired:
        process.kill()
        process.wait()


@pytest.fixture(scope="module")
def api_server(tmp_path_factory: pytest.TempPathFactory) -> Iterator[ApiServer]:
    process, api = _start_api(tmp_path_factory.mktemp("api"), "api")
    yield api
    _stop(process)


@pytest.fixture(scope="module")
def prefix_only_api(tmp_path_factory: pytest.TempPathFactory) -> Iterator[ApiServer]:
    """A server that publishes the rogue list as hash prefixes only (no site names)."""
    process, api = _start_api(tmp_path_factory.mktemp("api"), "api", RXCHECK_LISTS_PUBLISH_ROGUE_HOSTS="0")
    yield api
    _stop(process)


RESET = """async () => {
  await chrome.storage.local.set({settings: {mode: "off"}});  // turns the rule off, downloads nothing
  const keep = ["settings"];
  await chrome.storage.local.remove(Object.keys(await chrome.storage.local.get(null)).filter(k => !keep.includes(k)));
  await chrome.storage.session.clear();
  const session = await chrome.declarativeNetRequest.getSessionRules();
  await chrome.declarativeNetRequest.updateSessionRules({removeRuleIds: session.map(r => r.id)});
  self.__rxErrors = [];
}"""


@pytest.fixture
def browser(chromium: Browser) -> Iterator[Browser]:
    """The browser with the extension as if just installed, mode off: every test configures it."""
    chromium.sw(RESET)
    chromium.context.new_cdp_session(chromium.context.pages[0]).send("Network.clearBrowserCache")  # lists, hashes
    chromium.errors.clear()
    deadline = time.monotonic() + 10
    while chromium.sw("async () => (await chrome.declarativeNetRequest.getDynamicRules()).length"):
        assert time.monotonic() < deadline, "the warning rule was not removed"
        time.sleep(0.05)
    yield chromium
    for page in chromium.context.pages[1:]:
        page.close()


@pytest.fixture(scope="module")
def chromium(site_server: SiteServer, tmp_path_factory: pytest.TempPathFactory) -> Iterator[Browser]:
    """Chromium with the extension loaded, for the module's tests (Playwright's sync API holds an event loop while
    it runs, so it must stop before the asyncio tests of other modules); `errors` collects every console error, uncaught
    error and unhandled rejection of the extension's pages and service worker."""
    tmp_path = tmp_path_factory.mktemp("chromium")
    args = [
        f"--disable-extensions-except={EXTENSION}",
        f"--load-extension={EXTENSION}",
        f"--host-resolver-rules=MAP * 127.0.0.1:{site_server.port}, EXCLUDE 127.0.0.1",
        f"--ignore-certificate-errors-spki-list={site_server.spki}",
        "--no-sandbox",
        "--disable-gpu",
        "--disable-background-networking",
        "--disable-component-update",
        "--disable-sync",
        "--no-first-run",
        "--no-default-browser-check",
        "--disable-features=HttpsUpgrades,HttpsFirstBalancedModeAutoEnable",
    ]
    from playwright.sync_api import sync_playwright

    with sync_playwright() as pw:
        context = pw.chromium.launch_persistent_context(
            str(tmp_path / "profile"),
            executable_path=str(CHROMIUM),
            headless=True,
            args=args,
            viewport={"width": 1100, "height": 760},
        )
        try:
            worker = context.service_workers[0] if context.service_workers else context.wait_for_event("serviceworker")
            extension_id = worker.url.split("/")[2]
            errors: list[str] = []
            ours = f"chrome-extension://{extension_id}/"

            def on_console(message: Any) -> None:
                if message.type == "error" and str(message.location.get("url", "")).startswith(ours):
                    errors.append(f"console error: {message.text}")

            def on_error(error: Any) -> None:
                if error.page is None or error.page.url.startswith(ours):
                    errors.append(f"page error: {error.error}")

            context.on("weberror", on_error)
            context.on("console", on_console)
            worker.evaluate(ERROR_HOOK)
            browser = Browser(context=context, worker=worker, extension_id=extension_id, errors=errors)
            deadline = time.monotonic() + 20
            while browser.list_status() is None:  # the download at install (default settings) has ended
                assert time.monotonic() < deadline, "the extension never tried to fetch its lists"
                time.sleep(0.05)
            yield browser
        finally:
            context.close()
