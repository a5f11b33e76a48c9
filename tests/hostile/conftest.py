"""Fixtures for the hostile-web tests: the farm, and the guarantee that no packet leaves loopback.

How "no packet leaves loopback, even when the guard under test is broken" is guaranteed: `loopback_only` (autouse)
replaces `socket.socket.connect`, `socket.socket.connect_ex` and `socket.getaddrinfo` for the whole test process
while each test runs. Every outbound TCP/UDP connection Python makes, whichever library makes it (httpx, httpcore,
anyio and asyncio all end in `socket.socket.connect`), and every name lookup, passes through them. An address
outside 127.0.0.0/8 and ::1, or a name other than `localhost`, is recorded and refused with ENETUNREACH before any
system call is made; the test then fails on the recorded attempt. So a guard that wrongly lets a redirect to
169.254.169.254 or 10.0.0.1 through makes the test fail, and still sends nothing. Names the tests need are answered
by a stub resolver (`dns`), and "public" addresses by `public_route`, which connects them to a farm server on
127.0.0.1 instead.
"""

from __future__ import annotations

import errno
import ipaddress
import socket
from collections.abc import Iterator
from typing import Any

import httpcore
import pytest
from hostile_farm import PUBLIC_IP, Farm, FarmSettings

from rxcheck.fetch import guard


def _is_loopback(host: Any) -> bool:
    if host in (None, "localhost"):
        return True
    try:
        return ipaddress.ip_address(str(host).split("%", 1)[0]).is_loopback
    except ValueError:
        return False


@pytest.fixture(autouse=True)
def loopback_only(monkeypatch: pytest.MonkeyPatch) -> Iterator[list[str]]:
    """Refuse and record every connection or lookup that would leave loopback (see the module docstring)."""
    attempts: list[str] = []
    real_connect, real_connect_ex = socket.socket.connect, socket.socket.connect_ex
    real_getaddrinfo = socket.getaddrinfo

    def allowed(sock: socket.socket, address: Any) -> bool:
        if sock.family == socket.AF_UNIX:
            return True
        host = address[0] if isinstance(address, tuple) else address
        if _is_loopback(host):
            return True
        attempts.append(f"connect {address!r}")
        return False

    def connect(self: socket.socket, address: Any) -> None:
        if not allowed(self, address):
            raise OSError(errno.ENETUNREACH, "refused by the test: not loopback")
        return real_connect(self, address)

    def connect_ex(self: socket.socket, address: Any) -> int:
        if not allowed(self, address):
            return errno.ENETUNREACH
        return real_connect_ex(self, address)

    def getaddrinfo(host: Any, *args: Any, **kwargs: Any) -> Any:
        if not _is_loopback(host.decode() if isinstance(host, bytes) else host):
            attempts.append(f"getaddrinfo {host!r}")
            raise socket.gaierror(socket.EAI_NONAME, "refused by the test: not loopback")
        return real_getaddrinfo(host, *args, **kwargs)

    monkeypatch.setattr(socket.socket, "connect", connect)
    monkeypatch.setattr(socket.socket, "connect_ex", connect_ex)
    monkeypatch.setattr(socket, "getaddrinfo", getaddrinfo)
    yield attempts
    assert attempts == [], f"the code under test tried to leave loopback: {attempts}"


@pytest.fixture
def dns(monkeypatch: pytest.MonkeyPatch) -> dict[str, list[str]]:
    """A stub resolver for the guard: host -> addresses; other names do not resolve."""
    table: dict[str, list[str]] = {}

    async def fake_getaddrinfo(host: str, port: int) -> list[str]:
        if host in table:
            return table[host]
        if _is_loopback(host):
            return ["127.0.0.1"]
        raise socket.gaierror(socket.EAI_NONAME, "Name or service not known")

    monkeypatch.setattr(guard, "_getaddrinfo", fake_getaddrinfo)
    return table


@pytest.fixture
def public_route(monkeypatch: pytest.MonkeyPatch) -> dict[int, int]:
    """Connections the guard lets through to PUBLIC_IP:<port> go to 127.0.0.1:<route[port]> instead."""
    route: dict[int, int] = {}
    real = httpcore.AnyIOBackend.connect_tcp

    async def connect_tcp(self: Any, host: str, port: int, *args: Any, **kwargs: Any) -> Any:
        if host == PUBLIC_IP and port in route:
            host, port = "127.0.0.1", route[port]
        return await real(self, host, port, *args, **kwargs)

    monkeypatch.setattr(httpcore.AnyIOBackend, "connect_tcp", connect_tcp)
    return route


@pytest.fixture(scope="session")
def farm() -> Iterator[Farm]:
    """The hostile servers, with short intervals so the suite stays fast."""
    settings = FarmSettings(drip_interval=0.3, tarpit_interval=0.4, big_body_bytes=300 * 1024 * 1024)
    with Farm(settings) as running:
        yield running
