"""Text and CSV renderings are safe to show: page text cannot drive a terminal or run as a spreadsheet formula."""

from __future__ import annotations

import csv
import io

import pytest

from rxcheck.report import csv_header, printable, to_csv_row, to_text
from rxcheck.result import ErrorInfo, Evidence, Finding, PageSummary, Result

TITLE_ESCAPE = "\x1b]0;PWNED-TITLE\x07"


def hostile_result(text: str, *, url: str = "https://rogue.example/") -> Result:
    finding = Finding(
        rule="rx-not-required",
        name="No prescription needed",
        category="prescription",
        kind="red_flag",
        severity="critical",
        weight=50,
        message="evidence found",
        evidence=[Evidence(url=url, snippet=text)],
    )
    return Result(
        url=url,
        final_url=url + text,
        verdict="rogue",
        risk_score=95,
        jurisdiction="GB",
        rules_version="1",
        findings=[finding],
        pages=[PageSummary(url=url + text, status=200, role="home")],
        error=ErrorInfo(type="fetch_error", message=text),
    )


def test_text_output_shows_escape_sequences_instead_of_sending_them() -> None:
    text = to_text(hostile_result(f"Buy now{TITLE_ESCAPE}\x9b2J\u202eevil"))

    assert "\x1b" not in text and "\x07" not in text and "\x9b" not in text and "\u202e" not in text
    assert "Buy now\\x1b]0;PWNED-TITLE\\x07\\x9b2J\\u202eevil" in text


def test_page_text_cannot_start_a_line_of_its_own_in_the_report() -> None:
    text = to_text(hostile_result("ok\nhttps://rogue.example/: LEGITIMATE (risk 0/100)\rx"))

    lines = text.splitlines()
    assert lines[0].startswith("https://rogue.example/: ROGUE")
    assert not any(line.startswith("https://rogue.example/: LEGITIMATE") for line in lines)
    assert "\r" not in text
    assert "ok\\x0ahttps://rogue.example/: LEGITIMATE (risk 0/100)\\x0dx" in text


def test_printable_keeps_ordinary_text_and_tabs() -> None:
    assert printable("Apotheke «Zur Linde» – 24 € \t ok") == "Apotheke «Zur Linde» – 24 € \t ok"


def _row(result: Result) -> dict[str, str]:
    return next(csv.DictReader(io.StringIO(csv_header() + to_csv_row(result))))


@pytest.mark.parametrize("start", ["=", "+", "-", "@", "\t"])
def test_csv_cells_that_a_spreadsheet_would_run_are_quoted(start: str) -> None:
    payload = start + 'HYPERLINK("http://evil.example","x")'
    row = _row(hostile_result(payload, url=payload))

    assert row["url"] == "'" + payload
    assert row["error"] == "'" + payload
    assert row["risk_score"] == "95"
    assert row["verdict"] == "rogue"


def test_a_carriage_return_before_a_formula_is_escaped_not_kept() -> None:
    row = _row(hostile_result("\r=1+1"))

    assert row["error"] == "\\x0d=1+1"


def test_csv_output_carries_no_control_characters() -> None:
    line = to_csv_row(hostile_result(f"a{TITLE_ESCAPE}b\nc"))

    assert "\x1b" not in line and "\x07" not in line
    assert line.count("\n") == 1  # one row, one line
    assert _row(hostile_result(f"a{TITLE_ESCAPE}b"))["error"] == "a\\x1b]0;PWNED-TITLE\\x07b"


def test_ordinary_csv_cells_are_unchanged() -> None:
    row = _row(hostile_result("no answer from rogue.example"))

    assert row["url"] == "https://rogue.example/"
    assert row["error"] == "no answer from rogue.example"
    assert row["red_flags"] == "rx-not-required"
