"""The API figures: cached `GET /v1/verdict` lookups at 64 connections with wrk, beside a minimal FastAPI app, and
a burst of 200 concurrent cached lookups from one address under the default rate limits.

    python -m bench.api_bench [--seconds 10] [--warm 40]

1. `python -m rxcheck.api.server --replay fixtures/sites.warc.gz` on a fresh SQLite file, rate limits off, its cache
   filled with `--warm` fixture sites (one lookup each crawls the replayed site); then `wrk --latency -c 64` sends
   cached lookups for those sites in turn.
2. `python -m bench.api_bench --minimal-app`: a FastAPI app with one route returning the same verdict body (a dict,
   serialised per request as FastAPI does), under the same uvicorn settings as the API
   (`rxcheck.api.server.uvicorn_config`: the same guarded httptools protocol class, one worker, the same log
   level); the same wrk run.
3. The API again on the same database (its cache still filled) with the DEFAULT rate limits: 200 concurrent cached
   lookups from 127.0.0.1 (all should be 200), then 10 concurrent `fresh=true` lookups (crawls: some should be 429).
"""

from __future__ import annotations

import argparse
import asyncio
import json
import os
import re
import subprocess
import sys
import tempfile
import time
from pathlib import Path
from urllib.parse import quote

import httpx

from bench.farm import free_port, wait_for_port

ROOT = Path(__file__).resolve().parent.parent
WARC = ROOT / "fixtures" / "sites.warc.gz"
URLS = (ROOT / "fixtures" / "urls.txt").read_text().split()
WRK = "/usr/bin/wrk"
CONNECTIONS, BURST, FRESH = 64, 200, 10
LOG_LEVEL = "warning"
LIMITS_OFF = {"RXCHECK_IP_RATE_PER_MIN": "0", "RXCHECK_CRAWL_IP_RATE_PER_MIN": "0"}
WRK_SCRIPT = """
paths = {%s}
i = 0
request = function()
  i = i %% #paths + 1
  return wrk.format("GET", paths[i])
end
"""


def start(command: list[str], port: int, env: dict[str, str]) -> subprocess.Popen:
    process = subprocess.Popen(command, env=env, cwd=ROOT, stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL)
    try:
        wait_for_port(port, 60)
    except OSError:
        process.kill()
        raise
    return process


def stop(process: subprocess.Popen) -> None:
    process.terminate()
    process.wait(20)


def api_server(port: int, db: Path, extra_env: dict[str, str]) -> subprocess.Popen:
    env = {k: v for k, v in os.environ.items() if not k.startswith("RXCHECK_")} | extra_env
    command = [sys.executable, "-m", "rxcheck.api.server", "--port", str(port), "--replay", str(WARC), "--db", str(db),
               "--log-level", LOG_LEVEL]  # fmt: skip
    return start(command, port, env)


def verdict_path(url: str) -> str:
    return "/v1/verdict?url=" + quote(url, safe="")


def wrk(port: int, paths: list[str], seconds: int, folder: Path) -> dict:
    """Requests per second, p50 and p99 in ms, and non-2xx answers of one wrk run."""
    script = folder / "lookups.lua"
    script.write_text(WRK_SCRIPT % ", ".join(json.dumps(path) for path in paths))
    out = subprocess.run([WRK, "-t", "2", "-c", str(CONNECTIONS), "-d", f"{seconds}s", "--latency", "-s", str(script),
                          f"http://127.0.0.1:{port}"], capture_output=True, text=True, check=True).stdout  # fmt: skip
    return {
        "requests_per_s": float(re.search(r"Requests/sec:\s+([\d.]+)", out).group(1)),
        "p50_ms": _ms(re.search(r"^\s+50%\s+(\S+)", out, re.MULTILINE).group(1)),  # not "+/- Stdev 88.50%"
        "p99_ms": _ms(re.search(r"^\s+99%\s+(\S+)", out, re.MULTILINE).group(1)),
        "non_2xx": int(m.group(1)) if (m := re.search(r"Non-2xx or 3xx responses:\s+(\d+)", out)) else 0,
        "errors": (m.group(0) if (m := re.search(r"Socket errors:.*", out)) else ""),
    }


def _ms(text: str) -> float:
    value, unit = re.fullmatch(r"([\d.]+)(us|ms|s|m)", text).groups()
    return float(value) * {"us": 0.001, "ms": 1.0, "s": 1000.0, "m": 60_000.0}[unit]


def warm(port: int, urls: list[str]) -> bytes:
    """Fill the cache with a verdict for each URL; the body of the first one."""
    first = b""
    with httpx.Client(base_url=f"http://127.0.0.1:{port}", timeout=120) as client:
        for url in urls:
            response = client.get("/v1/verdict", params={"url": url})
            response.raise_for_status()
            first = first or response.content
    return first


async def burst(port: int, urls: list[str], count: int, fresh: bool = False) -> dict[int, int]:
    """`count` concurrent lookups from one address; how many got each status."""
    limits = httpx.Limits(max_connections=count, max_keepalive_connections=count)
    async with httpx.AsyncClient(base_url=f"http://127.0.0.1:{port}", timeout=120, limits=limits) as client:
        params = [{"url": urls[i % len(urls)], **({"fresh": "true"} if fresh else {})} for i in range(count)]
        responses = await asyncio.gather(*(client.get("/v1/verdict", params=p) for p in params))
    statuses: dict[int, int] = {}
    for response in responses:
        statuses[response.status_code] = statuses.get(response.status_code, 0) + 1
    return statuses


def measure(seconds: int, warm_count: int) -> dict:
    urls = URLS[:warm_count]
    paths = [verdict_path(url) for url in urls]
    with tempfile.TemporaryDirectory() as tmp:
        folder = Path(tmp)
        db, body_file = folder / "api.sqlite", folder / "verdict.json"
        port = free_port()
        server = api_server(port, db, LIMITS_OFF)
        try:
            started = time.monotonic()
            body_file.write_bytes(warm(port, urls))
            warm_seconds = time.monotonic() - started
            api = wrk(port, paths, seconds, folder)
        finally:
            stop(server)
        port = free_port()
        env = {k: v for k, v in os.environ.items() if not k.startswith("RXCHECK_")}
        minimal = start([sys.executable, "-m", "bench.api_bench", "--minimal-app", str(body_file), str(port)], port,
                        env)  # fmt: skip
        try:
            baseline = wrk(port, paths, seconds, folder)
        finally:
            stop(minimal)
        port = free_port()
        server = api_server(port, db, {})
        try:
            cached = asyncio.run(burst(port, urls, BURST))
            fresh = asyncio.run(burst(port, urls, FRESH, fresh=True))
        finally:
            stop(server)
    return {
        "warmed_sites": len(urls),
        "warm_seconds": warm_seconds,
        "api": api,
        "minimal_app": baseline,
        "burst_cached": {str(k): v for k, v in sorted(cached.items())},
        "burst_fresh": {str(k): v for k, v in sorted(fresh.items())},
    }


def minimal_app(body_file: Path, port: int) -> None:
    """A FastAPI app with one route returning the verdict body, under the API's uvicorn settings."""
    import uvicorn
    from fastapi import FastAPI

    from rxcheck.api.server import uvicorn_config
    from rxcheck.api.settings import Settings

    body = json.loads(body_file.read_bytes())
    app = FastAPI()

    @app.get("/v1/verdict")
    async def verdict(url: str) -> dict:
        return body

    uvicorn.Server(uvicorn_config(app, Settings.from_env(), host="127.0.0.1", port=port, log_level=LOG_LEVEL)).run()


def main() -> None:
    if sys.argv[1:2] == ["--minimal-app"]:
        minimal_app(Path(sys.argv[2]), int(sys.argv[3]))
        return
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--seconds", type=int, default=10, help="length of each wrk run")
    parser.add_argument("--warm", type=int, default=40, help="fixture sites in the cache")
    args = parser.parse_args()
    print(json.dumps(measure(args.seconds, args.warm), indent=2))


if __name__ == "__main__":
    main()
