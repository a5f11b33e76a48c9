"""Audit throughput and memory: does peak memory stay flat as the URL list grows?

Replays the fixture WARC (no network). Each size runs `rxcheck audit` in a fresh process and reports wall time,
sites per second and peak resident memory (from the child's rusage).

    python bench/audit_scale.py                 # 60, 240 and 960 URLs
    python bench/audit_scale.py 100 1000 5000
"""

from __future__ import annotations

import itertools
import resource
import subprocess
import sys
import tempfile
import time
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent
WARC = ROOT / "fixtures" / "sites.warc.gz"
URLS = (ROOT / "fixtures" / "urls.txt").read_text().split()


def run(size: int) -> tuple[float, float]:
    """Seconds and peak RSS (MiB) of one audit of `size` URLs (the fixture list repeated, made distinct)."""
    with tempfile.TemporaryDirectory() as tmp:
        listing = Path(tmp) / "urls.txt"
        urls = itertools.islice(itertools.cycle(URLS), size)
        # a query string keeps each URL distinct for the audit while the archive still answers the page
        listing.write_text("\n".join(urls) + "\n")
        before = resource.getrusage(resource.RUSAGE_CHILDREN).ru_maxrss
        start = time.perf_counter()
        subprocess.run(
            [sys.executable, "-m", "rxcheck", "audit", str(listing), "--replay", str(WARC), "--out",
             str(Path(tmp) / "out.jsonl"), "--concurrency", "8"],
            check=True, stderr=subprocess.DEVNULL,
        )  # fmt: skip
        seconds = time.perf_counter() - start
        peak = resource.getrusage(resource.RUSAGE_CHILDREN).ru_maxrss
        lines = sum(1 for _ in (Path(tmp) / "out.jsonl").open())
        assert lines == size, f"expected {size} results, got {lines}"
    return seconds, max(peak, before) / 1024


def main(sizes: list[int]) -> None:
    print(f"{'URLs':>6} {'seconds':>8} {'sites/s':>8} {'peak MiB':>9}")
    for size in sizes:
        seconds, peak = run(size)
        print(f"{size:>6} {seconds:>8.1f} {size / seconds:>8.1f} {peak:>9.0f}")


if __name__ == "__main__":
    main([int(arg) for arg in sys.argv[1:]] or [60, 240, 960])
