"""Slow and oversized clients against a real uvicorn (the configuration `rxcheck serve` uses) on 127.0.0.1:0.

Raw sockets, because an HTTP client library will not send a trickled or a 1 MB header block. Deadlines are set to
a second here; each test sends for far longer than that and asserts the server cut it off, not when.
"""

from __future__ import annotations

import contextlib
import json
import re
import select
import socket
import threading
import time
from collections.abc import Callable, Iterator
from pathlib import Path

import pytest
import uvicorn
from api_doubles import FakeChecker, FakeFetcher, settings_for

from rxcheck.api.app import create_app
from rxcheck.api.server import uvicorn_config

GIVE_UP_S = 30.0  # far past every deadline below: reaching it means the server never cut the client off


@pytest.fixture(scope="module")
def server_port(tmp_path_factory: pytest.TempPathFactory) -> Iterator[int]:
    settings = settings_for(
        tmp_path_factory.mktemp("limits"), header_timeout_s=1.0, body_timeout_s=1.0, keep_alive_s=1.0, max_headers=50
    )
    app = create_app(settings, checker=FakeChecker(), fetcher=FakeFetcher())
    server = uvicorn.Server(uvicorn_config(app, settings, host="127.0.0.1", port=0, log_level="warning"))
    thread = threading.Thread(target=server.run, daemon=True)
    thread.start()
    deadline = time.monotonic() + 20
    while not server.started:
        assert thread.is_alive() and time.monotonic() < deadline, "the server did not start"
        time.sleep(0.05)
    port = server.servers[0].sockets[0].getsockname()[1]
    yield port
    server.should_exit = True
    thread.join(timeout=10)


def _connect(port: int) -> socket.socket:
    return socket.create_connection(("127.0.0.1", port), timeout=GIVE_UP_S)


def _read_until_closed(sock: socket.socket) -> bytes:
    """Everything the server sends until it closes the connection (a reset counts as closed)."""
    received = b""
    sock.settimeout(GIVE_UP_S)
    try:
        while chunk := sock.recv(65536):
            received += chunk
    except ConnectionResetError:
        pass
    return received


def _trickle(sock: socket.socket, pieces: Callable[[int], bytes]) -> bool:
    """Send `pieces(i)` every 50 ms until the server closes the connection (True) or GIVE_UP_S pass (False)."""
    give_up = time.monotonic() + GIVE_UP_S
    i = 0
    while time.monotonic() < give_up:
        try:
            sock.sendall(pieces(i))
        except (BrokenPipeError, ConnectionResetError):
            return True
        readable, _, _ = select.select([sock], [], [], 0.05)
        if readable:
            return True
        i += 1
    return False


def test_a_normal_request_passes_with_the_security_headers(server_port: int) -> None:
    with _connect(server_port) as sock:
        sock.sendall(b"GET /healthz HTTP/1.1\r\nHost: rx\r\nConnection: close\r\n\r\n")
        response = _read_until_closed(sock)

    head, _, body = response.partition(b"\r\n\r\n")
    assert head.startswith(b"HTTP/1.1 200")
    assert b"x-content-type-options: nosniff" in head.lower()
    assert json.loads(body)["status"] == "ok"


def test_a_client_trickling_its_headers_is_answered_408_and_cut_off(server_port: int) -> None:
    with _connect(server_port) as sock:
        sock.sendall(b"GET /healthz HTTP/1.1\r\nHost: rx\r\n")

        cut_off = _trickle(sock, lambda i: f"X-Slow-{i}: a\r\n".encode())
        response = _read_until_closed(sock)

    assert cut_off
    assert response.startswith(b"HTTP/1.1 408")
    assert json.loads(response.partition(b"\r\n\r\n")[2])["error"]["code"] == "request_timeout"


def test_many_slow_clients_are_all_cut_off(server_port: int) -> None:
    sockets = [_connect(server_port) for _ in range(20)]
    try:
        for sock in sockets:
            sock.sendall(b"GET /v1/rules HTTP/1.1\r\nHost: rx\r\nX-Slow: ")
        open_ = list(sockets)
        give_up = time.monotonic() + GIVE_UP_S
        while open_ and time.monotonic() < give_up:
            for sock in list(open_):
                try:
                    sock.sendall(b"a")
                except (BrokenPipeError, ConnectionResetError):
                    open_.remove(sock)
            readable, _, _ = select.select(open_, [], [], 0.1)
            for sock in readable:
                open_.remove(sock)
        assert open_ == []
        assert all(_read_until_closed(sock).startswith(b"HTTP/1.1 408") for sock in sockets)
    finally:
        for sock in sockets:
            sock.close()


def test_a_connection_that_sends_nothing_is_closed(server_port: int) -> None:
    with _connect(server_port) as sock:
        assert _read_until_closed(sock) == b""


def test_a_client_trickling_its_body_is_cut_off(server_port: int) -> None:
    head = b"POST /v1/audits HTTP/1.1\r\nHost: rx\r\nContent-Type: application/json\r\nContent-Length: 100000\r\n\r\n"
    with _connect(server_port) as sock:
        sock.sendall(head + b'{"urls": [')

        assert _trickle(sock, lambda i: b" ")


def test_a_1_mb_header_block_is_refused(server_port: int) -> None:
    with _connect(server_port) as sock:
        sock.sendall(b"GET /healthz HTTP/1.1\r\nHost: rx\r\nX-Big: ")
        try:
            for _ in range(16):
                sock.sendall(b"a" * 65536)
            sock.sendall(b"\r\n\r\n")
        except (BrokenPipeError, ConnectionResetError):
            pass
        response = _read_until_closed(sock)

    assert response.startswith(b"HTTP/1.1 400")  # a head still arriving is refused past max_header_bytes


def test_10000_headers_are_refused(server_port: int) -> None:
    fields = b"".join(b"X-%d: v\r\n" % i for i in range(10_000))
    with _connect(server_port) as sock:
        with contextlib.suppress(BrokenPipeError, ConnectionResetError):
            sock.sendall(b"GET /healthz HTTP/1.1\r\nHost: rx\r\nConnection: close\r\n" + fields + b"\r\n")
        response = _read_until_closed(sock)

    # 400 when a head still arriving passes max_header_bytes; 431 when the head arrived whole in one read
    assert response.startswith((b"HTTP/1.1 400", b"HTTP/1.1 431"))


def test_more_header_fields_than_allowed_in_a_small_block_is_431(server_port: int) -> None:
    fields = b"".join(b"X-%d: v\r\n" % i for i in range(60))  # 60 > max_headers=50, well under 16 KB
    with _connect(server_port) as sock:
        sock.sendall(b"GET /healthz HTTP/1.1\r\nHost: rx\r\nConnection: close\r\n" + fields + b"\r\n")
        response = _read_until_closed(sock)

    head, _, body = response.partition(b"\r\n\r\n")
    assert head.startswith(b"HTTP/1.1 431")
    assert json.loads(body)["error"]["code"] == "request_header_fields_too_large"


def test_a_header_block_over_the_size_limit_that_arrives_whole_is_431(server_port: int) -> None:
    with _connect(server_port) as sock:
        sock.sendall(b"GET /healthz HTTP/1.1\r\nHost: rx\r\nConnection: close\r\nX-Big: " + b"a" * 20_000 + b"\r\n\r\n")
        response = _read_until_closed(sock)

    assert response.startswith(b"HTTP/1.1 431")
    assert b"request headers larger than 16384 bytes" in response


def test_a_keep_alive_client_gets_a_second_request_then_an_idle_close(server_port: int) -> None:
    with _connect(server_port) as sock:
        for _ in range(2):
            sock.sendall(b"GET /healthz HTTP/1.1\r\nHost: rx\r\n\r\n")
            head = b""
            while b"\r\n\r\n" not in head:
                head += sock.recv(65536)
            assert head.startswith(b"HTTP/1.1 200")
        rest = _read_until_closed(sock)  # idle past keep_alive_s: closed

    assert b"HTTP/1.1" not in rest


def test_pipelined_requests_are_all_answered_in_order(server_port: int) -> None:
    request = b"GET /healthz HTTP/1.1\r\nHost: rx\r\n\r\n"
    with _connect(server_port) as sock:
        sock.sendall(request * 2 + b"GET /v1/nothing HTTP/1.1\r\nHost: rx\r\nConnection: close\r\n\r\n")
        response = _read_until_closed(sock)

    assert re.findall(rb"HTTP/1\.1 (\d+) ", response) == [b"200", b"200", b"404"]


def test_the_settings_reach_uvicorn(tmp_path: Path) -> None:
    settings = settings_for(tmp_path, max_header_bytes=32768, keep_alive_s=3.0, header_timeout_s=7.0)
    app = create_app(settings, checker=FakeChecker(), fetcher=FakeFetcher())

    config = uvicorn_config(app, settings, host="127.0.0.1", port=0)

    assert config.http.max_head_bytes == 32768  # type: ignore[union-attr]
    assert config.timeout_keep_alive == 3.0
    assert config.http.header_timeout_s == 7.0  # type: ignore[union-attr]
    assert config.ws == "none"


def test_forwarding_headers_are_trusted_only_from_configured_proxies(tmp_path: Path) -> None:
    app = create_app(settings_for(tmp_path), checker=FakeChecker(), fetcher=FakeFetcher())

    default = uvicorn_config(app, settings_for(tmp_path), host="127.0.0.1", port=0)
    behind = uvicorn_config(app, settings_for(tmp_path, trusted_proxies=("10.1.0.0/16",)), host="127.0.0.1", port=0)

    assert default.proxy_headers is False
    assert (behind.proxy_headers, behind.forwarded_allow_ips) == (True, "10.1.0.0/16")
