from __future__ import annotations

import csv
from collections.abc import Callable
from pathlib import Path

import pytest
from sites import build_site, page

from rxcheck.snapshot import Site

ROOT = Path(__file__).resolve().parent.parent
FIXTURES = ROOT / "fixtures"
FIXTURE_WARC = FIXTURES / "sites.warc.gz"


def fixture_labels() -> list[dict[str, str]]:
    with (FIXTURES / "labels.csv").open(encoding="utf-8") as handle:
        return list(csv.DictReader(handle))


@pytest.fixture(scope="session")
def fixture_warc() -> Path:
    assert FIXTURE_WARC.exists(), "fixtures/sites.warc.gz is missing: run `python fixtures/build_warc.py`"
    return FIXTURE_WARC


@pytest.fixture(scope="session")
def checker():
    from rxcheck.pipeline import Checker

    return Checker()


@pytest.fixture(scope="session")
def labels() -> list[dict[str, str]]:
    return fixture_labels()


@pytest.fixture(scope="session")
def url_labelled(labels):
    """The start URL of the first fixture site with a given label."""
    return lambda label: next(row["url"] for row in labels if row["label"] == label)


@pytest.fixture
def make_site() -> Callable[..., Site]:
    return build_site


@pytest.fixture
def html() -> Callable[..., str]:
    return page
