"""The command line, driven in-process: output, exit codes, WARC save/replay, audits and resume."""

import csv
import json
import shlex
import signal
import subprocess
import sys
from pathlib import Path

import pytest
from typer.testing import CliRunner

from rxcheck.cli import app

runner = CliRunner()
FIXTURES = Path(__file__).resolve().parent.parent / "fixtures"


def run(*args: str):
    return runner.invoke(app, list(args), catch_exceptions=False)


def test_help_lists_the_commands():
    result = run("--help")
    assert result.exit_code == 0
    for command in ("check", "audit", "rules", "serve"):
        assert command in result.output


def test_check_json_gives_the_shared_result_with_evidence_from_several_pages(fixture_warc, url_labelled):
    result = run("check", "--json", "--replay", str(fixture_warc), url_labelled("rogue"))
    assert result.exit_code == 0, result.output
    data = json.loads(result.output)
    assert set(data) >= {
        "url",
        "final_url",
        "verdict",
        "risk_score",
        "jurisdiction",
        "rules_version",
        "checked_at",
        "error",
        "site_type",
        "verdict_reason",
        "pages",
        "findings",
    }
    assert data["verdict"] == "rogue" and data["risk_score"] >= 70
    assert data["site_type"]["type"] == "pharmacy" and data["site_type"]["evidence"]
    assert data["verdict_reason"].startswith("rogue: ")
    pages_with_evidence = {e["url"] for f in data["findings"] for e in f["evidence"]}
    assert len(pages_with_evidence) >= 2
    finding = data["findings"][0]
    assert set(finding) == {"rule", "name", "category", "kind", "severity", "weight", "message", "evidence", "tags"}


def test_text_report_names_verdict_findings_and_pages(fixture_warc, url_labelled):
    result = run("check", "--replay", str(fixture_warc), url_labelled("rogue"))
    assert result.exit_code == 0
    assert "ROGUE" in result.output and "Red flags" in result.output and "Pages checked" in result.output


def test_fail_on_sets_exit_code(fixture_warc, url_labelled):
    assert run("check", "--replay", str(fixture_warc), "--fail-on", "suspicious", url_labelled("rogue")).exit_code == 1
    assert run("check", "--replay", str(fixture_warc), "--fail-on", "rogue", url_labelled("legitimate")).exit_code == 0


def test_url_missing_from_archive_is_unreachable_without_traceback(fixture_warc):
    result = run("check", "--json", "--replay", str(fixture_warc), "https://not-in-the-archive.example.com/")
    assert result.exit_code == 0
    data = json.loads(result.output)
    assert data["verdict"] == "unreachable"
    assert data["error"]["type"] == "not_in_archive"
    assert "Traceback" not in result.output


@pytest.mark.parametrize(
    "bad", ["ftp://x.example/", "http://", "https://exa mple.com/", "not a url", "javascript:alert(1)"]
)
def test_malformed_url_is_a_one_line_usage_error_not_a_report(bad, fixture_warc):
    result = run("check", "--replay", str(fixture_warc), bad)
    assert result.exit_code == 2
    lines = result.output.strip().splitlines()
    assert len(lines) == 1 and lines[0].startswith("rxcheck: error: "), result.output
    assert "UNREACHABLE" not in result.output and "Port could not be cast" not in result.output


def test_version_names_the_program_and_the_rules():
    result = run("--version")
    assert result.exit_code == 0
    assert result.output.startswith("rxcheck ") and "(rules 2026." in result.output


def test_short_help_option():
    assert run("-h").exit_code == 0 and "check" in run("-h").output
    assert "--json" in run("check", "-h").output


def test_an_audit_whose_reader_goes_away_ends_quietly(fixture_warc):
    """`rxcheck audit ... | head -1`: the closed pipe ends the audit at once, with no traceback."""
    command = (f"{shlex.quote(sys.executable)} -m rxcheck audit {shlex.quote(str(FIXTURES / 'urls.txt'))}"
               f" --replay {shlex.quote(str(fixture_warc))} --concurrency 2 | head -1")  # fmt: skip
    finished = subprocess.run(["bash", "-o", "pipefail", "-c", command], capture_output=True, text=True, timeout=300)
    assert json.loads(finished.stdout)["url"].startswith("https://")
    assert finished.returncode == 0 and "Traceback" not in finished.stderr and "Error" not in finished.stderr


def test_missing_warc_is_a_one_line_error(tmp_path):
    result = run("check", "--replay", str(tmp_path / "nope.warc.gz"), "https://x.example.com/")
    assert result.exit_code == 2
    assert "cannot open the WARC" in result.output and "Traceback" not in result.output


def test_saved_warc_replays_to_the_same_verdict_and_score(fixture_warc, tmp_path, url_labelled):
    saved = tmp_path / "run.warc.gz"
    url = url_labelled("legitimate")
    first = json.loads(run("check", "--json", "--replay", str(fixture_warc), "--save-warc", str(saved), url).output)
    second = json.loads(run("check", "--json", "--replay", str(saved), url).output)
    assert (second["verdict"], second["risk_score"]) == (first["verdict"], first["risk_score"])
    assert [f["rule"] for f in second["findings"]] == [f["rule"] for f in first["findings"]]


def test_audit_writes_one_line_per_url(fixture_warc, tmp_path):
    out = tmp_path / "audit.jsonl"
    urls = (FIXTURES / "urls.txt").read_text().split()
    result = run("audit", str(FIXTURES / "urls.txt"), "--replay", str(fixture_warc), "--out", str(out))
    assert result.exit_code == 0, result.output
    lines = [json.loads(line) for line in out.read_text().splitlines()]
    assert sorted(line["url"] for line in lines) == sorted(urls)


def test_audit_csv_and_resume_lose_nothing_and_repeat_nothing(fixture_warc, tmp_path):
    urls = (FIXTURES / "urls.txt").read_text().split()
    first_half = tmp_path / "first.txt"
    first_half.write_text("\n".join(urls[: len(urls) // 2]) + "\n")
    out = tmp_path / "audit.csv"
    assert (
        run("audit", str(first_half), "--replay", str(fixture_warc), "--out", str(out), "--format", "csv").exit_code
        == 0
    )
    with out.open("a") as handle:
        handle.write(urls[-1][:10])  # a line cut short when the earlier run was killed
    result = run("audit", str(FIXTURES / "urls.txt"), "--replay", str(fixture_warc), "--out", str(out),
                 "--format", "csv", "--resume")  # fmt: skip
    assert result.exit_code == 0, result.output
    with out.open() as handle:
        rows = list(csv.DictReader(handle))
    done = [row["url"] for row in rows if row["verdict"]]
    assert sorted(done) == sorted(urls)


def test_audit_reads_standard_input(fixture_warc, url_labelled):
    url = url_labelled("rogue")
    result = runner.invoke(app, ["audit", "-", "--replay", str(fixture_warc)], input=f"# a comment\n\n{url}\n")
    assert result.exit_code == 0
    assert json.loads(result.stdout.splitlines()[0])["url"] == url


def test_rules_validate_reports_every_broken_file(tmp_path):
    (tmp_path / "content").mkdir()
    (tmp_path / "content" / "a-broken.yaml").write_text("id: a-broken\nseverity: extreme\n")
    (tmp_path / "content" / "b-broken.yaml").write_text("id: [\n")
    result = run("rules", "validate", str(tmp_path))
    assert result.exit_code == 1
    assert "a-broken.yaml:" in result.output and "b-broken.yaml:" in result.output


def test_bundled_rules_validate_and_pass_their_tests():
    assert run("rules", "validate").exit_code == 0
    result = run("rules", "test")
    assert result.exit_code == 0, result.output


def test_broken_local_rules_give_a_clear_error(tmp_path, fixture_warc):
    (tmp_path / "content").mkdir()
    (tmp_path / "content" / "x-rule.yaml").write_text("id: x-rule\n")
    result = run("check", "--rules", str(tmp_path), "--replay", str(fixture_warc), "https://a.example.com/")
    assert result.exit_code == 2
    assert "x-rule.yaml" in result.output and "Traceback" not in result.output


@pytest.mark.parametrize(
    ("args", "says"),
    [
        (["audit", str(FIXTURES / "urls.txt"), "--out", "/nonexistent-dir/x.jsonl"], "no such folder for --out"),
        (["audit", str(FIXTURES / "urls.txt"), "--out", str(FIXTURES)], "names a folder"),
        (["serve", "--replay", "missing.warc.gz"], "no such archive"),
        (["check", "--proxy", "not a proxy", "https://x.example/"], "not a proxy URL"),
    ],
)
def test_everyday_mistakes_are_one_line_errors_with_exit_code_2(args, says):
    result = run(*args)
    assert result.exit_code == 2
    assert says in " ".join(result.output.replace("│", " ").split()) and "Traceback" not in result.output


def test_resume_refuses_to_mix_formats(tmp_path):
    out = tmp_path / "results.jsonl"
    out.write_text('{"url": "https://a.example/", "verdict": "rogue"}\n', encoding="utf-8")
    result = run("audit", str(FIXTURES / "urls.txt"), "--out", str(out), "--resume", "--format", "csv")
    assert result.exit_code == 2 and "holds JSON Lines" in result.output


def test_audit_lists_as_pasted_from_spreadsheets(tmp_path, fixture_warc):
    """A byte-order mark, trailing comments, junk and duplicates are reported once each and skipped; a CSV file
    with a `url` column works too."""
    pasted = tmp_path / "pasted.txt"
    pasted.write_text("\ufeffwww.hartwellpharmacy.co.uk  # from the Q3 list\n,,,\nhttps://www.hartwellpharmacy.co.uk/\n",
                      encoding="utf-8")  # fmt: skip
    table = tmp_path / "table.csv"
    table.write_text("name,url\nHartwell,https://www.hartwellpharmacy.co.uk/\n", encoding="utf-8")
    for listing, skipped in ((pasted, ["pasted.txt:2:", "pasted.txt:3: skipped"]), (table, [])):
        out = tmp_path / f"{listing.stem}.jsonl"
        result = run("audit", str(listing), "--replay", str(fixture_warc), "--out", str(out))
        assert result.exit_code == 0, result.output
        assert [json.loads(line)["verdict"] for line in out.read_text().splitlines()] == ["legitimate"]
        for line in skipped:
            assert line in result.output


@pytest.mark.parametrize("after", [0.3, 1.5])
def test_ctrl_c_while_loading_or_checking_ends_without_a_traceback(after, fixture_warc):
    started = subprocess.Popen(
        [sys.executable, "-m", "rxcheck", "check", "--replay", str(fixture_warc), "https://www.hartwellpharmacy.co.uk/"],
        stdout=subprocess.DEVNULL, stderr=subprocess.PIPE, text=True,
    )  # fmt: skip
    try:
        started.wait(timeout=after)
    except subprocess.TimeoutExpired:
        started.send_signal(signal.SIGINT)
    _, err = started.communicate(timeout=120)
    assert "Traceback" not in err
    assert started.returncode in (0, 130)  # 0 only if the check finished before the signal
