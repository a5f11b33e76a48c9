"""The `rxcheck` command line: check one site, audit a list, validate and test rule packs, serve the API."""

from __future__ import annotations

import asyncio
import os
import sys
from contextlib import ExitStack
from enum import StrEnum
from pathlib import Path
from typing import Annotated

import typer

from rxcheck.cli_help import PlainCommand, PlainGroup
from rxcheck.errors import RxcheckError

app = typer.Typer(
    name="rxcheck",
    help="Check whether an online pharmacy is legitimate, suspicious or rogue, and see the evidence.",
    no_args_is_help=True,
    pretty_exceptions_enable=False,
    context_settings={"help_option_names": ["-h", "--help"]},
    cls=PlainGroup,
)
rules_app = typer.Typer(help="Validate, test and list rule packs.", no_args_is_help=True, cls=PlainGroup)
app.add_typer(rules_app, name="rules")


def _version(value: bool) -> None:
    if value:
        from importlib.metadata import PackageNotFoundError, version

        from rxcheck import __version__
        from rxcheck.engine.loader import load_pack

        try:
            installed = version("rxcheck")
        except PackageNotFoundError:  # run from a checkout, not installed
            installed = __version__
        typer.echo(f"rxcheck {installed} (rules {load_pack().version})")
        raise typer.Exit()


@app.callback()
def _main(
    version: Annotated[
        bool, typer.Option("--version", callback=_version, is_eager=True, help="Print the versions and exit.")
    ] = False,
) -> None:
    """Check whether an online pharmacy is legitimate, suspicious or rogue, and see the evidence."""


class FailOn(StrEnum):
    suspicious = "suspicious"
    rogue = "rogue"


class Format(StrEnum):
    jsonl = "jsonl"
    csv = "csv"
    html = "html"


class Jurisdiction(StrEnum):
    auto = "auto"
    GB = "GB"
    EU = "EU"
    US = "US"
    CA = "CA"


RulesOpt = Annotated[
    list[Path] | None,
    typer.Option(
        "--rules",
        metavar="DIR",
        help="A local rule pack layered over the bundled one (repeatable; default: the bundled pack alone).",
        file_okay=False,
    ),
]
ReplayOpt = Annotated[
    Path | None,
    typer.Option("--replay", metavar="WARC", help="Answer every request from this WARC archive (no network)."),
]
SaveOpt = Annotated[
    Path | None,
    typer.Option("--save-warc", metavar="FILE", help="Record every request and response of this run into a WARC."),
]
JurisdictionOpt = Annotated[
    Jurisdiction,
    typer.Option(
        "--jurisdiction",
        help="Whose rules apply. GB, EU, US or CA: as given (the report says 'given'). auto: read from the site's "
        "own signals (the report says 'assumed'), or unknown when they name none clearly, and then only the rules "
        "for every jurisdiction apply.",
    ),
]


def _proxy_url(value: str | None) -> str | None:
    """A proxy is an http://, https:// or socks5:// URL with a host, or a usage error."""
    if value is None:
        return None
    from urllib.parse import urlsplit

    try:
        parts = urlsplit(value)
        parts.port  # noqa: B018 - raises on a malformed port
    except ValueError:
        parts = None
    if parts is None or parts.scheme not in ("http", "https", "socks5", "socks5h") or not parts.hostname:
        raise typer.BadParameter(f"{value!r} is not a proxy URL (e.g. http://proxy.example:3128)")
    return value


ProxyOpt = Annotated[
    str | None,
    typer.Option(
        "--proxy",
        metavar="URL",
        envvar="RXCHECK_PROXY",
        callback=_proxy_url,
        help="HTTP(S) proxy URL (default: HTTP(S)_PROXY).",
    ),
]
ProxyNamesOpt = Annotated[
    bool,
    typer.Option(
        "--proxy-resolves-names",
        help="Hand the proxy names this machine cannot resolve (metadata and internal names are still refused).",
    ),
]
PortsOpt = Annotated[
    str | None,
    typer.Option(
        "--ports", metavar="PORTS", help="Ports that may be fetched, e.g. 80,443,8080, or 'any' (default: 80,443)."
    ),
]
PageTimeoutOpt = Annotated[
    float,
    typer.Option(
        "--page-timeout", metavar="SECONDS", min=0.1, help="Seconds one page may take in total, redirects included."
    ),
]
SiteTimeoutOpt = Annotated[
    float, typer.Option("--site-timeout", metavar="SECONDS", min=0.1, help="Seconds one whole site may take.")
]
MaxBodyOpt = Annotated[
    int,
    typer.Option(
        "--max-body-bytes", metavar="BYTES", min=1, help="Largest page body accepted, counted after decompression."
    ),
]
CaOpt = Annotated[
    Path | None, typer.Option("--ca-bundle", metavar="FILE", help="CA bundle file for TLS (corporate networks).")
]
PrivateOpt = Annotated[
    bool,
    typer.Option(
        "--allow-private",
        envvar="RXCHECK_ALLOW_PRIVATE",
        help="Allow loopback and private addresses, and any port (local testing). Link-local and cloud metadata "
        "addresses stay refused.",
    ),
]
PagesOpt = Annotated[int, typer.Option("--max-pages", metavar="N", min=1, max=50, help="Pages fetched per site.")]
RobotsOpt = Annotated[bool, typer.Option("--robots/--no-robots", help="Obey robots.txt.")]
DbOpt = Annotated[
    str | None,
    typer.Option(
        "--db",
        metavar="DB",
        help="SQLite file, or postgresql://user@host/db (default: $RXCHECK_DB or ./rxcheck.sqlite).",
    ),
]


def _silence_stdout() -> None:
    """After a closed pipe, send what is left for standard output nowhere, so Python's exit flush cannot fail."""
    devnull = os.open(os.devnull, os.O_WRONLY)
    try:
        os.dup2(devnull, sys.stdout.fileno())
    except (OSError, ValueError):  # stdout is not a real file (an in-process test runner)
        pass
    finally:
        os.close(devnull)


def fail(message: str, code: int = 2) -> None:
    typer.echo(f"rxcheck: error: {message}", err=True)
    raise typer.Exit(code)


def make_checker(
    rules: list[Path] | None, max_pages: int = 12, robots: bool = True, deadline: float = 60.0, workers: int = 0
):
    from rxcheck.pipeline import Checker

    try:
        return Checker(rules_dirs=rules or (), max_pages=max_pages, obey_robots=robots, deadline=deadline,
                       workers=workers)  # fmt: skip
    except RxcheckError as exc:
        fail(str(exc).splitlines()[0] + (" (run `rxcheck rules validate` for all problems)"
                                          if "\n" in str(exc) else ""))  # fmt: skip


def make_limits(ports: str | None, page_timeout: float, site_timeout: float, max_body_bytes: int):
    from rxcheck.fetch.limits import ANY_PORT, FetchLimits

    allowed: frozenset[int] | None = None
    if ports is not None and ports.strip().lower() == "any":
        allowed = ANY_PORT
    elif ports is not None:
        try:
            allowed = frozenset(int(p) for p in ports.split(",") if p.strip())
            return FetchLimits(ports=allowed or None, page_deadline=page_timeout, site_deadline=site_timeout,
                               max_body_bytes=max_body_bytes)  # fmt: skip
        except ValueError:
            fail(f"--ports takes port numbers separated by commas, or 'any', not {ports!r}")
    return FetchLimits(ports=allowed, page_deadline=page_timeout, site_deadline=site_timeout,
                       max_body_bytes=max_body_bytes)  # fmt: skip


@app.command(cls=PlainCommand)
def check(
    url: Annotated[
        str, typer.Argument(metavar="URL", help="The pharmacy website to check, e.g. https://shop.example/")
    ],
    json_out: Annotated[bool, typer.Option("--json", help="Print the result as JSON.")] = False,
    replay: ReplayOpt = None,
    save_warc: SaveOpt = None,
    rules: RulesOpt = None,
    jurisdiction: JurisdictionOpt = Jurisdiction.auto,
    fail_on: Annotated[
        FailOn | None, typer.Option("--fail-on", help="Exit 1 when the verdict is at or above this level.")
    ] = None,
    proxy: ProxyOpt = None,
    ca_bundle: CaOpt = None,
    allow_private: PrivateOpt = False,
    max_pages: PagesOpt = 12,
    robots: RobotsOpt = True,
    ports: PortsOpt = None,
    proxy_resolves_names: ProxyNamesOpt = False,
    page_timeout: PageTimeoutOpt = 20.0,
    site_timeout: SiteTimeoutOpt = 60.0,
    max_body_bytes: MaxBodyOpt = 3_000_000,
) -> None:
    """Check one pharmacy website and explain the verdict."""
    from rxcheck import report  # here, not at the top: `--help` and the other commands do without the fetcher
    from rxcheck.fetch.factory import open_fetcher
    from rxcheck.result import VERDICT_RANK
    from rxcheck.urls import normalize_url

    try:
        normalize_url(url)
    except RxcheckError as exc:
        fail(str(exc))
    limits = make_limits(ports, page_timeout, site_timeout, max_body_bytes)
    checker = make_checker(rules, max_pages, robots, site_timeout)

    async def run():
        async with open_fetcher(replay=replay, save_warc=save_warc, proxy=proxy, ca_bundle=ca_bundle, limits=limits,
                                allow_private=allow_private,
                                proxy_resolves_names=proxy_resolves_names) as fetcher:  # fmt: skip
            return await checker.check(url, fetcher, jurisdiction=jurisdiction.value)

    try:
        result = asyncio.run(run())
    except RxcheckError as exc:
        fail(str(exc))
    except KeyboardInterrupt:
        fail("interrupted", 130)
    typer.echo(report.to_json(result) if json_out else report.to_text(result))
    if fail_on and VERDICT_RANK[result.verdict] >= VERDICT_RANK[fail_on.value]:
        raise typer.Exit(1)


@app.command(cls=PlainCommand)
def audit(
    source: Annotated[
        str, typer.Argument(metavar="FILE", help="A file with one URL per line, or - for standard input.")
    ],
    out: Annotated[
        Path | None, typer.Option("--out", metavar="FILE", help="Write results here (default: standard output).")
    ] = None,
    fmt: Annotated[
        Format,
        typer.Option("--format", help="jsonl (full results), csv (one summary row) or html (a report; needs --out)."),
    ] = Format.jsonl,
    replay: ReplayOpt = None,
    save_warc: SaveOpt = None,
    rules: RulesOpt = None,
    jurisdiction: JurisdictionOpt = Jurisdiction.auto,
    concurrency: Annotated[
        int, typer.Option("--concurrency", metavar="N", min=1, max=256, help="Sites checked at once.")
    ] = 8,
    workers: Annotated[
        int | None,
        typer.Option(
            "--workers",
            metavar="N",
            min=0,
            max=64,
            help="Processes that judge fetched sites (default: one per core but one; 0: in this process).",
        ),
    ] = None,
    resume: Annotated[bool, typer.Option("--resume", help="Skip URLs already in --out; append the rest.")] = False,
    proxy: ProxyOpt = None,
    ca_bundle: CaOpt = None,
    allow_private: PrivateOpt = False,
    max_pages: PagesOpt = 12,
    robots: RobotsOpt = True,
    ports: PortsOpt = None,
    proxy_resolves_names: ProxyNamesOpt = False,
    page_timeout: PageTimeoutOpt = 20.0,
    site_timeout: SiteTimeoutOpt = 60.0,
    max_body_bytes: MaxBodyOpt = 3_000_000,
    queue: Annotated[
        bool, typer.Option("--queue", help="Queue the list for `rxcheck worker`s in --db (PostgreSQL) and exit.")
    ] = False,
    db: DbOpt = None,
    api_key: Annotated[
        str | None,
        typer.Option(
            "--api-key", metavar="KEY", envvar="RXCHECK_API_KEY", help="With --queue: the API key that may follow it."
        ),
    ] = None,
) -> None:
    """Check every URL in a list; results stream out as each site finishes.

    Each result is written as one complete, flushed line. Duplicate and malformed lines of the list are reported on
    standard error, with their line numbers, and skipped. After a crash, `--resume` checks only what is missing.
    With --queue, the list is streamed into the database instead and the audit's id printed; follow it with
    `GET /v1/audits/` and that id (using --api-key's key).
    """
    from rxcheck import report
    from rxcheck.audit import audit as run_audit
    from rxcheck.audit import audit_urls, done_urls, write_line
    from rxcheck.fetch.factory import open_fetcher

    if queue:
        _queue_audit(source, db, api_key, jurisdiction.value)
        return
    if resume and out is None:
        fail("--resume needs --out")
    if out is not None and out.is_dir():
        fail(f"--out names a folder, not a file: {out}")
    if out is not None and not out.parent.is_dir():
        fail(f"no such folder for --out: {out.parent}")
    if resume and out is not None and out.exists() and out.stat().st_size > 0 and fmt is not Format.html:
        with out.open(encoding="utf-8", errors="replace") as written:
            holds_jsonl = written.readline().lstrip().startswith("{")
        if holds_jsonl == (fmt is Format.csv):
            fail(f"--resume --format {fmt.value} onto {out}, which holds {'JSON Lines' if holds_jsonl else 'CSV'}")
    report_out = None
    if fmt is Format.html:  # results stream to a JSON Lines sidecar; the report is written from it at the end
        if out is None:
            fail("--format html needs --out (the report is a file)")
        from rxcheck.report_html import sidecar_path

        report_out, out, fmt = out, sidecar_path(out), Format.jsonl
    limits = make_limits(ports, page_timeout, site_timeout, max_body_bytes)
    from rxcheck.workers import default_workers

    checker = make_checker(rules, max_pages, robots, site_timeout, default_workers() if workers is None else workers)
    skip = done_urls(out, fmt.value) if resume and out else set()
    with ExitStack() as stack:
        stack.callback(checker.close)
        if source == "-":
            lines = sys.stdin
            total = None
        else:
            path = Path(source)
            if not path.is_file():
                fail(f"no such file: {source}")
            with path.open(encoding="utf-8", errors="replace") as counting:
                total = sum(1 for _, url in audit_urls(counting) if url not in skip)
            lines = stack.enter_context(path.open(encoding="utf-8", errors="replace"))

        def on_problem(number: int, reason: str) -> None:
            typer.echo(f"rxcheck: {source}:{number}: {reason}", err=True)

        urls = ((index, url) for index, url in audit_urls(lines, on_problem) if url not in skip)
        appending = resume and out is not None and out.exists() and out.stat().st_size > 0
        stream = stack.enter_context(out.open("a" if appending else "w", encoding="utf-8")) if out else sys.stdout
        if fmt is Format.csv and not appending:
            write_line(stream, report.csv_header())
        # a bar only when the results do not go to the same terminal, where it would overwrite their lines
        shown = sys.stderr.isatty() and (out is not None or not sys.stdout.isatty())
        progress = stack.enter_context(_progress(total)) if shown else None

        def on_result(result) -> None:
            write_line(stream, report.to_csv_row(result) if fmt is Format.csv else report.to_json(result, indent=None))
            if progress is not None:
                progress.advance()

        async def run():
            async with open_fetcher(replay=replay, save_warc=save_warc, proxy=proxy, ca_bundle=ca_bundle,
                                    limits=limits, allow_private=allow_private,
                                    proxy_resolves_names=proxy_resolves_names) as fetcher:  # fmt: skip
                return await run_audit(urls, checker, fetcher, on_result=on_result, concurrency=concurrency,
                                       jurisdiction=jurisdiction.value)  # fmt: skip

        try:
            counts = asyncio.run(run())
        except RxcheckError as exc:
            fail(str(exc))
        except KeyboardInterrupt:
            fail("interrupted; results so far are saved (use --resume to continue)", 130)
        except BrokenPipeError:  # the reader went away (`| head`): stop quietly, as Unix tools do
            _silence_stdout()
            raise typer.Exit(0) from None
    summary = ", ".join(f"{verdict} {n}" for verdict, n in sorted(counts.items())) or "no URLs"
    typer.echo(f"rxcheck: audited {sum(counts.values())} sites: {summary}", err=True)
    if report_out is not None:
        _write_html_report(out, report_out)


@app.command("report", cls=PlainCommand)
def html_report(
    results: Annotated[
        Path, typer.Argument(metavar="RESULTS", help="An audit's results (JSON Lines, as `audit` writes them).")
    ],
    out: Annotated[
        Path | None, typer.Option("--out", metavar="FILE", help="The HTML file to write (default: RESULTS.html).")
    ] = None,
) -> None:
    """Turn audit results into one self-contained HTML report: summary, charts, every finding with its evidence."""
    _write_html_report(results, out or results.with_suffix(".html"))


def _write_html_report(results: Path, out: Path) -> None:
    from rxcheck.report_html import write_report

    try:
        summary = write_report(results, out)
    except RxcheckError as exc:
        fail(str(exc))
    if summary.skipped:
        lines = ", ".join(map(str, summary.skipped_lines)) + (
            ", ..." if summary.skipped > len(summary.skipped_lines) else ""
        )
        typer.echo(f"rxcheck: warning: {summary.skipped} line(s) of {results} are not results and were left out "
                   f"(line {lines})", err=True)  # fmt: skip
    size = out.stat().st_size / 1e6
    typer.echo(f"rxcheck: wrote {out} ({summary.total} sites, {size:.1f} MB)", err=True)


def _queue_audit(source: str, db: str | None, api_key: str | None, jurisdiction: str) -> None:
    from rxcheck.api.auth import KeyRing
    from rxcheck.api.distributed import queue_audit
    from rxcheck.api.settings import Settings
    from rxcheck.audit import read_urls

    try:
        settings = Settings.from_env(db_path=db)
    except RxcheckError as exc:
        fail(str(exc))
    owner = KeyRing([api_key]).identify(api_key) if api_key else "cli"
    if source != "-" and not Path(source).is_file():
        fail(f"no such file: {source}")
    with sys.stdin if source == "-" else Path(source).open(encoding="utf-8") as lines:
        try:
            audit_id, total = asyncio.run(
                queue_audit(settings, read_urls(lines), jurisdiction=jurisdiction, owner=owner or "cli")
            )
        except RxcheckError as exc:
            fail(str(exc).splitlines()[0])
    typer.echo(audit_id)
    typer.echo(f"rxcheck: queued {total} URLs as audit {audit_id}", err=True)


class _progress:
    """A progress bar on standard error (only when it is a terminal)."""

    def __init__(self, total: int | None) -> None:
        from rich.progress import BarColumn, MofNCompleteColumn, Progress, TimeElapsedColumn

        self.bar = Progress("[progress.description]{task.description}", BarColumn(), MofNCompleteColumn(),
                            TimeElapsedColumn(), transient=True)  # fmt: skip
        self.bar.console.stderr = True
        self.task = self.bar.add_task("auditing", total=total)

    def __enter__(self) -> _progress:
        self.bar.start()
        return self

    def __exit__(self, *exc) -> None:
        self.bar.stop()

    def advance(self) -> None:
        self.bar.advance(self.task)


# The spelling before `--rules`: a rule pack directory as an argument, still accepted.
FormerDirArg = Annotated[Path | None, typer.Argument(metavar="DIR", hidden=True)]


def _rule_dirs(rules: list[Path] | None, directory: Path | None) -> list[Path]:
    return [*(rules or ()), *([directory] if directory else [])]


@rules_app.command("validate", cls=PlainCommand)
def rules_validate(
    rules: RulesOpt = None,
    strict: Annotated[bool, typer.Option("--strict", help="Fail (exit 1) on warnings too.")] = False,
    directory: FormerDirArg = None,
) -> None:
    """Check a whole pack: every rule file, its patterns and selectors, `overrides.yaml` and reference files.
    Problems (exit 1) are listed on stdout with file and line; warnings (on stderr) name what is never used."""
    from rxcheck.engine.loader import validate_pack
    from rxcheck.reference import bundled_rules_dir

    directories = _rule_dirs(rules, directory) or [bundled_rules_dir()]
    for missing in (d for d in directories if not d.is_dir()):
        fail(f"no such rule directory: {missing}")
    failed = warned_any = False
    for pack_dir in directories:
        report = validate_pack(pack_dir)
        for problem in report.problems:
            typer.echo(problem)
        for warning in report.warnings:
            typer.echo(f"warning: {warning}", err=True)
        where = f"{pack_dir}: " if len(directories) > 1 else ""
        overrides = " and overrides.yaml" if report.has_overrides else ""
        warned = f", {len(report.warnings)} warning(s)" if report.warnings else ""
        if report.problems:
            typer.echo(f"{where}{len(report.problems)} problem(s) in {report.rule_files} rule files{overrides}{warned}",
                       err=True)  # fmt: skip
        else:
            typer.echo(f"{where}{report.rule_files} rule files{overrides} valid{warned}", err=True)
        failed = failed or bool(report.problems)
        warned_any = warned_any or bool(report.warnings)
    if failed or (strict and warned_any):
        raise typer.Exit(1)


@rules_app.command("test", cls=PlainCommand)
def rules_test(rules: RulesOpt = None, directory: FormerDirArg = None) -> None:
    """Run the test cases each rule carries (`tests: match / no_match` in the rule file): those of the --rules
    packs, or of the bundled pack."""
    from rxcheck.engine.ruletests import run_rule_tests

    try:
        outcomes = run_rule_tests(_rule_dirs(rules, directory))
    except RxcheckError as exc:
        fail(str(exc).splitlines()[0])
    failures = [o for o in outcomes if not o.passed]
    for outcome in failures:
        typer.echo(f"FAIL {outcome.describe()}")
    typer.echo(f"{len(outcomes) - len(failures)} passed, {len(failures)} failed")
    if failures:
        raise typer.Exit(1)


@rules_app.command("list", cls=PlainCommand)
def rules_list(rules: RulesOpt = None) -> None:
    """List the effective rules (the bundled pack with the --rules packs layered over it): id, kind, severity,
    weight, name."""
    checker = make_checker(rules)
    typer.echo(f"rules version {checker.pack.version}")
    for rule in checker.pack.active():
        typer.echo(f"{rule.id:<40} {rule.kind:<12} {rule.severity:<8} {rule.weight:>5g}  {rule.name}")


@rules_app.command("schema", cls=PlainCommand)
def rules_schema() -> None:
    """Print the JSON Schema that rule files follow."""
    import json

    from rxcheck.engine.loader import json_schema

    typer.echo(json.dumps(json_schema(), indent=2))


@app.command(cls=PlainCommand)
def serve(
    host: Annotated[str, typer.Option("--host", metavar="ADDRESS", help="Address to listen on.")] = "127.0.0.1",
    port: Annotated[int, typer.Option("--port", metavar="PORT", help="Port to listen on.")] = 8000,
    replay: ReplayOpt = None,
    db: DbOpt = None,
    rules: RulesOpt = None,
) -> None:
    """Run the HTTP API (verdicts for browser extensions, audit jobs)."""
    from rxcheck.api.server import serve as run_server

    if replay is not None and not replay.is_file():
        fail(f"no such archive: {replay}")

    try:
        run_server(host=host, port=port, replay=replay, db=db, rules_dirs=rules or [])
    except RxcheckError as exc:
        fail(str(exc).splitlines()[0])


@app.command(cls=PlainCommand)
def worker(
    db: DbOpt = None,
    concurrency: Annotated[
        int, typer.Option("--concurrency", metavar="N", min=1, max=256, help="Sites checked at once.")
    ] = 8,
    replay: ReplayOpt = None,
    rules: RulesOpt = None,
    name: Annotated[
        str | None, typer.Option("--name", metavar="NAME", help="This worker's name in the queue's records.")
    ] = None,
) -> None:
    """Run distributed audit jobs from a PostgreSQL database (start as many as you like, on any machine)."""
    import logging

    from rxcheck.api.settings import Settings
    from rxcheck.api.worker import run_worker

    if not logging.getLogger().handlers:
        logging.basicConfig(level=logging.INFO, format="%(levelname)s: %(name)s: %(message)s")
    try:
        settings = Settings.from_env(db_path=db, replay=replay, rules_dirs=tuple(rules or ()) or None)
        asyncio.run(run_worker(settings, concurrency=concurrency, name=name))
    except RxcheckError as exc:
        fail(str(exc).splitlines()[0])
    except KeyboardInterrupt:
        pass
