"""Done-when check for the hostile web: one `rxcheck audit` over every hostile server at once, plus a healthy pharmacy.

    python bench/hostile_audit.py            # re-runs itself inside `unshare --net` when it can (root)

It starts the hostile farm (`tests/hostile/hostile_farm.py`, full-size: 300 MB body, 200 MB gzip bomb, a tarpit
sending one header line every 2 s hit by 20 checks at once, one byte a second...) and a fixture pharmacy site on
loopback, audits them all in one `rxcheck audit` subprocess with the DEFAULT limits (only `--allow-private`, since
the farm is on 127.0.0.1), and checks:

  - the audit finishes in under 45 s;
  - one result per URL, each with the type the farm expects;
  - the healthy site is judged as a pharmacy;
  - the audit's peak RSS stays under 300 MB.

Inside a network namespace with only loopback, not even a broken guard could send a packet elsewhere. Exit code 1
when a check fails.
"""

from __future__ import annotations

import json
import os
import resource
import shutil
import subprocess
import sys
import tempfile
import time
from pathlib import Path

ROOT = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(ROOT / "tests" / "hostile"))

from hostile_farm import EXPECTED, PHARMACY_VERDICTS  # noqa: E402

MAX_SECONDS, MAX_RSS_MB = 45.0, 300.0
TARPIT_CHECKS = 20
NAMESPACED = "RXCHECK_BENCH_NAMESPACED"


def reexec_in_namespace() -> None:
    """Run this script again in a new network namespace holding only loopback, when possible."""
    if os.environ.get(NAMESPACED) or "--no-unshare" in sys.argv or shutil.which("unshare") is None:
        return
    script = f"ip link set lo up && exec {sys.executable} {Path(__file__).resolve()} --no-unshare"
    probe = subprocess.run(["unshare", "--net", "--map-root-user", "true"], capture_output=True)
    if probe.returncode != 0:
        print("note: cannot create a network namespace; running on this machine's network", file=sys.stderr)
        return
    env = {**os.environ, NAMESPACED: "1"}
    sys.exit(subprocess.run(["unshare", "--net", "--map-root-user", "sh", "-c", script], env=env).returncode)


def main() -> int:
    reexec_in_namespace()
    rxcheck = [sys.executable, "-m", "rxcheck"]
    farm = subprocess.Popen(
        [sys.executable, str(ROOT / "tests" / "hostile" / "hostile_farm.py")],
        stdin=subprocess.PIPE, stdout=subprocess.PIPE, text=True, cwd=ROOT,
    )  # fmt: skip
    try:
        assert farm.stdout is not None
        urls: dict[str, str] = json.loads(farm.stdout.readline())
        wanted: dict[str, str] = {urls[name]: kind for name, kind in EXPECTED.items() if name != "tarpit"}
        wanted.update({f"{urls['tarpit']}?visitor={n}": "timeout" for n in range(TARPIT_CHECKS)})
        wanted[urls["healthy"]] = "pharmacy"
        names = {url: name for name, url in urls.items()}
        with tempfile.TemporaryDirectory() as work:
            listing, out = Path(work) / "urls.txt", Path(work) / "results.jsonl"
            listing.write_text("".join(f"{url}\n" for url in wanted))
            command = [*rxcheck, "audit", str(listing), "--out", str(out), "--allow-private",
                       "--concurrency", str(len(wanted))]  # fmt: skip
            start = time.monotonic()
            audit = subprocess.run(command, capture_output=True, text=True, cwd=ROOT)
            seconds = time.monotonic() - start
            rss_mb = resource.getrusage(resource.RUSAGE_CHILDREN).ru_maxrss / 1024  # the audit: the farm still runs
            results = [json.loads(line) for line in out.read_text().splitlines()]
    finally:
        if farm.stdin is not None:
            farm.stdin.close()
        farm.wait(timeout=60)

    failures: list[str] = []
    by_url = {r["url"]: r for r in results}
    print(f"{'server':<18} {'URL':<36} {'expected':<20} got")
    for url, kind in wanted.items():
        result = by_url.get(url)
        got = "(missing)" if result is None else (result["error"]["type"] if result["error"] else result["verdict"])
        ok = got in PHARMACY_VERDICTS if kind == "pharmacy" else got == kind
        name = names.get(url.split("?", 1)[0], "?")
        print(f"{name:<18} {url:<36} {kind:<20} {got}{'' if ok else '   <-- WRONG'}")
        if not ok:
            failures.append(f"{url}: expected {kind}, got {got}")
    if len(results) != len(wanted) or len(by_url) != len(results):
        failures.append(f"{len(results)} results for {len(wanted)} URLs")
    if "Traceback" in audit.stderr or audit.returncode != 0:
        failures.append(f"audit exit code {audit.returncode}; stderr: {audit.stderr[-500:]}")
    if seconds >= MAX_SECONDS:
        failures.append(f"took {seconds:.1f} s (limit {MAX_SECONDS:g} s)")
    if rss_mb >= MAX_RSS_MB:
        failures.append(f"peak RSS {rss_mb:.0f} MB (limit {MAX_RSS_MB:g} MB)")
    print(f"\n{len(wanted)} URLs, {len(results)} results, {seconds:.1f} s, peak RSS of the audit {rss_mb:.0f} MB")
    for failure in failures:
        print(f"FAIL {failure}")
    print("OK" if not failures else f"{len(failures)} failure(s)")
    return 1 if failures else 0


if __name__ == "__main__":
    sys.exit(main())
