"""The benchmark's site farm (bench/farm.py): copies under new names, links rewritten, a valid nginx config.

No timing and no network: the farm is written to a temporary folder; `nginx -t` only reads its config.
"""

from __future__ import annotations

import shutil
import sys
from pathlib import Path

import pytest
import yaml

ROOT = Path(__file__).resolve().parents[2]
sys.path.insert(0, str(ROOT))  # bench/ is not an installed package

from bench.farm import DENSE_HOST, FIXTURES, SLOW_HOST, Nginx, build, copy_site, fixture_ids  # noqa: E402


@pytest.fixture(scope="module")
def farm(tmp_path_factory: pytest.TempPathFactory):
    return build(tmp_path_factory.mktemp("farm"), 3)


def test_copies_get_new_hosts_and_http_start_urls(farm) -> None:
    ids = fixture_ids()[:3]
    assert farm.urls[0].startswith(f"http://s0001-{ids[0]}.farm.test/")
    assert len(farm.urls) == len(set(farm.urls)) == 3
    hosts = {path.name for path in farm.www.iterdir()}
    assert {DENSE_HOST, SLOW_HOST} <= hosts
    assert all((farm.www / host / "robots.txt").is_file() for host in hosts)


def test_links_to_the_sites_own_hosts_are_rewritten() -> None:
    site_id = next(i for i in fixture_ids() if (FIXTURES / i / "hosts").is_dir())
    old_hosts = [yaml.safe_load((FIXTURES / site_id / "site.yaml").read_text())["url"].split("/")[2]]
    old_hosts += [path.name for path in (FIXTURES / site_id / "hosts").iterdir()]
    url, sites = copy_site(site_id, 7)
    assert url.startswith(f"http://s0007-{site_id}.farm.test")
    assert [site.host for site in sites][1:] == [f"s0007-1-{site_id}.farm.test"]
    for site in sites:
        for path, body in site.files.items():
            if path.endswith(".html"):
                assert not any(f"//{host}".encode() in body for host in old_hosts), (site.host, path)
    assert all(".farm.test" in target for _, target in sites[0].redirects.values() if "//" in target)


def test_slow_site_has_twelve_pages(farm) -> None:
    assert len(list((farm.www / SLOW_HOST).rglob("*.html"))) == 12


@pytest.mark.skipif(shutil.which("nginx") is None, reason="nginx is not installed")
def test_nginx_accepts_the_config(farm) -> None:
    check = Nginx(farm, port=8089, slow_upstream="127.0.0.1:8090").test()
    assert check.returncode == 0, check.stderr
