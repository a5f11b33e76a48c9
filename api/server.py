"""Run the API with uvicorn: `serve(host, port, replay=..., db=..., rules_dirs=...)`.

`rxcheck serve` calls `serve`; `python -m rxcheck.api.server [--host H] [--port P] [--replay WARC] [--db PATH]
[--rules DIR]` does the same without the CLI. Settings not given as arguments come from `RXCHECK_*`
environment variables (`api/settings.py`). A broken rule pack (`RuleError`), an invalid setting
(`SettingsError`) or an unusable database (`StoreError`), all `RxcheckError`s with a one-line message, is
raised before the port is bound.

uvicorn runs the httptools parser with read deadlines and a bound on the request head (`rxcheck.api.protocol`): a
request's headers must arrive within `header_timeout_s` (408, closed) and its body within `body_timeout_s`; a head
still arriving past `max_header_bytes` is refused (400 and closed; or 431 from `rxcheck.api.headerlimit` when it
arrived whole), as is one with more than `max_headers` fields (431).
"""

from __future__ import annotations

import argparse
import asyncio
import gc
import logging
import sys
from collections.abc import Sequence
from pathlib import Path

import uvicorn
from starlette.types import ASGIApp

from rxcheck.api.app import create_app, site_checker
from rxcheck.api.protocol import guarded_httptools
from rxcheck.api.settings import Settings
from rxcheck.api.storage import open_storage
from rxcheck.errors import RxcheckError


def serve(
    host: str = "127.0.0.1",
    port: int = 8000,
    *,
    replay: Path | None = None,
    db: str | Path | None = None,
    rules_dirs: Sequence[Path] = (),
    settings: Settings | None = None,
    log_level: str = "info",
    proxy_headers: bool = False,
    forwarded_allow_ips: str | None = None,
) -> None:
    """Serve the API until interrupted.

    On SQLite, this one process holds the audit queue; on PostgreSQL, several API processes may share the
    database (cache and audits), and `rxcheck worker`s run the audits.

    `replay`, `db` and `rules_dirs` override the environment. Behind a reverse proxy, set the `trusted_proxies`
    setting (or `proxy_headers` and `forwarded_allow_ips`) so rate limits see the client's address rather than
    the proxy's.
    """
    overrides = {"replay": replay, "db_path": db, "rules_dirs": tuple(rules_dirs) or None}
    if settings is None:
        settings = Settings.from_env(**overrides)
    else:
        settings = Settings.model_validate(
            settings.model_dump() | {k: v for k, v in overrides.items() if v is not None}
        )
    if not logging.getLogger().handlers:
        logging.basicConfig(level=log_level.upper(), format="%(levelname)s:     %(name)s: %(message)s")
    checker = site_checker(settings)
    checker.warm_up()  # the first site a person asks about does not pay for what is built on first use
    app = create_app(settings, checker=checker)
    asyncio.run(_check_database(settings.db_path))
    # The rule pack and lexicons are a large, permanent heap (~130,000 objects). Out of the collector's sight, the full
    # collections that crawls' garbage triggers scan only what came after, instead of stalling every connection for
    # 100-300 ms each (measured at start-up here). Cached lookups allocate too little to trigger any.
    gc.collect()
    gc.freeze()
    config = uvicorn_config(
        app,
        settings,
        host=host,
        port=port,
        log_level=log_level,
        proxy_headers=proxy_headers,
        forwarded_allow_ips=forwarded_allow_ips,
    )
    uvicorn.Server(config).run()


def uvicorn_config(
    app: ASGIApp,
    settings: Settings,
    *,
    host: str,
    port: int,
    log_level: str = "info",
    proxy_headers: bool = False,
    forwarded_allow_ips: str | None = None,
) -> uvicorn.Config:
    """uvicorn's configuration for the API: the httptools parser with the head bound (`max_header_bytes`) and the
    header and body deadlines of `rxcheck.api.protocol`, the keep-alive timeout, and no WebSocket upgrades."""
    return uvicorn.Config(
        app,
        host=host,
        port=port,
        log_level=log_level,
        proxy_headers=proxy_headers or bool(settings.trusted_proxies),
        forwarded_allow_ips=forwarded_allow_ips or ",".join(settings.trusted_proxies) or None,
        http=guarded_httptools(
            header_timeout_s=settings.header_timeout_s,
            body_timeout_s=settings.body_timeout_s,
            max_head_bytes=settings.max_header_bytes,
        ),
        timeout_keep_alive=settings.keep_alive_s,
        ws="none",
    )


async def _check_database(db: str | Path) -> None:
    """Open (migrating) and close the database once, so a bad one fails here in one line, not inside uvicorn."""
    store = await open_storage(db, pool_size=2)
    await store.close()


def main(argv: Sequence[str] | None = None) -> int:
    parser = argparse.ArgumentParser(prog="python -m rxcheck.api.server", description="Run the rxcheck API server.")
    parser.add_argument("--host", default="127.0.0.1")
    parser.add_argument("--port", type=int, default=8000)
    parser.add_argument("--replay", type=Path, help="replay this WARC instead of fetching the network")
    parser.add_argument("--db", help="SQLite file or postgresql:// URL (default: $RXCHECK_DB or ./rxcheck.sqlite)")
    parser.add_argument("--rules", type=Path, action="append", default=[], help="extra rule directory")
    parser.add_argument("--log-level", default="info")
    args = parser.parse_args(argv)
    try:
        serve(
            args.host,
            args.port,
            replay=args.replay,
            db=args.db,
            rules_dirs=args.rules,
            log_level=args.log_level,
        )
    except RxcheckError as exc:  # SettingsError, StoreError, RuleError...
        print(f"rxcheck serve: {exc}", file=sys.stderr)
        return 2
    return 0


if __name__ == "__main__":
    sys.exit(main())
