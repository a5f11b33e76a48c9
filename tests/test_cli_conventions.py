"""Command-line conventions: shell completion, help that reads well, one `--rules` option, audit rows joinable back
to the list (`input_index`), and jurisdiction labels that say whether it was given or assumed."""

import asyncio
import csv
import json
import os
import re
import subprocess
import sys
from pathlib import Path
from types import SimpleNamespace

import pytest
import typer
from typer.testing import CliRunner

from rxcheck import report
from rxcheck.audit import audit
from rxcheck.cli import app
from rxcheck.pipeline import Checker
from rxcheck.report_html import write_report
from rxcheck.result import Result

runner = CliRunner()
ROOT = Path(__file__).resolve().parent.parent
FIXTURES = ROOT / "fixtures"
HARTWELL = "https://www.hartwellpharmacy.co.uk/"
# What an installed `rxcheck` runs: its console entry point, under its own name.
ENTRY_POINT = "import sys; sys.argv[0] = 'rxcheck'; from rxcheck.console import main; main()"


def run(*args: str, **kwargs):
    return runner.invoke(app, list(args), catch_exceptions=False, prog_name="rxcheck", **kwargs)


def _entry_point_env(**extra: str) -> dict[str, str]:
    path = os.pathsep.join(p for p in (str(ROOT), os.environ.get("PYTHONPATH", "")) if p)
    return {**os.environ, "PYTHONPATH": path, **extra}


# --- shell completion ---


def test_show_completion_prints_the_script_for_the_shell_it_runs_from(tmp_path):
    command = f'{sys.executable} -c "{ENTRY_POINT}" --show-completion; exit $?'  # `; exit`: bash stays the parent
    shown = subprocess.run(["bash", "-c", command], capture_output=True, text=True, timeout=120, env=_entry_point_env())
    assert shown.returncode == 0, shown.stderr
    assert "_RXCHECK_COMPLETE=complete_bash" in shown.stdout
    assert "complete -o default -F _rxcheck_completion rxcheck" in shown.stdout


def test_install_completion_writes_the_script_and_sources_it(tmp_path):
    command = f'{sys.executable} -c "{ENTRY_POINT}" --install-completion; exit $?'
    installed = subprocess.run(["bash", "-c", command], capture_output=True, text=True, timeout=120,
                               env=_entry_point_env(HOME=str(tmp_path)))  # fmt: skip
    assert installed.returncode == 0, installed.stderr
    script = tmp_path / ".bash_completions" / "rxcheck.sh"
    assert "_rxcheck_completion" in script.read_text()
    assert f"source '{script}'" in (tmp_path / ".bashrc").read_text()


@pytest.mark.parametrize(
    ("words", "expected"),
    [
        ("rxcheck au", ["audit"]),
        ("rxcheck rules ", ["validate", "test", "list", "schema"]),
        ("rxcheck check --jurisdiction ", ["auto", "GB", "EU", "US", "CA"]),
        ("rxcheck audit x.txt --format ", ["jsonl", "csv", "html"]),
    ],
)
def test_the_completion_script_completes_commands_and_choices(words, expected):
    cword = str(len(words.split()) - (0 if words.endswith(" ") else 1))
    env = {"_RXCHECK_COMPLETE": "complete_bash", "COMP_WORDS": words, "COMP_CWORD": cword}
    result = runner.invoke(app, [], prog_name="rxcheck", env=env)
    assert result.exit_code == 0
    assert result.output.split() == expected


# --- help that reads well ---


def _command_paths(command: typer.core.TyperGroup, path: tuple[str, ...] = ()):
    yield path
    for name, sub in getattr(command, "commands", {}).items():
        yield from _command_paths(sub, (*path, name))


RAW_TYPE_NAMES = re.compile(r"<\w|list\[|\{\w+\}|\b(TEXT|PATH|INTEGER|FLOAT|BOOLEAN|str|bool|int|float)\b|x[<>]=")


def test_every_help_page_names_values_in_words_not_types():
    paths = list(_command_paths(typer.main.get_command(app)))
    assert len(paths) >= 11  # the program, its 5 commands, `rules` and its 4
    for path in paths:
        result = run(*path, "--help")
        assert result.exit_code == 0, path
        found = RAW_TYPE_NAMES.search(result.output)
        assert found is None, f"`rxcheck {' '.join(path)} --help` shows {found.group(0)!r}:\n{result.output}"
    usage = run("check", "--help").output
    assert "Usage: rxcheck check [OPTIONS] URL" in usage
    assert re.search(r"--max-pages\s+N \[1 to 50\]", usage) and re.search(r"--replay\s+WARC", usage)


# --- one --rules option ---

RULE = """\
id: zz-miracle-cure
name: Miracle cure claims
category: content
kind: red_flag
severity: low
weight: 5
description: A rule for tests.
message: The shop promises a miracle cure.
references: [tests]
condition: probe
checks:
  probe:
    text:
      phrases: [miracle cure]
tests:
  match:
    - html: "<p>A miracle cure for everything</p>"
  no_match:
    - html: "<p>Pain relief tablets</p>"
"""


@pytest.fixture
def pack(tmp_path) -> Path:
    (tmp_path / "pack" / "content").mkdir(parents=True)
    (tmp_path / "pack" / "content" / "zz-miracle-cure.yaml").write_text(RULE, encoding="utf-8")
    return tmp_path / "pack"


def test_rules_list_validate_and_test_share_one_rules_option():
    group = typer.main.get_command(app).commands["rules"]
    commands = [group.commands[name] for name in ("list", "validate", "test")]
    options = [next(p for p in command.params if p.name == "rules") for command in commands]
    shapes = {(tuple(o.opts), o.multiple, o.help, o.metavar) for o in options}
    assert shapes == {(("--rules",), True, options[0].help, "DIR")}
    assert "default: the bundled pack" in options[0].help


def test_rules_list_with_and_without_a_local_pack(pack):
    bundled = run("rules", "list")
    layered = run("rules", "list", "--rules", str(pack))
    assert bundled.exit_code == layered.exit_code == 0
    assert "zz-miracle-cure" not in bundled.output and "zz-miracle-cure" in layered.output
    assert len(layered.output.splitlines()) == len(bundled.output.splitlines()) + 1


def test_rules_validate_with_and_without_a_local_pack(pack, tmp_path):
    assert "1 rule files valid" in run("rules", "validate", "--rules", str(pack)).output
    bundled = run("rules", "validate")
    assert bundled.exit_code == 0 and re.search(r"^\d{2,} rule files", bundled.output, re.M)
    broken = tmp_path / "broken"
    (broken / "content").mkdir(parents=True)
    (broken / "content" / "zz-broken.yaml").write_text("id: zz-broken\nseverity: extreme\n", encoding="utf-8")
    both = run("rules", "validate", "--rules", str(pack), "--rules", str(broken))
    assert both.exit_code == 1 and "zz-broken.yaml:" in both.output
    assert f"{pack}: 1 rule files valid" in both.output
    assert run("rules", "validate", "--rules", str(tmp_path / "missing")).exit_code == 2


def test_rules_test_with_and_without_a_local_pack(pack):
    layered = run("rules", "test", "--rules", str(pack))
    assert layered.exit_code == 0 and layered.output.strip() == "2 passed, 0 failed"
    bundled = run("rules", "test")
    passed = int(bundled.output.split()[-4])
    assert bundled.exit_code == 0 and passed > 100


def test_the_former_directory_argument_still_works(pack):
    assert run("rules", "validate", str(pack)).output == run("rules", "validate", "--rules", str(pack)).output
    assert run("rules", "test", str(pack)).output.strip() == "2 passed, 0 failed"


# --- audit rows joinable back to the list ---


class _ReverseChecker:
    """Every URL waits until the one after it has finished: the last URL of the list finishes first."""

    pack = SimpleNamespace(version="test")

    def __init__(self, urls: list[str]) -> None:
        self.urls = urls
        self.finished = {url: asyncio.Event() for url in urls}

    async def check(self, url: str, fetcher, *, jurisdiction: str = "auto") -> Result:
        after = self.urls.index(url) + 1
        if after < len(self.urls):
            await self.finished[self.urls[after]].wait()
        self.finished[url].set()
        return Result(url=url, verdict="legitimate", risk_score=0, jurisdiction="GB", rules_version="test")


async def test_audit_results_carry_their_input_index_whatever_order_they_finish_in():
    urls = [f"https://shop{n}.example/" for n in range(5)]
    written: list[Result] = []
    await audit([(n * 2 + 1, url) for n, url in enumerate(urls)], _ReverseChecker(urls), fetcher=None,
                on_result=written.append, concurrency=5)  # fmt: skip
    assert [r.url for r in written] == urls[::-1]
    assert [r.input_index for r in written] == [9, 7, 5, 3, 1]


LISTING = "# sites from the Q3 sheet\n{0}\n\n{1}\n{2}  # a note\n"  # the URLs are on lines 2, 4 and 5


@pytest.fixture
def listing(tmp_path, labels):
    urls = [row["url"] for row in labels[:3]]
    path = tmp_path / "list.txt"
    path.write_text(LISTING.format(*urls), encoding="utf-8")
    return path, dict(zip(urls, (2, 4, 5), strict=True))


def _finish_in_reverse(monkeypatch, urls: list[str]) -> None:
    """The real check, but each URL of the list waits for the next one to finish first."""
    original = Checker.check
    finished = {url: asyncio.Event() for url in urls}

    async def check(self, url, fetcher, *, jurisdiction="auto"):
        after = urls.index(url) + 1
        if after < len(urls):
            await finished[urls[after]].wait()
        try:
            return await original(self, url, fetcher, jurisdiction=jurisdiction)
        finally:
            finished[url].set()

    monkeypatch.setattr(Checker, "check", check)


@pytest.mark.parametrize("fmt", ["jsonl", "csv"])
def test_audit_rows_join_back_to_the_list_when_later_urls_finish_first(fmt, listing, tmp_path, fixture_warc,
                                                                        monkeypatch):  # fmt: skip
    path, line_of = listing
    _finish_in_reverse(monkeypatch, list(line_of))
    out = tmp_path / f"out.{fmt}"
    result = run("audit", str(path), "--replay", str(fixture_warc), "--out", str(out), "--format", fmt)
    assert result.exit_code == 0, result.output
    with out.open(encoding="utf-8") as handle:
        rows = [json.loads(line) for line in handle] if fmt == "jsonl" else list(csv.DictReader(handle))
    assert [row["url"] for row in rows] == list(line_of)[::-1]  # written as they finished
    assert {row["url"]: int(row["input_index"]) for row in rows} == line_of
    lines = path.read_text(encoding="utf-8").splitlines()
    for row in rows:
        assert lines[int(row["input_index"]) - 1].startswith(row["url"])


def test_resume_keeps_the_input_index(listing, tmp_path, fixture_warc):
    path, line_of = listing
    out = tmp_path / "out.jsonl"
    first = run("audit", str(path), "--replay", str(fixture_warc), "--out", str(out), "--concurrency", "1")
    assert first.exit_code == 0
    kept = out.read_text(encoding="utf-8").splitlines()[:1]
    out.write_text(kept[0] + "\n", encoding="utf-8")  # the earlier run was killed after one site
    assert run("audit", str(path), "--replay", str(fixture_warc), "--out", str(out), "--resume").exit_code == 0
    rows = [json.loads(line) for line in out.read_text(encoding="utf-8").splitlines()]
    assert len(rows) == 3 and {row["url"]: row["input_index"] for row in rows} == line_of


def test_check_results_have_no_input_index(fixture_warc):
    assert json.loads(run("check", "--json", "--replay", str(fixture_warc), HARTWELL).output)["input_index"] is None


# --- jurisdiction: given or assumed ---


def test_a_given_jurisdiction_is_reported_as_given(fixture_warc):
    text = run("check", "--replay", str(fixture_warc), "--jurisdiction", "US", HARTWELL).output
    assert "jurisdiction given: US" in text and "assumed" not in text
    data = json.loads(run("check", "--json", "--replay", str(fixture_warc), "--jurisdiction", "US", HARTWELL).output)
    assert (data["jurisdiction"], data["jurisdiction_source"]) == ("US", "given")


def test_an_inferred_jurisdiction_is_reported_as_assumed(fixture_warc):
    text = run("check", "--replay", str(fixture_warc), HARTWELL).output
    assert "jurisdiction assumed: GB (from the site's own signals)" in text
    data = json.loads(run("check", "--json", "--replay", str(fixture_warc), HARTWELL).output)
    assert (data["jurisdiction"], data["jurisdiction_source"]) == ("GB", "inferred")


def test_no_clear_signal_is_an_assumed_unknown(checker, make_site, html):
    site = make_site({"https://shop.example/": (html("<p>Tablets for sale. Add to basket.</p>", "Shop"), "home")})
    result = checker.assess(site)
    assert (result.jurisdiction, result.jurisdiction_source) == ("unknown", "inferred")
    assert "jurisdiction assumed: unknown (the site's own signals name none clearly" in report.to_text(result)


def test_a_site_not_read_has_no_jurisdiction_decided(fixture_warc):
    data = json.loads(
        run("check", "--json", "--replay", str(fixture_warc), "https://not-in-the-archive.example/").output
    )
    assert (data["jurisdiction"], data["jurisdiction_source"]) == ("auto", "undecided")
    text = run("check", "--replay", str(fixture_warc), "https://not-in-the-archive.example/").output
    assert "jurisdiction: not decided" in text


def test_a_result_written_before_the_source_was_recorded_claims_neither():
    old = Result.model_validate({"url": HARTWELL, "verdict": "legitimate", "risk_score": 0, "jurisdiction": "GB",
                                 "rules_version": "2026.01"})  # fmt: skip
    assert old.jurisdiction_source is None and report.jurisdiction_label(old) == "jurisdiction: GB"


def test_csv_and_html_report_agree_with_the_text(tmp_path, fixture_warc):
    listing = tmp_path / "list.txt"
    listing.write_text(f"{HARTWELL}\n", encoding="utf-8")
    table = tmp_path / "out.csv"
    given = ("--replay", str(fixture_warc), "--jurisdiction", "US")
    assert run("audit", str(listing), *given, "--out", str(table), "--format", "csv").exit_code == 0
    with table.open(encoding="utf-8") as handle:
        (row,) = csv.DictReader(handle)
    assert (row["jurisdiction"], row["jurisdiction_source"], row["input_index"]) == ("US", "given", "1")
    results = tmp_path / "out.jsonl"
    assert run("audit", str(listing), *given, "--out", str(results)).exit_code == 0
    write_report(results, tmp_path / "out.html")
    assert "jurisdiction given: US" in (tmp_path / "out.html").read_text(encoding="utf-8")
