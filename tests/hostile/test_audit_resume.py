"""Nothing lost: an audit killed with SIGKILL and resumed ends with exactly one result per URL.

The audits run as real subprocesses over the fixture WARC (`--replay`: nothing touches the network).
"""

from __future__ import annotations

import json
import os
import signal
import subprocess
import sys
import time
from pathlib import Path

from typer.testing import CliRunner

from rxcheck.cli import app

ROOT = Path(__file__).resolve().parents[2]
WARC = ROOT / "fixtures" / "sites.warc.gz"


def audit_command(urls: Path, out: Path, *extra: str) -> list[str]:
    return [sys.executable, "-m", "rxcheck", "audit", str(urls), "--replay", str(WARC), "--out", str(out),
            "--concurrency", "4", *extra]  # fmt: skip


def run_until_lines(command: list[str], out: Path, lines: int, timeout: float = 120) -> None:
    """Start the audit, and SIGKILL it as soon as `out` holds at least `lines` lines."""
    process = subprocess.Popen(command, stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL, cwd=ROOT)
    try:
        end = time.monotonic() + timeout
        while time.monotonic() < end and process.poll() is None:
            if out.exists() and out.read_bytes().count(b"\n") >= lines:
                break
            time.sleep(0.02)
    finally:
        if process.poll() is None:
            os.kill(process.pid, signal.SIGKILL)
        process.wait()


def test_kill_9_then_resume_loses_nothing_and_repeats_nothing(tmp_path: Path) -> None:
    fixture_urls = (ROOT / "fixtures" / "urls.txt").read_text().split()[:6]
    missing = [f"https://absent-{n}.example/" for n in range(14)]  # not in the WARC: typed results, at once
    urls = missing[:7] + fixture_urls + missing[7:]
    listing = tmp_path / "urls.txt"
    listing.write_text("\n".join(urls) + "\n")
    out = tmp_path / "out.jsonl"

    run_until_lines(audit_command(listing, out), out, 3)
    run_until_lines(audit_command(listing, out, "--resume"), out, 10)
    done = subprocess.run(audit_command(listing, out, "--resume"), capture_output=True, text=True, cwd=ROOT)

    assert done.returncode == 0, done.stderr
    assert "Traceback" not in done.stderr
    results = [json.loads(line) for line in out.read_text().splitlines()]
    assert sorted(r["url"] for r in results) == sorted(urls)  # each URL exactly once
    assert {r["error"]["type"] for r in results if r["url"] in missing} == {"not_in_archive"}


def test_duplicate_and_malformed_lines_are_reported_once_with_their_line_numbers(tmp_path: Path) -> None:
    listing = tmp_path / "urls.txt"
    listing.write_bytes(
        b"https://absent-1.example/\n"
        b"http://[abc/x\n"
        b"absent-1.example\n"  # the same site as line 1
        b"# a comment\n"
        b"https://absent-2.example/\n"
        b"\x00\xff\xfe binary garbage\n"
        b"http://xn--a{b/\n"
    )
    out = tmp_path / "out.jsonl"
    result = CliRunner().invoke(app, ["audit", str(listing), "--replay", str(WARC), "--out", str(out)])
    assert result.exit_code == 0, result.output
    problems = [line for line in result.stderr.splitlines() if "skipped" in line]
    assert [p.split(": ", 2)[1] for p in problems] == [f"{listing}:2", f"{listing}:3", f"{listing}:6", f"{listing}:7"]
    assert "repeats line 1" in problems[1]
    results = [json.loads(line) for line in out.read_text().splitlines()]
    assert [r["url"] for r in results].count("https://absent-1.example/") == 1
    assert len(results) == 2
