"""The speed benchmark: rxcheck's full audit against a Scrapy fetch-and-extract baseline, memory, cost per KB of
text, the API's cached lookups and the first check of a slow site, printed beside their targets.

    python -m bench                      # 150 sites, 2 alternating rounds, everything (about 10 minutes)
    python -m bench --quick              # 20 sites, 1 round, short wrk runs: a smoke run
    python -m bench --only audit --sites 50 --rounds 3
    python -m bench --only api

Parts (`--only`, repeatable): `scrapy` and `rxcheck` (the audits, in alternation; `audit` is both), `memory` (peak
PSS, and RSS, of a short and a long audit), `cost` (CPU ms per KB, `bench.extract_cost`), `api` (`bench.api_bench`),
`first-check` (`rxcheck check` of a 12-page site answering in 100 ms). The figures are written as JSON to
`bench/results/<UTC time>.json` (or `--json PATH`).

Pages are counted the same way for both tools: the 200 responses with a text/html content type that nginx served
while the tool ran (its access log), divided by the tool's wall time, process start to exit.
"""

from __future__ import annotations

import argparse
import json
import os
import platform
import shutil
import subprocess
import sys
import tempfile
import time
from dataclasses import asdict
from datetime import UTC, datetime
from pathlib import Path

import psutil

from bench import api_bench
from bench.farm import Farm, Nginx, build, free_port, wait_for_port
from bench.measure import Measured, run

ROOT = Path(__file__).resolve().parent.parent
RESULTS = ROOT / "bench" / "results"
PARTS = ("scrapy", "rxcheck", "memory", "cost", "api", "first-check")
CONCURRENCY = 16
WORKERS: int | None = None  # rxcheck audit --workers (None: its default, one per core but one)
HOSTS_MOUNT = False  # set by main: whether children get the farm's /etc/hosts (see in_farm)
TARGETS = {
    "ratio": "rxcheck/Scrapy >= 1.0 (aim 1.5)",
    "memory": "long < 250 MB, long/short <= 1.3",
    "cost": "linear: dense x4 near dense",
    "api": "rxcheck >= minimal app, p99 < 50 ms",
    "burst": f"{api_bench.BURST} cached all 200; fresh crawls get 429",
    "first_check": "< 1 s",
}


def clean_env(**extra: str) -> dict[str, str]:
    """This environment without proxy or RXCHECK_ settings, so both tools see only what the benchmark sets."""
    drop = ("http_proxy", "https_proxy", "all_proxy", "no_proxy")
    env = {k: v for k, v in os.environ.items() if k.lower() not in drop and not k.startswith("RXCHECK_")}
    env["PYTHONPATH"] = os.pathsep.join(filter(None, [str(ROOT), env.get("PYTHONPATH")]))
    return env | extra


def can_bind_hosts() -> bool:
    """Whether this machine lets us give a child its own /etc/hosts (a private mount namespace: root or userns)."""
    if shutil.which("unshare") is None:
        return False
    probe = ["unshare", "--mount", "sh", "-c", "mount --bind /etc/hosts /etc/hosts"]
    return subprocess.run(probe, capture_output=True).returncode == 0


def in_farm(command: list[str], farm: Farm) -> list[str]:
    """`command` with the farm's names resolving to 127.0.0.1, or unchanged (names then go to the proxy).

    rxcheck resolves every name itself before it hands a request to a proxy. The farm's names resolve nowhere; left
    to the system resolver they cost a failed DNS lookup per request (seconds each on a sandbox resolver that drops
    concurrent queries), which is not what is measured here. The child gets its own /etc/hosts, bind-mounted in a
    private mount namespace: nothing changes for the rest of the machine.
    """
    if not HOSTS_MOUNT:
        return command
    return ["unshare", "--mount", "sh", "-c", 'mount --bind "$0" /etc/hosts && exec "$@"', str(farm.hosts_file),
            *command]  # fmt: skip


def rxcheck_options(nginx: Nginx) -> list[str]:
    # Farm names resolve to loopback through the private hosts file, so --allow-private; without it, the names do
    # not resolve and --proxy-resolves-names hands them to the proxy.
    return ["--proxy", nginx.proxy, "--allow-private" if HOSTS_MOUNT else "--proxy-resolves-names"]


def rxcheck_audit(nginx: Nginx, urls: Path, out: Path) -> Measured:
    workers = [] if WORKERS is None else ["--workers", str(WORKERS)]
    command = [sys.executable, "-m", "rxcheck", "audit", str(urls), "--concurrency", str(CONCURRENCY), *workers,
               *rxcheck_options(nginx), "--out", str(out)]  # fmt: skip
    return run(in_farm(command, nginx.farm), env=clean_env(), cwd=ROOT)


def scrapy_crawl(nginx: Nginx, urls: Path) -> Measured:
    command = [sys.executable, "-m", "bench.scrapy_baseline", str(urls)]
    return run(in_farm(command, nginx.farm), env=clean_env(http_proxy=nginx.proxy), cwd=ROOT)


def timed(tool: str, nginx: Nginx, urls: Path, work: Path) -> dict:
    mark = nginx.mark()
    measured = scrapy_crawl(nginx, urls) if tool == "scrapy" else rxcheck_audit(nginx, urls, work / "audit.jsonl")
    if measured.returncode != 0:
        raise SystemExit(f"{tool} failed (exit {measured.returncode}): {measured.stderr.strip()[-800:]}")
    served = nginx.served(mark)
    figures = {
        "sites": sum(1 for line in urls.read_text().splitlines() if line.strip()),
        "pages": served.html_pages,
        "requests": served.requests,
        "statuses": served.statuses,
        "seconds": measured.seconds,
        "cpu_seconds": measured.cpu_seconds,
        "pages_per_s": served.html_pages / measured.seconds,
        "peak_pss_mb": measured.peak_pss_mb,
        "peak_rss_mb": measured.peak_rss_mb,
    }
    if tool == "rxcheck":
        results = [json.loads(line) for line in (work / "audit.jsonl").read_text().splitlines()]
        figures["results"] = len(results)
        figures["errors"] = sum(1 for result in results if result.get("error"))
    return figures


def audits(nginx: Nginx, farm: Farm, tools: list[str], sites: int, rounds: int, work: Path) -> dict:
    urls = work / f"urls-{sites}.txt"
    urls.write_text("".join(f"{url}\n" for url in farm.urls[:sites]))
    runs: dict[str, list[dict]] = {tool: [] for tool in tools}
    for number in range(rounds):
        for tool in tools:
            figures = timed(tool, nginx, urls, work)
            runs[tool].append(figures)
            print(f"  round {number + 1} {tool}: {figures['pages']} pages in {figures['seconds']:.1f} s "
                  f"({figures['pages_per_s']:.1f} pages/s, CPU {figures['cpu_seconds']:.1f} s, "
                  f"peak PSS {figures['peak_pss_mb']:.0f} MB, RSS {figures['peak_rss_mb']:.0f} MB)",
                  flush=True)  # fmt: skip
    summary: dict = {"runs": runs}
    for tool, done in runs.items():
        pages, seconds = sum(r["pages"] for r in done), sum(r["seconds"] for r in done)
        summary[tool] = {
            "pages_per_s": pages / seconds,
            "sites_per_s": sum(r["sites"] for r in done) / seconds,
            "wall_over_cpu": seconds / sum(r["cpu_seconds"] for r in done),
            "peak_pss_mb": max(r["peak_pss_mb"] for r in done),
            "peak_rss_mb": max(r["peak_rss_mb"] for r in done),
        }
    if "scrapy" in runs and "rxcheck" in runs:
        summary["ratio"] = summary["rxcheck"]["pages_per_s"] / summary["scrapy"]["pages_per_s"]
    return summary


def memory(nginx: Nginx, farm: Farm, short: int, long: int, work: Path, long_run: dict | None) -> dict:
    """Peak memory of a short and a long audit (`long_run`: the long audit's figures, when the audit part ran it):
    summed PSS, the figure the target is about, and summed RSS beside it (see bench/measure.py)."""
    figures = {}
    for sites in (short, long) if long_run is None else (short,):
        urls = work / f"urls-{sites}.txt"
        urls.write_text("".join(f"{url}\n" for url in farm.urls[:sites]))
        figures[sites] = timed("rxcheck", nginx, urls, work)
    if long_run is not None:
        figures[long] = long_run
    short_run, long_run = figures[short], figures[long]
    return {"short_sites": short, "long_sites": long,
            "short_mb": short_run["peak_pss_mb"], "long_mb": long_run["peak_pss_mb"],
            "ratio": long_run["peak_pss_mb"] / short_run["peak_pss_mb"],
            "short_rss_mb": short_run["peak_rss_mb"], "long_rss_mb": long_run["peak_rss_mb"]}  # fmt: skip


def cost() -> dict:
    measured = run([sys.executable, "-m", "bench.extract_cost", "--json"], env=clean_env(), cwd=ROOT)
    if measured.returncode != 0:
        raise SystemExit(f"extract_cost failed: {measured.stderr.strip()[-800:]}")
    return json.loads(measured.stdout.strip().splitlines()[-1])


def first_check(nginx: Nginx, farm: Farm, rounds: int) -> dict:
    """`rxcheck check` of the slow 12-page site, end to end (process start to exit), and the CLI's startup alone
    (`rxcheck check --help`); the best of `rounds` runs of each."""
    env = clean_env()
    command = in_farm([sys.executable, "-m", "rxcheck", "check", farm.slow_url, "--json", *rxcheck_options(nginx)],
                      farm)  # fmt: skip
    checks = []
    for _ in range(rounds):
        mark = nginx.mark()
        measured = run(command, env=env, cwd=ROOT)
        if measured.returncode not in (0, 1):
            raise SystemExit(f"rxcheck check failed: {measured.stderr.strip()[-800:]}")
        checks.append({"seconds": measured.seconds, "pages": nginx.served(mark).html_pages})
    help_command = [sys.executable, "-m", "rxcheck", "check", "--help"]
    startup = min(run(help_command, env=env, cwd=ROOT).seconds for _ in range(rounds))
    loaded = []  # the same check in a process that has loaded the pack, as `rxcheck serve` answers a new site
    for _ in range(rounds):
        command = in_farm([sys.executable, "-m", "bench.first_check", farm.slow_url, *rxcheck_options(nginx)], farm)
        measured = run(command, env=env, cwd=ROOT)
        if measured.returncode != 0:
            raise SystemExit(f"bench.first_check failed: {measured.stderr.strip()[-800:]}")
        loaded.append(json.loads(measured.stdout.strip().splitlines()[-1]))
    return {
        "runs": checks,
        "seconds": min(c["seconds"] for c in checks),
        "cli_startup_s": startup,
        "loaded_runs": loaded,
        "loaded_check_s": min(r["check_s"] for r in loaded),
        "pack_load_s": min(r["load_s"] for r in loaded),
    }


def machine() -> dict:
    return {
        "cpus": os.cpu_count(),
        "python": platform.python_version(),
        "platform": platform.platform(),
        "load_average_at_start": os.getloadavg(),
        "memory_gb": round(psutil.virtual_memory().total / 2**30, 1),
        "nginx": subprocess.run(["nginx", "-v"], capture_output=True, text=True).stderr.strip(),
    }


def row(name: str, figure: str, target: str, met: bool | None) -> str:
    mark = {True: "ok", False: "MISSED", None: ""}[met]
    return f"{name:<34} {figure:<50} {target:<42} {mark}"


def table(figures: dict) -> str:
    lines = [row("figure", "measured", "target", None), "-" * 134]
    audit = figures.get("audit", {})
    for tool in ("scrapy", "rxcheck"):
        if tool in audit:
            f = audit[tool]
            lines.append(row(f"{tool} pages/s", f"{f['pages_per_s']:.1f} ({f['sites_per_s']:.1f} sites/s, wall/CPU "
                             f"{f['wall_over_cpu']:.1f}, PSS {f['peak_pss_mb']:.0f} MB)", "", None))  # fmt: skip
    if "ratio" in audit:
        lines.append(row("rxcheck / Scrapy", f"{audit['ratio']:.2f}", TARGETS["ratio"], audit["ratio"] >= 1.0))
    if m := figures.get("memory"):
        met = m["long_mb"] < 250 and m["ratio"] <= 1.3
        lines.append(row(f"peak PSS {m['short_sites']} vs {m['long_sites']} sites",
                         f"{m['short_mb']:.0f} MB vs {m['long_mb']:.0f} MB (x{m['ratio']:.2f})", TARGETS["memory"],
                         met))  # fmt: skip
        lines.append(row("  summed RSS (shared pages x procs)",
                         f"{m['short_rss_mb']:.0f} MB vs {m['long_rss_mb']:.0f} MB", "", None))  # fmt: skip
    if c := figures.get("cost"):
        lines.append(row("CPU ms per KB of text", f"realistic {c['realistic_ms_per_kb']:.2f}, dense "
                         f"{c['dense_ms_per_kb']:.2f}, dense x4 {c['dense_4x_ms_per_kb']:.2f}", TARGETS["cost"],
                         None))  # fmt: skip
    if a := figures.get("api"):
        api, minimal = a["api"], a["minimal_app"]
        for name, f in (("API cached lookups (wrk -c 64)", api), ("minimal FastAPI app (same)", minimal)):
            lines.append(row(name, f"{f['requests_per_s']:,.0f} req/s, p50 {f['p50_ms']:.1f} ms, p99 "
                             f"{f['p99_ms']:.1f} ms", "", None))  # fmt: skip
        met = api["requests_per_s"] >= minimal["requests_per_s"] and api["p99_ms"] < 50
        lines.append(row("API vs minimal app", f"x{api['requests_per_s'] / minimal['requests_per_s']:.2f} req/s, "
                         f"p99 {api['p99_ms']:.0f} ms", TARGETS["api"], met))  # fmt: skip
        cached, fresh = a["burst_cached"], a["burst_fresh"]
        met = cached.get("200", 0) == api_bench.BURST and fresh.get("429", 0) > 0
        lines.append(row(f"burst of {api_bench.BURST} from one address", f"cached {_statuses(cached)}; "
                         f"{api_bench.FRESH} fresh {_statuses(fresh)}", TARGETS["burst"], met))  # fmt: skip
    if f := figures.get("first_check"):
        lines.append(row("first check, 12 pages at 100 ms", f"{f['seconds']:.2f} s through the CLI (its startup "
                         f"{f['cli_startup_s']:.2f} s)", TARGETS["first_check"], f["seconds"] < 1.0))  # fmt: skip
        lines.append(row("  in `serve`, pack loaded", f"{f['loaded_check_s']:.2f} s (after "
                         f"{f['pack_load_s']:.2f} s of pack load and warm-up)", TARGETS["first_check"],
                         f["loaded_check_s"] < 1.0))  # fmt: skip
    return "\n".join(lines)


def _statuses(counts: dict[str, int]) -> str:
    return ", ".join(f"{n}x{status}" for status, n in counts.items())


def main(argv: list[str] | None = None) -> None:
    parser = argparse.ArgumentParser(prog="python -m bench", description=__doc__.splitlines()[0])
    parser.add_argument("--sites", type=int, help="realistic sites per audit (default 150; --quick: 20)")
    parser.add_argument("--rounds", type=int, help="alternating rounds of Scrapy and rxcheck (default 2; --quick 1)")
    parser.add_argument("--short-sites", type=int, help="sites of the short audit for the memory figure (default 50)")
    parser.add_argument("--only", action="append", choices=[*PARTS, "audit"], help="run only these parts")
    parser.add_argument("--workers", type=int, help="rxcheck audit --workers (default: rxcheck's own)")
    parser.add_argument("--quick", action="store_true", help="a smoke run: few sites, one round, short wrk runs")
    parser.add_argument(
        "--system-dns",
        action="store_true",
        help="farm names from the system resolver (see in_farm), not a private hosts file",
    )
    parser.add_argument("--json", type=Path, help="write the figures here (default bench/results/<time>.json)")
    args = parser.parse_args(argv)
    global HOSTS_MOUNT, WORKERS
    HOSTS_MOUNT = not args.system_dns and can_bind_hosts()
    WORKERS = args.workers
    sites = args.sites or (20 if args.quick else 150)
    rounds = args.rounds or (1 if args.quick else 2)
    short = args.short_sites or max(1, sites // 3)
    parts = set(PARTS) if not args.only else {p for o in args.only for p in (("scrapy", "rxcheck") if o == "audit"
                                                                            else (o,))}  # fmt: skip
    figures: dict = {"started": datetime.now(UTC).isoformat(timespec="seconds"), "machine": machine(),
                     "options": {"sites": sites, "rounds": rounds, "short_sites": short, "parts": sorted(parts),
                                 "quick": args.quick, "concurrency": CONCURRENCY, "workers": WORKERS,
                                 "farm_names": "/etc/hosts" if HOSTS_MOUNT else "proxy"}}  # fmt: skip
    with tempfile.TemporaryDirectory(prefix="rxcheck-bench-") as tmp:
        work = Path(tmp)
        farm_parts = parts & {"scrapy", "rxcheck", "memory", "first-check"}
        if farm_parts:
            farm = build(work / "farm", max(sites, short))
            slow_port = free_port()
            slow = subprocess.Popen([sys.executable, "-m", "bench.slow_server", str(farm.www / "slow.farm.test"),
                                     str(slow_port)], env=clean_env(), cwd=ROOT)  # fmt: skip
            try:
                wait_for_port(slow_port, 30)
                with Nginx(farm, slow_upstream=f"127.0.0.1:{slow_port}") as nginx:
                    names = "a private /etc/hosts" if HOSTS_MOUNT else "the system resolver, then the proxy"
                    print(f"farm: {len(farm.urls)} sites, nginx on {nginx.proxy}, names from {names}", flush=True)
                    tools = [tool for tool in ("scrapy", "rxcheck") if tool in parts]
                    if tools:
                        figures["audit"] = audits(nginx, farm, tools, sites, rounds, work)
                    if "memory" in parts:
                        long_runs = figures.get("audit", {}).get("runs", {}).get("rxcheck")
                        long_run = max(long_runs, key=lambda r: r["peak_pss_mb"]) if long_runs else None
                        figures["memory"] = memory(nginx, farm, short, sites, work, long_run)
                    if "first-check" in parts:
                        figures["first_check"] = first_check(nginx, farm, 1 if args.quick else 3)
            finally:
                slow.terminate()
                slow.wait(10)
        if "cost" in parts:
            print("cost per KB...", flush=True)
            figures["cost"] = cost()
        if "api" in parts:
            print("API...", flush=True)
            figures["api"] = api_bench.measure(3 if args.quick else 10, 10 if args.quick else 40)
    figures["finished"] = datetime.now(UTC).isoformat(timespec="seconds")
    out = args.json or RESULTS / f"{time.strftime('%Y%m%dT%H%M%SZ', time.gmtime())}.json"
    out.parent.mkdir(parents=True, exist_ok=True)
    out.write_text(json.dumps(figures, indent=2, default=_json) + "\n")
    print()
    print(table(figures))
    print(f"\nfigures written to {out}")


def _json(value: object) -> object:
    return asdict(value) if hasattr(value, "__dataclass_fields__") else str(value)


if __name__ == "__main__":
    main()
