"""The first check of one site in a process that has already loaded the rule pack, as `rxcheck serve` has when a
browser extension asks for a site nobody has checked yet (`GET /v1/verdict`, not cached).

    python -m bench.first_check URL [--proxy URL] [--allow-private] [--proxy-resolves-names]

Prints one JSON line: the seconds the pack took to load and warm up and the fetcher to open (paid once per process,
as `serve` pays them at start-up) and the seconds of the check itself
(crawl, parse, facts, rules, verdict), with the verdict and the pages fetched.
"""

from __future__ import annotations

import argparse
import asyncio
import json
import time

from rxcheck.fetch.factory import open_fetcher
from rxcheck.pipeline import Checker


async def first_check(url: str, **fetcher_options: object) -> dict:
    started = time.perf_counter()
    checker = Checker()
    checker.warm_up()  # as `rxcheck serve` does at start-up
    async with open_fetcher(**fetcher_options) as fetcher:  # `serve` opens its fetcher once, at start-up too
        loaded = time.perf_counter()
        result = await checker.check(url, fetcher)
        done = time.perf_counter()
    return {"load_s": loaded - started, "check_s": done - loaded, "verdict": result.verdict, "pages": len(result.pages)}


def main() -> None:
    parser = argparse.ArgumentParser(prog="python -m bench.first_check", description=__doc__.split("\n\n")[0])
    parser.add_argument("url")
    parser.add_argument("--proxy")
    parser.add_argument("--allow-private", action="store_true")
    parser.add_argument("--proxy-resolves-names", action="store_true")
    args = parser.parse_args()
    options = {
        "proxy": args.proxy,
        "allow_private": args.allow_private,
        "proxy_resolves_names": args.proxy_resolves_names,
    }
    print(json.dumps(asyncio.run(first_check(args.url, **options))))


if __name__ == "__main__":
    main()
