"""The Python library as the README documents it: `check_sync`, and the README's example, run as written."""

import re
from pathlib import Path

import pytest

import rxcheck
from rxcheck import Checker, RxcheckError, check_sync, to_text

ROOT = Path(__file__).resolve().parent.parent
HARTWELL = "https://www.hartwellpharmacy.co.uk/"


def test_check_sync_checks_a_site_from_the_fixture_archive(fixture_warc):
    result = check_sync(HARTWELL, replay=fixture_warc)
    assert isinstance(result, rxcheck.Result)
    assert (result.verdict, result.jurisdiction, result.jurisdiction_source) == ("legitimate", "GB", "inferred")
    assert to_text(result).startswith(f"{HARTWELL}: LEGITIMATE")


def test_check_sync_takes_a_jurisdiction_a_checker_and_a_path_as_text(fixture_warc):
    result = check_sync(HARTWELL, replay=str(fixture_warc), jurisdiction="US", checker=Checker(max_pages=3))
    assert (result.jurisdiction, result.jurisdiction_source) == ("US", "given")
    assert len(result.pages) <= 3


def test_check_sync_gives_bad_urls_and_missing_sites_as_results(fixture_warc):
    assert check_sync("not a url", replay=fixture_warc).error.type == "invalid_url"
    assert check_sync("https://not-in-the-archive.example/", replay=fixture_warc).error.type == "not_in_archive"


def test_check_sync_raises_for_a_missing_archive(tmp_path):
    with pytest.raises(RxcheckError, match="cannot open the WARC"):
        check_sync(HARTWELL, replay=tmp_path / "missing.warc.gz")


async def test_check_sync_works_where_an_event_loop_already_runs(fixture_warc):
    """As in a Jupyter notebook, whose cells run inside an event loop."""
    assert check_sync(HARTWELL, replay=fixture_warc).verdict == "legitimate"


def _readme_example() -> str:
    readme = (ROOT / "README.md").read_text(encoding="utf-8")
    section = readme[readme.index("## The Python library") :]
    return re.search(r"```python\n(.*?)```", section, re.S).group(1)


def test_the_readme_example_runs_as_written(monkeypatch, capsys):
    monkeypatch.chdir(ROOT)  # its paths are the repository's, as for the README's other commands
    exec(compile(_readme_example(), "README.md", "exec"), {"__name__": "__readme__"})
    printed = capsys.readouterr().out.splitlines()
    assert printed[0] == "legitimate 0 GB inferred"
    assert printed[1] == f"{HARTWELL}: LEGITIMATE (risk 0/100)"
    assert f"{HARTWELL} legitimate  []" in printed
    assert "https://not-in-the-archive.example/ unreachable not_in_archive []" in printed
    assert printed[-1].startswith("error: cannot open the WARC missing.warc.gz")
