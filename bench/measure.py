"""Run a command as a child process and measure it: wall time, CPU time and peak memory of its whole process tree.

Memory is polled (every 50 ms) as two sums over the child and its descendants:

- PSS (proportional set size, /proc/PID/smaps_rollup): each resident page counted once in all, split between the
  processes that share it (the pages a worker shares with the process it was forked from, shared libraries).
  This is the tree's real footprint, and the peak-memory figure.
- RSS: each process's resident pages counted whole, so a page shared by three processes counts three times. Shown
  beside PSS; it overstates a tree of forked workers.
"""

from __future__ import annotations

import contextlib
import os
import subprocess
import tempfile
import threading
import time
from dataclasses import dataclass
from pathlib import Path

import psutil

POLL_SECONDS = 0.05


@dataclass
class Measured:
    returncode: int
    seconds: float
    cpu_seconds: float  # user + system of the child and every descendant it waited for
    peak_pss_mb: float  # largest sum of PSS over the child and its descendants, polled
    peak_rss_mb: float  # largest sum of RSS over the same, polled (and at least the largest process's ru_maxrss)
    stdout: str
    stderr: str


def tree_memory(process: psutil.Process) -> tuple[int, int]:
    """(PSS, RSS) in bytes, summed over `process` and its descendants; a process that ends meanwhile counts 0."""
    pss = rss = 0
    for member in [process, *process.children(recursive=True)]:
        with contextlib.suppress(psutil.Error):
            full = member.memory_full_info()
            pss += full.pss
            rss += full.rss
    return pss, rss


def run(command: list[str], *, env: dict[str, str] | None = None, cwd: Path | None = None) -> Measured:
    """Run `command` to completion; its output goes to files, so a chatty child cannot block on a pipe."""
    with tempfile.TemporaryDirectory() as tmp:
        out_path, err_path = Path(tmp) / "stdout", Path(tmp) / "stderr"
        with out_path.open("wb") as out, err_path.open("wb") as err:
            started = time.monotonic()
            child = subprocess.Popen(command, env=env, cwd=cwd, stdout=out, stderr=err)
            peak_pss = peak_rss = 0
            done = threading.Event()

            def poll() -> None:
                nonlocal peak_pss, peak_rss
                try:
                    process = psutil.Process(child.pid)
                    while not done.is_set():
                        pss, rss = tree_memory(process)
                        peak_pss, peak_rss = max(peak_pss, pss), max(peak_rss, rss)
                        done.wait(POLL_SECONDS)
                except psutil.Error:
                    pass

            poller = threading.Thread(target=poll, daemon=True)
            poller.start()
            _, status, usage = os.wait4(child.pid, 0)
            seconds = time.monotonic() - started
            child.returncode = os.waitstatus_to_exitcode(status)
            done.set()
            poller.join()
        peak_rss = max(peak_rss, usage.ru_maxrss * 1024)  # the largest single process, should polling have missed it
        return Measured(child.returncode, seconds, usage.ru_utime + usage.ru_stime, peak_pss / 2**20,
                        peak_rss / 2**20, out_path.read_text(errors="replace"),
                        err_path.read_text(errors="replace"))  # fmt: skip
