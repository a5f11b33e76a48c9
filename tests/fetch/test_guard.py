import http.server
import shutil
import ssl
import subprocess
import threading
from collections.abc import Iterator
from pathlib import Path

import httpcore
import pytest
from pytest_httpx import HTTPXMock

from rxcheck.errors import BlockedAddress, FetchError, InvalidURL, TLSFailed
from rxcheck.fetch import guard, partial_fetch
from rxcheck.fetch.guard import (
    GuardedBackend,
    UnresolvableHost,
    check_url,
    forbidden_reason,
    is_forbidden_ip,
    resolve_checked,
)
from rxcheck.fetch.limits import ANY_PORT, FetchLimits
from rxcheck.fetch.live import LiveFetcher

PUBLIC_IP = "93.184.216.34"
ANY_PORT_LIMITS = FetchLimits(ports=ANY_PORT)  # the test servers listen on ephemeral ports


@pytest.fixture(autouse=True)
def no_environment_proxies(monkeypatch: pytest.MonkeyPatch) -> None:
    """Proxies from the environment would bypass the connect-time check these tests exercise."""
    for name in ("HTTP_PROXY", "HTTPS_PROXY", "ALL_PROXY", "NO_PROXY"):
        monkeypatch.delenv(name, raising=False)
        monkeypatch.delenv(name.lower(), raising=False)


@pytest.mark.parametrize(
    "url",
    [
        "http://127.0.0.1/",
        "http://127.0.0.2:8080/admin",
        "http://2130706433/",  # decimal
        "http://0177.0.0.1/",  # octal
        "http://0x7f.0.0.1/",  # hex
        "http://0x7f000001/",
        "http://127.1/",  # short form
        "http://127.0.0.1./",  # trailing dot
        "http://0.0.0.0/",
        "http://0/",
        "http://10.1.2.3/",
        "http://172.16.0.1/",
        "http://192.168.1.1/",
        "http://169.254.169.254/latest/meta-data/",  # cloud metadata
        "http://100.64.0.1/",  # shared address space
        "http://224.0.0.1/",  # multicast
        "http://240.0.0.1/",  # reserved
        "http://255.255.255.255/",
        "http://192.0.2.10/",  # documentation
        "http://[::1]/",
        "http://[::]/",
        "http://[fe80::1]/",
        "http://[fc00::1]/",
        "http://[fd00:ec2::254]/",  # unique-local (AWS IPv6 metadata)
        "http://[fec0::1]/",  # site-local
        "http://[ff02::1]/",
        "http://[2001:db8::1]/",
        "http://[::ffff:127.0.0.1]/",  # IPv4-mapped
        "http://[::ffff:169.254.169.254]/",
        "http://[64:ff9b::7f00:1]/",  # NAT64 of 127.0.0.1
        "http://[2002:7f00:1::]/",  # 6to4 of 127.0.0.1
        "http://localhost/",
        "http://LOCALHOST:8000/",
        "http://localhost./",
        "http://api.localhost/",
        "http://localhost.localdomain/",
        "http://ip6-localhost/",
        "https://user:pass@127.0.0.1/",
    ],
)
def test_forbidden_targets_are_refused(url: str) -> None:
    with pytest.raises(BlockedAddress, match="refused"):
        check_url(url, ports=None)


LIFTABLE = {
    "http://127.0.0.1/", "http://127.0.0.2:8080/admin", "http://2130706433/", "http://0177.0.0.1/",
    "http://0x7f.0.0.1/", "http://0x7f000001/", "http://127.1/", "http://127.0.0.1./", "http://10.1.2.3/",
    "http://172.16.0.1/", "http://192.168.1.1/", "http://[::1]/", "http://[fc00::1]/", "http://[::ffff:127.0.0.1]/",
    "http://[64:ff9b::7f00:1]/", "http://[2002:7f00:1::]/", "http://localhost/", "http://LOCALHOST:8000/",
    "http://localhost./", "http://api.localhost/", "http://localhost.localdomain/", "http://ip6-localhost/",
    "https://user:pass@127.0.0.1/",
}  # fmt: skip


@pytest.mark.parametrize("url", sorted(LIFTABLE))
def test_allow_private_lifts_only_loopback_and_private(url: str) -> None:
    assert check_url(url, allow_private=True, ports=None).startswith(("http://", "https://"))


@pytest.mark.parametrize(
    "url",
    [
        "http://169.254.169.254/latest/meta-data/",
        "http://[::ffff:169.254.169.254]/",
        "http://[fe80::1]/",
        "http://[fd00:ec2::254]/",
        "http://192.0.0.192/",  # Oracle Cloud metadata: Python 3.11 calls 192.0.0.0/24 global
        "http://100.100.100.200/",  # Alibaba Cloud metadata
        "http://100.64.0.1/",
        "http://0.0.0.0/",
        "http://224.0.0.1/",
        "http://[2001:db8::1]/",
    ],
)
def test_allow_private_never_lifts_link_local_or_metadata(url: str) -> None:
    with pytest.raises(BlockedAddress, match="refused"):
        check_url(url, allow_private=True, ports=None)


def test_only_ports_80_and_443_by_default() -> None:
    assert check_url("http://shop.example:80/") == "http://shop.example/"
    assert check_url("https://shop.example:443/") == "https://shop.example/"
    with pytest.raises(BlockedAddress, match="port 8443 is not one of the ports fetched"):
        check_url("https://shop.example:8443/")
    with pytest.raises(BlockedAddress, match="port 22"):
        check_url("http://shop.example:22/")
    assert check_url("https://shop.example:8443/", ports=frozenset({443, 8443})) == "https://shop.example:8443/"


@pytest.mark.parametrize("url", ["http://xn--a{b/", "http://\u00fc{x/", "http://xn--a/", "http://xn--zz.example/"])
def test_undecodable_international_names_are_invalid_not_a_crash(url: str) -> None:
    with pytest.raises(InvalidURL) as caught:
        check_url(url.encode().decode("unicode_escape"))
    assert str(caught.value).isascii() and "\n" not in str(caught.value)


@pytest.mark.parametrize(
    "url",
    [
        "",
        "   ",
        "ftp://shop.example/",
        "file:///etc/passwd",
        "javascript:alert(1)",
        "gopher://shop.example/",
        "shop.example",
        "//shop.example/",
        "http:///path",
        "http://shop example.com/",
        "http://exa..mple.com/",
        "http://%6c%6fcalhost/",
        "http://[::1/",
        "http://shop.example/" + "a" * 2048,
    ],
)
def test_malformed_urls_are_invalid(url: str) -> None:
    with pytest.raises(InvalidURL):
        check_url(url)


@pytest.mark.parametrize(
    ("url", "expected"),
    [
        ("http://shop.example/", "http://shop.example/"),
        ("HTTPS://Shop.EXAMPLE", "https://shop.example/"),
        ("http://shop.example:80/a?b=1#frag", "http://shop.example/a?b=1"),
        ("https://shop.example:443/", "https://shop.example/"),
        ("http://bücher.de/", "http://xn--bcher-kva.de/"),
        ("http://8.8.8.8/", "http://8.8.8.8/"),
        ("http://134744072/", "http://8.8.8.8/"),  # decimal form of a public address
        ("http://[2606:4700:4700::1111]/", "http://[2606:4700:4700::1111]/"),
        ("http://[::ffff:8.8.8.8]/", "http://[::ffff:8.8.8.8]/"),  # mapped public address is fine
        ("http://cafe.be/", "http://cafe.be/"),  # hex-looking name is still a name
        ("http://localhost.shop.example/", "http://localhost.shop.example/"),
    ],
)
def test_public_urls_are_allowed_and_normalised(url: str, expected: str) -> None:
    assert check_url(url) == expected


def test_url_length_limit() -> None:
    base = "http://shop.example/"
    assert check_url(base + "a" * (2048 - len(base))) == base + "a" * (2048 - len(base))
    with pytest.raises(InvalidURL, match="too long"):
        check_url(base + "a" * (2049 - len(base)))


@pytest.mark.parametrize(
    "ip",
    [
        "127.0.0.1",
        "10.0.0.1",
        "172.31.255.255",
        "192.168.0.1",
        "169.254.169.254",
        "100.64.0.1",
        "100.127.255.255",
        "224.0.0.251",
        "0.0.0.0",
        "192.0.2.1",
        "198.51.100.1",
        "203.0.113.1",
        "::1",
        "::",
        "fe80::1",
        "fc00::1",
        "fd12:3456::1",
        "fec0::1",
        "ff02::1",
        "2001:db8::1",
        "::ffff:10.0.0.1",
        "::ffff:127.0.0.1",
        "64:ff9b::a00:1",
        "2002:c0a8:101::",
        "192.0.0.192",
        "192.0.0.8",
        "198.18.0.1",
        "2001::1",  # Teredo
        "5f00::1",
        "100::1",
    ],
)
def test_forbidden_ips(ip: str) -> None:
    assert is_forbidden_ip(ip)
    assert forbidden_reason(ip)


@pytest.mark.parametrize(
    "ip",
    [
        "8.8.8.8",
        "1.1.1.1",
        PUBLIC_IP,
        "100.128.0.1",
        "2606:4700:4700::1111",
        "::ffff:8.8.8.8",
        "64:ff9b::808:808",
    ],
)
def test_public_ips(ip: str) -> None:
    assert not is_forbidden_ip(ip)


def test_reasons_are_specific() -> None:
    assert forbidden_reason("169.254.169.254") == "cloud metadata"
    assert forbidden_reason("192.0.0.192") == "cloud metadata"
    assert forbidden_reason("fd00:ec2::254") == "cloud metadata"
    assert forbidden_reason("169.254.1.1") == "link-local"
    assert forbidden_reason("::ffff:127.0.0.1") == "IPv4-mapped loopback"
    assert forbidden_reason("100.64.0.1") == "shared address space (carrier-grade NAT)"


@pytest.fixture
def dns(monkeypatch: pytest.MonkeyPatch) -> dict[str, list[str]]:
    """A fake resolver: host -> addresses; unknown hosts do not resolve."""
    table: dict[str, list[str]] = {}

    async def fake_getaddrinfo(host: str, port: int) -> list[str]:
        if host not in table:
            import socket

            raise socket.gaierror(-2, "Name or service not known")
        return table[host]

    monkeypatch.setattr(guard, "_getaddrinfo", fake_getaddrinfo)
    return table


async def test_resolve_checked(dns: dict[str, list[str]]) -> None:
    dns["shop.example"] = [PUBLIC_IP, PUBLIC_IP, "2606:4700:4700::1111"]
    assert await resolve_checked("shop.example", 443) == [PUBLIC_IP, "2606:4700:4700::1111"]

    dns["mixed.example"] = [PUBLIC_IP, "10.0.0.5"]  # ANY forbidden address refuses the host
    with pytest.raises(BlockedAddress, match=r"mixed\.example: it resolves to a private address$") as caught:
        await resolve_checked("mixed.example", 80)
    assert "10.0.0.5" not in str(caught.value)  # which rule refused, never what the name resolves to
    assert await resolve_checked("mixed.example", 80, allow_private=True) == [PUBLIC_IP, "10.0.0.5"]

    with pytest.raises(UnresolvableHost, match="could not resolve nowhere.example: name or service not known"):
        await resolve_checked("nowhere.example", 80)
    with pytest.raises(BlockedAddress, match="loopback"):
        await resolve_checked("127.0.0.1", 80)


class _RecordingBackend(httpcore.AsyncNetworkBackend):
    def __init__(self, failing: set[str] = frozenset()) -> None:  # type: ignore[assignment]
        self.connected: list[str] = []
        self.failing = failing

    async def connect_tcp(self, host: str, port: int, timeout=None, local_address=None, socket_options=None):  # type: ignore[no-untyped-def]
        self.connected.append(host)
        if host in self.failing:
            raise httpcore.ConnectError("[Errno 111] Connection refused")
        return httpcore.AsyncMockStream([])

    async def sleep(self, seconds: float) -> None:
        pass


async def test_backend_connects_to_the_address_it_checked(dns: dict[str, list[str]]) -> None:
    dns["shop.example"] = [PUBLIC_IP, "8.8.8.8"]
    inner = _RecordingBackend(failing={PUBLIC_IP})
    await GuardedBackend(inner).connect_tcp("shop.example", 443, timeout=5)
    assert inner.connected == [PUBLIC_IP, "8.8.8.8"]  # never the name: no second resolution


async def test_backend_refuses_before_connecting(dns: dict[str, list[str]]) -> None:
    dns["rebind.example"] = ["127.0.0.1"]
    inner = _RecordingBackend()
    with pytest.raises(BlockedAddress, match="rebind.example"):
        await GuardedBackend(inner).connect_tcp("rebind.example", 80)
    with pytest.raises(BlockedAddress, match="unix socket"):
        await GuardedBackend(inner).connect_unix_socket("/var/run/docker.sock")
    assert inner.connected == []


@pytest.fixture
def local_server() -> Iterator[tuple[int, list[str]]]:
    """A real HTTP server on 127.0.0.1; yields its port and the paths it was asked for."""
    seen: list[str] = []

    class Handler(http.server.BaseHTTPRequestHandler):
        def do_GET(self) -> None:
            seen.append(self.path)
            body = b"<html>private</html>"
            self.send_response(200)
            self.send_header("Content-Type", "text/html")
            self.send_header("Content-Length", str(len(body)))
            self.end_headers()
            self.wfile.write(body)

        def log_message(self, *args: object) -> None:
            pass

    server = http.server.ThreadingHTTPServer(("127.0.0.1", 0), Handler)
    thread = threading.Thread(target=server.serve_forever, daemon=True)
    thread.start()
    try:
        yield server.server_address[1], seen
    finally:
        server.shutdown()
        server.server_close()
        thread.join()


async def test_name_resolving_to_loopback_is_refused_at_connect_time(
    local_server: tuple[int, list[str]], dns: dict[str, list[str]]
) -> None:
    port, seen = local_server
    dns["rebind.example"] = ["127.0.0.1"]  # passes check_url (a name), resolves private at connect
    async with LiveFetcher(limits=ANY_PORT_LIMITS) as fetcher:
        with pytest.raises(BlockedAddress, match=r"refused to contact rebind\.example: it resolves to a loopback"):
            await fetcher.fetch(f"http://rebind.example:{port}/secret")
    assert seen == []  # the server was never reached


async def test_dns_rebinding_between_check_and_connect_is_caught(
    local_server: tuple[int, list[str]], monkeypatch: pytest.MonkeyPatch
) -> None:
    port, seen = local_server
    answers = iter([[PUBLIC_IP], ["127.0.0.1"]])  # public when checked, loopback when connecting

    async def rebinding_getaddrinfo(host: str, port: int) -> list[str]:
        return next(answers)

    monkeypatch.setattr(guard, "_getaddrinfo", rebinding_getaddrinfo)
    assert await resolve_checked("rebind.example", port) == [PUBLIC_IP]  # e.g. the API's pre-check
    async with LiveFetcher(limits=ANY_PORT_LIMITS) as fetcher:
        with pytest.raises(BlockedAddress, match="loopback"):
            await fetcher.fetch(f"http://rebind.example:{port}/")
    assert seen == []


async def test_allow_private_reaches_local_server(local_server: tuple[int, list[str]]) -> None:
    port, seen = local_server
    async with LiveFetcher(allow_private=True) as fetcher:
        result = await fetcher.fetch(f"http://127.0.0.1:{port}/page")
    assert result.status == 200
    assert result.body == b"<html>private</html>"
    assert seen == ["/page"]


async def test_guarded_fetch_of_local_ip_is_refused_statically(local_server: tuple[int, list[str]]) -> None:
    port, seen = local_server
    async with LiveFetcher() as fetcher:
        with pytest.raises(BlockedAddress):
            await fetcher.fetch(f"http://127.0.0.1:{port}/page")
    assert seen == []


async def test_redirect_to_forbidden_target_is_not_followed(httpx_mock: HTTPXMock) -> None:
    httpx_mock.add_response(
        url="http://shop.example/", status_code=302, headers={"Location": "http://169.254.169.254/latest/"}
    )
    async with LiveFetcher() as fetcher:
        with pytest.raises(BlockedAddress, match="cloud metadata") as caught:
            await fetcher.fetch("http://shop.example/")
    partial = partial_fetch(caught.value)
    assert partial is not None
    assert [hop.status for hop in partial.exchanges] == [302]
    assert partial.failed_url == "http://169.254.169.254/latest/"
    assert len(httpx_mock.get_requests()) == 1


async def test_redirect_to_localhost_name_is_not_followed(httpx_mock: HTTPXMock) -> None:
    httpx_mock.add_response(url="http://shop.example/", status_code=301, headers={"Location": "http://localhost/"})
    async with LiveFetcher() as fetcher:
        with pytest.raises(BlockedAddress, match="localhost"):
            await fetcher.fetch("http://shop.example/")


async def test_invalid_redirect_target_is_a_fetch_error(httpx_mock: HTTPXMock) -> None:
    httpx_mock.add_response(url="http://shop.example/", status_code=301, headers={"Location": "http://exa..mple/"})
    async with LiveFetcher() as fetcher:
        with pytest.raises(FetchError, match="refused redirect"):
            await fetcher.fetch("http://shop.example/")


def _make_certificate(directory: Path, name: str) -> tuple[Path, Path]:
    cert, key = directory / f"{name}.pem", directory / f"{name}.key"
    subprocess.run(
        ["openssl", "req", "-x509", "-newkey", "rsa:2048", "-nodes", "-days", "1", "-subj", f"/CN={name}"]
        + ["-addext", f"subjectAltName=DNS:{name}", "-keyout", str(key), "-out", str(cert)],
        check=True,
        capture_output=True,
    )
    return cert, key


@pytest.fixture
def tls_server(tmp_path: Path) -> Iterator[tuple[int, Path]]:
    """An HTTPS server on 127.0.0.1 with a self-signed certificate for `shop.test`."""
    if shutil.which("openssl") is None:
        pytest.skip("needs the openssl command to make a certificate")
    cert, key = _make_certificate(tmp_path, "shop.test")

    class Handler(http.server.BaseHTTPRequestHandler):
        def do_GET(self) -> None:
            self.send_response(200)
            self.send_header("Content-Length", "2")
            self.end_headers()
            self.wfile.write(b"ok")

        def log_message(self, *args: object) -> None:
            pass

    server = http.server.ThreadingHTTPServer(("127.0.0.1", 0), Handler)
    context = ssl.SSLContext(ssl.PROTOCOL_TLS_SERVER)
    context.load_cert_chain(cert, key)
    server.socket = context.wrap_socket(server.socket, server_side=True)
    thread = threading.Thread(target=server.serve_forever, daemon=True)
    thread.start()
    try:
        yield server.server_address[1], cert
    finally:
        server.shutdown()
        server.server_close()
        thread.join()


async def test_guarded_https_verifies_the_name_while_connecting_to_the_checked_ip(
    tls_server: tuple[int, Path], dns: dict[str, list[str]], monkeypatch: pytest.MonkeyPatch
) -> None:
    port, cert = tls_server
    dns["shop.test"] = ["127.0.0.1"]
    real_reason = guard.forbidden_reason
    # let this test's loopback server count as public, so the guarded path is the one exercised
    monkeypatch.setattr(
        guard, "forbidden_reason", lambda ip, **kw: None if str(ip) == "127.0.0.1" else real_reason(ip, **kw)
    )
    async with LiveFetcher(ca_bundle=str(cert), limits=ANY_PORT_LIMITS) as fetcher:
        result = await fetcher.fetch(f"https://shop.test:{port}/")
    assert (result.status, result.body) == (200, b"ok")

    dns["wrong-name.test"] = ["127.0.0.1"]
    async with LiveFetcher(ca_bundle=str(cert), limits=ANY_PORT_LIMITS) as fetcher:
        with pytest.raises(TLSFailed, match="could not connect to wrong-name.test: certificate verify failed"):
            await fetcher.fetch(f"https://wrong-name.test:{port}/")
