"""Auditing many sites: results stream out as each site finishes, with bounded concurrency and memory."""

from __future__ import annotations

import asyncio
import csv
import hashlib
import json
import logging
import re
from collections import Counter
from collections.abc import Callable, Iterable, Iterator
from pathlib import Path
from typing import TextIO

from rxcheck.errors import InvalidURL
from rxcheck.fetch import Fetcher
from rxcheck.fetch.guard import normalize_target
from rxcheck.pipeline import Checker
from rxcheck.result import ErrorInfo, Result, asked_source
from rxcheck.urls import normalize_url
from rxcheck.verdict import UNREACHABLE_SCORE

log = logging.getLogger(__name__)


def read_urls(lines: Iterable[str]) -> Iterator[str]:
    """URLs from a list: one per line; blank lines and `#` comments skipped; a CSV's first column is taken."""
    for _, url in _numbered_urls(lines):
        yield url


COMMENT_AFTER = re.compile(r"\s+#")  # `https://shop.example/  # from the Q3 list`


def audit_urls(lines: Iterable[str], on_problem: Callable[[int, str], None] | None = None) -> Iterator[tuple[int, str]]:
    """(line number, URL) for the URLs of a list to audit, each once: malformed and duplicate lines are skipped.

    `on_problem(line_number, reason)` is called once for each line skipped. Duplicates are recognised by the URL
    normalised (`shop.example` and `https://shop.example/` are one site); only a 16-byte digest of each URL is
    kept, so memory stays small for long lists.
    """
    seen: dict[bytes, int] = {}
    for number, url in _numbered_urls(lines):
        try:
            key = normalize_target(normalize_url(url))
        except InvalidURL as exc:
            if on_problem is not None:
                on_problem(number, f"skipped: {exc}")
            continue
        digest = hashlib.blake2b(key.encode("utf-8", "surrogateescape"), digest_size=16).digest()
        first = seen.setdefault(digest, number)
        if first != number:
            if on_problem is not None:
                on_problem(number, f"skipped: {url[:200]!r} repeats line {first}")
            continue
        yield number, url


def _numbered_urls(lines: Iterable[str]) -> Iterator[tuple[int, str]]:
    """(line number, URL) for each line that holds one, as lists pasted from spreadsheets come: a byte-order mark,
    `# comments` (whole lines, or after the URL), a CSV file whose header names a `url` column, or a URL followed
    by other CSV cells."""
    url_column: int | None = None
    for number, line in enumerate(lines, 1):
        line = line.lstrip("\ufeff").strip()
        if number == 1 and "," in line:
            header = [cell.strip().lower() for cell in next(csv.reader([line]))]
            if "url" in header:
                url_column = header.index("url")
                continue
        if url_column is not None:
            cells = next(csv.reader([line]), [])
            line = cells[url_column].strip() if len(cells) > url_column else ""
        line = COMMENT_AFTER.split(line, maxsplit=1)[0].strip()
        if not line or line.startswith("#"):
            continue
        yield number, line.split(",")[0].strip() if "," in line and "://" in line.split(",")[0] else line


def done_urls(out: Path, fmt: str) -> set[str]:
    """The URLs an earlier run already wrote to `out` (for --resume).

    A last line cut short when that run was killed is removed first, so the file stays well-formed and its URL is
    checked again.
    """
    if not out.exists():
        return set()
    _drop_partial_last_line(out)
    done: set[str] = set()
    with out.open(encoding="utf-8", errors="replace") as handle:
        if fmt == "csv":
            for row in csv.DictReader(handle):
                if row.get("url") and row.get("verdict"):
                    done.add(row["url"])
        else:
            for line in handle:
                try:
                    done.add(json.loads(line)["url"])
                except (ValueError, KeyError, TypeError):
                    continue
    return done


def _drop_partial_last_line(path: Path) -> None:
    with path.open("rb+") as handle:
        size = handle.seek(0, 2)
        if size == 0:
            return
        handle.seek(size - 1)
        if handle.read(1) == b"\n":
            return
        position = size
        while position > 0:
            chunk = min(4096, position)
            handle.seek(position - chunk)
            data = handle.read(chunk)
            cut = data.rfind(b"\n")
            if cut != -1:
                handle.truncate(position - chunk + cut + 1)
                return
            position -= chunk
        handle.truncate(0)


async def audit(
    urls: Iterable[str | tuple[int, str]],
    checker: Checker,
    fetcher: Fetcher,
    *,
    on_result: Callable[[Result], None],
    concurrency: int = 8,
    jurisdiction: str = "auto",
) -> Counter[str]:
    """Check every URL, calling `on_result` as each finishes. One failing site never stops the audit.

    Each item is a URL, or (input index, URL) as `audit_urls` gives them: the index is then the result's
    `input_index`, so results, which finish in any order, can be joined back to the list. The iterable is consumed
    lazily through a bounded queue, so memory stays flat for any list length.
    """
    queue: asyncio.Queue[tuple[int | None, str] | None] = asyncio.Queue(maxsize=concurrency * 2)
    counts: Counter[str] = Counter()

    async def worker() -> None:
        while (item := await queue.get()) is not None:
            index, url = item
            result = await _check_one(checker, fetcher, url, jurisdiction)
            result.input_index = index
            counts[result.verdict] += 1
            on_result(result)

    async def produce(workers: int) -> None:
        for item in urls:
            await queue.put(item if isinstance(item, tuple) else (None, item))
        for _ in range(workers):
            await queue.put(None)

    try:  # one task group: when `on_result` fails (a closed pipe), the feeding and every check stop with it
        async with asyncio.TaskGroup() as group:
            for _ in range(max(1, concurrency)):
                group.create_task(worker())
            group.create_task(produce(max(1, concurrency)))
    except BaseExceptionGroup as group_error:
        raise group_error.exceptions[0] from None
    return counts


async def _check_one(checker: Checker, fetcher: Fetcher, url: str, jurisdiction: str) -> Result:
    try:
        return await checker.check(url, fetcher, jurisdiction=jurisdiction)
    except Exception as exc:  # a bug on one hostile page must not end an audit of thousands
        log.exception("internal error while checking %s", url)
        return Result(
            url=url, verdict="unreachable", risk_score=UNREACHABLE_SCORE, jurisdiction=jurisdiction,
            jurisdiction_source=asked_source(jurisdiction), rules_version=checker.pack.version,
            error=ErrorInfo(type="internal_error", message=f"internal error ({type(exc).__name__}); see the log"),
        )  # fmt: skip


def write_line(stream: TextIO, text: str) -> None:
    stream.write(text if text.endswith("\n") else text + "\n")
    stream.flush()
