"""Helpers for fact tests: run an extractor on a site built from HTML strings (`build_site`, in tests/conftest.py)."""

from __future__ import annotations

from collections.abc import Callable
from pathlib import Path

import pytest
from sites import build_site

from rxcheck.engine.loader import RulePack, load_pack
from rxcheck.facts import Facts
from rxcheck.reference import Reference, load_reference
from rxcheck.snapshot import Site

RULES = Path(__file__).resolve().parents[2] / "rules"


@pytest.fixture(scope="session")
def reference() -> Reference:
    return load_reference([RULES])


@pytest.fixture(scope="session")
def pack() -> RulePack:
    return load_pack()


@pytest.fixture
def run(pack: RulePack) -> Callable[..., Facts]:
    """Run one extractor (or `extract_facts`) on a site given as `url -> (html, role)`, or on a `Site`."""

    def run_extractor(extract, pages: dict | Site, **site_options) -> Facts:
        site = pages if isinstance(pages, Site) else build_site(pages, **site_options)
        result = extract(site, pack)
        return result if isinstance(result, Facts) else Facts(result)

    return run_extractor
