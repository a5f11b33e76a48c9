"""A static site whose every response waits 100 ms first: the server of the first-check figure.

    python -m bench.slow_server DIRECTORY PORT [--delay 0.1]

Serves DIRECTORY (index.html for folders) on 127.0.0.1:PORT with Starlette's StaticFiles; nginx proxies the farm's
`slow.farm.test` to it, so rxcheck reaches it through the same forward proxy as the rest of the farm.
"""

from __future__ import annotations

import argparse
import asyncio
from pathlib import Path

import uvicorn
from starlette.applications import Starlette
from starlette.routing import Mount
from starlette.staticfiles import StaticFiles
from starlette.types import ASGIApp, Receive, Scope, Send


def delayed(app: ASGIApp, seconds: float) -> ASGIApp:
    async def wrapper(scope: Scope, receive: Receive, send: Send) -> None:
        if scope["type"] == "http":
            await asyncio.sleep(seconds)
        await app(scope, receive, send)

    return wrapper


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("directory", type=Path)
    parser.add_argument("port", type=int)
    parser.add_argument("--delay", type=float, default=0.1)
    args = parser.parse_args()
    files = Starlette(routes=[Mount("/", app=StaticFiles(directory=args.directory, html=True))])
    app = delayed(files, args.delay)
    uvicorn.run(app, host="127.0.0.1", port=args.port, log_level="warning")


if __name__ == "__main__":
    main()
