"""Run a command as a child process and measure it: wall time, CPU time and peak RSS of its whole process tree."""

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
    peak_rss_mb: float  # largest sum of RSS over the child and its descendants, polled
    stdout: str
    stderr: str


def _tree_rss(process: psutil.Process) -> int:
    total = 0
    for member in [process, *process.children(recursive=True)]:
        with contextlib.suppress(psutil.Error):
            total += member.memory_info().rss
    return total


def run(command: list[str], *, env: dict[str, str] | None = None, cwd: Path | None = None) -> Measured:
    """Run `command` to completion; its output goes to files, so a chatty child cannot block on a pipe."""
    with tempfile.TemporaryDirectory() as tmp:
        out_path, err_path = Path(tmp) / "stdout", Path(tmp) / "stderr"
        with out_path.open("wb") as out, err_path.open("wb") as err:
            started = time.monotonic()
            child = subprocess.Popen(command, env=env, cwd=cwd, stdout=out, stderr=err)
            peak = 0
            done = threading.Event()

            def poll() -> None:
                nonlocal peak
                try:
                    process = psutil.Process(child.pid)
                    while not done.is_set():
                        peak = max(peak, _tree_rss(process))
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
        peak = max(peak, usage.ru_maxrss * 1024)  # the largest single process, should polling have missed it
        return Measured(child.returncode, seconds, usage.ru_utime + usage.ru_stime, peak / 2**20,
                        out_path.read_text(errors="replace"), err_path.read_text(errors="replace"))  # fmt: skip
