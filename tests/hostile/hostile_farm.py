"""A farm of misbehaving HTTP servers on 127.0.0.1, for the hostile-web tests and `bench/hostile_audit.py`.

Each server listens on its own ephemeral port (port 0) and misbehaves in one way; `healthy` serves a fixture site
from `fixtures/sites/<id>/pages/`. The servers only listen: none of them ever opens a connection anywhere, and
the redirects they answer point at addresses the fetcher must refuse (or that tests intercept).

Run in-process (`Farm().start()` runs an event loop in a thread) or as a program that prints the URLs as one JSON
line and serves until its standard input closes: `python tests/hostile/hostile_farm.py --site <dir>`.
"""

from __future__ import annotations

import argparse
import asyncio
import json
import random
import socket
import struct
import sys
import threading
import zlib
from collections.abc import Awaitable, Callable
from dataclasses import dataclass
from pathlib import Path

ROOT = Path(__file__).resolve().parents[2]
HEALTHY_SITE = ROOT / "fixtures" / "sites" / "hold-wrenfield"
MB = 1024 * 1024

# What each server must produce: an `error.type`, or (for servers whose pages can be judged) a verdict set.
EXPECTED: dict[str, str] = {
    "slow_drip": "timeout",
    "silent": "timeout",
    "reset_mid_body": "protocol_error",
    "not_http": "protocol_error",
    "huge_headers": "too_large",
    "big_body": "too_large",
    "gzip_bomb": "too_large",
    "endless_chunked": "too_large",
    "redirect_loop": "redirect_loop",
    "redirect_chain": "too_many_redirects",
    "to_link_local": "blocked_address",
    "to_metadata_v6": "blocked_address",
    "bad_charset": "no_content",  # binary garbage: nothing readable to judge
    "pdf": "not_html",
    "status_500": "http_error",
    "status_503": "http_error",
    "status_429": "http_error",
    "robots_disallow": "robots_disallowed",
    "tarpit": "timeout",
}
# Servers whose misbehaviour needs a site that looks public (the tests route a public address to them): from a
# loopback start, `allow_private` rightly lets a redirect reach a private address.
FROM_PUBLIC: dict[str, str] = {"to_private": "blocked_address", "to_loopback": "blocked_address"}
PHARMACY_VERDICTS = frozenset({"legitimate", "suspicious", "rogue"})

Handler = Callable[[asyncio.StreamReader, asyncio.StreamWriter, str], Awaitable[None]]


@dataclass
class FarmSettings:
    drip_interval: float = 1.0  # seconds between the bytes of `slow_drip`
    tarpit_interval: float = 2.0  # seconds between the header lines of `tarpit`
    big_body_bytes: int = 300 * MB
    bomb_bytes: int = 200 * MB  # what the gzip bomb inflates to
    header_bytes: int = 8 * MB


class Farm:
    """The hostile servers, run by an event loop in a background thread. `urls` maps each server to its URL."""

    def __init__(self, settings: FarmSettings | None = None, site: Path = HEALTHY_SITE) -> None:
        self.settings = settings or FarmSettings()
        self.site = site
        self.urls: dict[str, str] = {}
        self._loop = asyncio.new_event_loop()
        self._thread = threading.Thread(target=self._loop.run_forever, name="hostile-farm", daemon=True)
        self._servers: list[asyncio.Server] = []
        self._bomb = _gzip_of_zeros(self.settings.bomb_bytes)
        self._garbage = bytes(b for b in random.Random(8).randbytes(20_000) if b not in b" \t\r\n\x0b\x0c<>&")

    def start(self) -> dict[str, str]:
        self._thread.start()
        asyncio.run_coroutine_threadsafe(self._start_all(), self._loop).result(timeout=30)
        return self.urls

    def stop(self) -> None:
        asyncio.run_coroutine_threadsafe(self._stop_all(), self._loop).result(timeout=30)
        self._loop.call_soon_threadsafe(self._loop.stop)
        self._thread.join(timeout=30)
        self._loop.close()

    def __enter__(self) -> Farm:
        self.start()
        return self

    def __exit__(self, *exc: object) -> None:
        self.stop()

    async def _start_all(self) -> None:
        handlers: dict[str, Handler] = {name: getattr(self, name) for name in [*EXPECTED, *FROM_PUBLIC, "healthy"]}
        for name, handler in handlers.items():
            server = await asyncio.start_server(_serving(handler), "127.0.0.1", 0, limit=64 * 1024)
            self._servers.append(server)
            port = server.sockets[0].getsockname()[1]
            self.urls[name] = f"http://127.0.0.1:{port}/"

    async def _stop_all(self) -> None:
        for server in self._servers:
            server.close()
        for task in asyncio.all_tasks():
            if task is not asyncio.current_task():
                task.cancel()

    # --- the servers: each gets the request's path ---

    async def healthy(self, reader: asyncio.StreamReader, writer: asyncio.StreamWriter, path: str) -> None:
        pages = (self.site / "pages").resolve()
        relative = path.split("?", 1)[0].lstrip("/")
        target = (pages / relative).resolve()
        if target.is_dir():
            target = target / "index.html"
        if not target.is_relative_to(pages) or not target.is_file():
            await _answer(writer, 404, [("Content-Type", "text/plain")], b"not found")
            return
        body = target.read_bytes()
        kind = "text/plain" if target.suffix == ".txt" else "text/html; charset=utf-8"
        await _answer(writer, 200, [("Content-Type", kind)], body)

    async def slow_drip(self, reader: asyncio.StreamReader, writer: asyncio.StreamWriter, path: str) -> None:
        await _head(writer, 200, [("Content-Type", "text/html"), ("Content-Length", "100000")])
        for _ in range(100_000):
            writer.write(b"a")
            await writer.drain()
            await asyncio.sleep(self.settings.drip_interval)

    async def silent(self, reader: asyncio.StreamReader, writer: asyncio.StreamWriter, path: str) -> None:
        await asyncio.sleep(3600)

    async def reset_mid_body(self, reader: asyncio.StreamReader, writer: asyncio.StreamWriter, path: str) -> None:
        await _head(writer, 200, [("Content-Type", "text/html"), ("Content-Length", "100000")])
        writer.write(b"<html><body>" + b"x" * 2000)
        await writer.drain()
        sock = writer.get_extra_info("socket")
        sock.setsockopt(socket.SOL_SOCKET, socket.SO_LINGER, struct.pack("ii", 1, 0))  # close sends RST
        writer.transport.abort()

    async def not_http(self, reader: asyncio.StreamReader, writer: asyncio.StreamWriter, path: str) -> None:
        writer.write(b"SSH-2.0-OpenSSH_9.6\r\n" + self._garbage[:500] + b"\r\n\r\n")
        await writer.drain()

    async def huge_headers(self, reader: asyncio.StreamReader, writer: asyncio.StreamWriter, path: str) -> None:
        writer.write(b"HTTP/1.1 200 OK\r\nContent-Type: text/html\r\n")
        line = b"X-Filler: " + b"f" * 1000 + b"\r\n"
        for _ in range(self.settings.header_bytes // len(line)):
            writer.write(line)
            await writer.drain()
        writer.write(b"Content-Length: 2\r\n\r\nhi")
        await writer.drain()

    async def big_body(self, reader: asyncio.StreamReader, writer: asyncio.StreamWriter, path: str) -> None:
        size = self.settings.big_body_bytes
        await _head(writer, 200, [("Content-Type", "text/html"), ("Content-Length", str(size))])
        chunk = b"<p>" + b"pills " * 10_000 + b"</p>\n"
        sent = 0
        while sent < size:  # generated on the fly, never held
            piece = chunk[: size - sent]
            writer.write(piece)
            await writer.drain()
            sent += len(piece)

    async def gzip_bomb(self, reader: asyncio.StreamReader, writer: asyncio.StreamWriter, path: str) -> None:
        headers = [("Content-Type", "text/html"), ("Content-Encoding", "gzip")]
        await _answer(writer, 200, headers, self._bomb)

    async def endless_chunked(self, reader: asyncio.StreamReader, writer: asyncio.StreamWriter, path: str) -> None:
        await _head(writer, 200, [("Content-Type", "text/html"), ("Transfer-Encoding", "chunked")])
        chunk = b"<p>" + b"more " * 6000 + b"</p>"
        frame = f"{len(chunk):x}\r\n".encode() + chunk + b"\r\n"
        while True:
            writer.write(frame)
            await writer.drain()

    async def redirect_loop(self, reader: asyncio.StreamReader, writer: asyncio.StreamWriter, path: str) -> None:
        await _redirect(writer, "/b" if path == "/" else "/")

    async def redirect_chain(self, reader: asyncio.StreamReader, writer: asyncio.StreamWriter, path: str) -> None:
        hop = int(path.rsplit("/", 1)[-1]) if path.startswith("/hop/") else 0
        if hop >= 100:
            await _answer(writer, 200, [("Content-Type", "text/html")], b"<p>the end</p>")
        else:
            await _redirect(writer, f"/hop/{hop + 1}")

    async def to_link_local(self, reader: asyncio.StreamReader, writer: asyncio.StreamWriter, path: str) -> None:
        await _redirect(writer, "http://169.254.169.254/latest/meta-data/")

    async def to_metadata_v6(self, reader: asyncio.StreamReader, writer: asyncio.StreamWriter, path: str) -> None:
        await _redirect(writer, "http://[fd00:ec2::254]/latest/meta-data/")

    async def to_private(self, reader: asyncio.StreamReader, writer: asyncio.StreamWriter, path: str) -> None:
        await _redirect(writer, "http://10.0.0.1/admin")

    async def to_loopback(self, reader: asyncio.StreamReader, writer: asyncio.StreamWriter, path: str) -> None:
        await _redirect(writer, "http://localhost/admin")

    async def bad_charset(self, reader: asyncio.StreamReader, writer: asyncio.StreamWriter, path: str) -> None:
        await _answer(writer, 200, [("Content-Type", "text/html; charset=x-no-such-charset")], self._garbage)

    async def pdf(self, reader: asyncio.StreamReader, writer: asyncio.StreamWriter, path: str) -> None:
        body = b"%PDF-1.4\n%\xe2\xe3\xcf\xd3\n" + self._garbage[:2000]
        await _answer(writer, 200, [("Content-Type", "application/pdf")], body)

    async def status_500(self, reader: asyncio.StreamReader, writer: asyncio.StreamWriter, path: str) -> None:
        await _answer(writer, 500, [("Content-Type", "text/html")], b"<h1>Internal Server Error</h1>")

    async def status_503(self, reader: asyncio.StreamReader, writer: asyncio.StreamWriter, path: str) -> None:
        headers = [("Content-Type", "text/html"), ("Retry-After", "3600")]
        await _answer(writer, 503, headers, b"<h1>Come back in an hour</h1>")

    async def status_429(self, reader: asyncio.StreamReader, writer: asyncio.StreamWriter, path: str) -> None:
        await _answer(writer, 429, [("Content-Type", "text/html")], b"<h1>Too Many Requests</h1>")

    async def robots_disallow(self, reader: asyncio.StreamReader, writer: asyncio.StreamWriter, path: str) -> None:
        if path == "/robots.txt":
            await _answer(writer, 200, [("Content-Type", "text/plain")], b"User-agent: *\nDisallow: /\n")
        else:
            await self.healthy(reader, writer, path)

    async def tarpit(self, reader: asyncio.StreamReader, writer: asyncio.StreamWriter, path: str) -> None:
        writer.write(b"HTTP/1.1 200 OK\r\n")
        for n in range(100_000):
            await writer.drain()
            await asyncio.sleep(self.settings.tarpit_interval)
            writer.write(f"X-Tarpit-{n}: wait\r\n".encode())


def _serving(handler: Handler) -> Callable[[asyncio.StreamReader, asyncio.StreamWriter], Awaitable[None]]:
    async def serve(reader: asyncio.StreamReader, writer: asyncio.StreamWriter) -> None:
        try:
            while True:  # keep-alive: answer requests until the client goes
                try:
                    head = await reader.readuntil(b"\r\n\r\n")
                except (asyncio.IncompleteReadError, asyncio.LimitOverrunError):
                    return
                parts = head.split(b"\r\n", 1)[0].split()
                path = parts[1].decode("latin-1") if len(parts) >= 2 else "/"
                await handler(reader, writer, path)
                if writer.is_closing():
                    return
        except (ConnectionError, asyncio.CancelledError, OSError):
            pass
        finally:
            writer.transport.abort()

    return serve


async def _head(writer: asyncio.StreamWriter, status: int, headers: list[tuple[str, str]]) -> None:
    lines = [f"HTTP/1.1 {status} X"] + [f"{k}: {v}" for k, v in headers]
    writer.write(("\r\n".join(lines) + "\r\n\r\n").encode("latin-1"))
    await writer.drain()


async def _answer(writer: asyncio.StreamWriter, status: int, headers: list[tuple[str, str]], body: bytes) -> None:
    if not any(k.lower() == "content-length" for k, _ in headers):
        headers = [*headers, ("Content-Length", str(len(body)))]
    await _head(writer, status, headers)
    writer.write(body)
    await writer.drain()


async def _redirect(writer: asyncio.StreamWriter, location: str) -> None:
    await _answer(writer, 302, [("Location", location), ("Content-Type", "text/html")], b"<a>moved</a>")


def _gzip_of_zeros(size: int) -> bytes:
    packer = zlib.compressobj(9, zlib.DEFLATED, zlib.MAX_WBITS | 16)
    block = bytes(MB)
    parts = [packer.compress(block) for _ in range(size // MB)]
    parts.append(packer.flush())
    return b"".join(parts)


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--site", type=Path, default=HEALTHY_SITE, help="fixture site served by `healthy`")
    args = parser.parse_args()
    farm = Farm(site=args.site)
    print(json.dumps(farm.start()), flush=True)
    try:
        sys.stdin.read()  # serve until the parent closes our standard input (or kills us)
    finally:
        farm.stop()


if __name__ == "__main__":
    main()
