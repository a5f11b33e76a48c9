"""Cached verdict lookups through the API: latency percentiles for N concurrent clients.

Starts `rxcheck serve` on 127.0.0.1 replaying the fixture WARC, warms the cache with every fixture site, then sends
`--requests` cached lookups from `--clients` concurrent connections and prints p50/p95/p99/max in milliseconds.

    python bench/api_cached_lookups.py --requests 2000 --clients 50
"""

from __future__ import annotations

import argparse
import asyncio
import os
import socket
import statistics
import subprocess
import sys
import tempfile
import time
from pathlib import Path

import httpx

ROOT = Path(__file__).resolve().parent.parent
URLS = (ROOT / "fixtures" / "urls.txt").read_text().split()


def free_port() -> int:
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        return sock.getsockname()[1]


async def measure(base: str, requests: int, clients: int) -> list[float]:
    async with httpx.AsyncClient(base_url=base, timeout=60) as client:
        for url in URLS:  # warm the cache
            (await client.get("/v1/verdict", params={"url": url})).raise_for_status()
        latencies: list[float] = []
        queue: asyncio.Queue[str] = asyncio.Queue()
        for i in range(requests):
            queue.put_nowait(URLS[i % len(URLS)])

        async def worker() -> None:
            while not queue.empty():
                url = queue.get_nowait()
                start = time.perf_counter()
                response = await client.get("/v1/verdict", params={"url": url})
                latencies.append((time.perf_counter() - start) * 1000)
                assert response.status_code == 200 and response.json()["cache"]["hit"], response.text

        await asyncio.gather(*(worker() for _ in range(clients)))
    return latencies


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--requests", type=int, default=2000)
    parser.add_argument("--clients", type=int, default=50)
    args = parser.parse_args()
    port = free_port()
    with tempfile.TemporaryDirectory() as tmp:
        env = {
            **os.environ,
            "RXCHECK_IP_RATE_PER_MIN": "0",
            "RXCHECK_CRAWL_IP_RATE_PER_MIN": "0",  # the warm-up crawls every fixture site from one address
            "RXCHECK_DB": str(Path(tmp) / "bench.sqlite"),
        }
        server = subprocess.Popen(
            [sys.executable, "-m", "checker", "serve", "--port", str(port), "--replay",
             str(ROOT / "fixtures" / "sites.warc.gz")],
            env=env, stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL,
        )  # fmt: skip
        try:
            base = f"http://127.0.0.1:{port}"
            for _ in range(100):
                try:
                    httpx.get(base + "/healthz", timeout=1)
                    break
                except httpx.HTTPError:
                    time.sleep(0.1)
            latencies = sorted(asyncio.run(measure(base, args.requests, args.clients)))
        finally:
            server.terminate()
            server.wait(10)
    pick = lambda q: latencies[min(len(latencies) - 1, int(q * len(latencies)))]  # noqa: E731
    print(
        f"{len(latencies)} cached lookups, {args.clients} clients: p50 {pick(0.5):.1f} ms, p95 {pick(0.95):.1f} ms, "
        f"p99 {pick(0.99):.1f} ms, max {latencies[-1]:.1f} ms, mean {statistics.mean(latencies):.1f} ms"
    )


if __name__ == "__main__":
    main()
