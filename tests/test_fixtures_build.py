"""fixtures/build_warc.py: the fixture WARC is complete, deterministic and not stale."""

from __future__ import annotations

import importlib.util
import sys
from pathlib import Path
from urllib.parse import urlsplit

import pytest
from warcio.archiveiterator import ArchiveIterator

ROOT = Path(__file__).resolve().parents[1]
FIXTURES = ROOT / "fixtures"
SITES = FIXTURES / "sites"
COMMITTED = FIXTURES / "sites.warc.gz"


def _load_builder():
    spec = importlib.util.spec_from_file_location("fixtures_build_warc", FIXTURES / "build_warc.py")
    module = importlib.util.module_from_spec(spec)
    sys.modules[spec.name] = module
    spec.loader.exec_module(module)
    return module


bw = _load_builder()

SITE_DIRS = sorted(p for p in SITES.iterdir() if p.is_dir() and not p.name.startswith(".")) if SITES.is_dir() else []


def read_warc(path: Path) -> list[dict]:
    records = []
    with path.open("rb") as fh:
        for rec in ArchiveIterator(fh):
            item = {
                "type": rec.rec_type,
                "url": rec.rec_headers.get_header("WARC-Target-URI"),
                "id": rec.rec_headers.get_header("WARC-Record-ID"),
                "date": rec.rec_headers.get_header("WARC-Date"),
                "status": None,
                "headers": {},
            }
            if rec.http_headers is not None and rec.rec_type == "response":
                item["status"] = int(rec.http_headers.get_statuscode())
                item["headers"] = {k.lower(): v for k, v in rec.http_headers.headers}
            item["payload"] = rec.content_stream().read()
            records.append(item)
    return records


def responses(records: list[dict]) -> dict[str, dict]:
    return {r["url"]: r for r in records if r["type"] == "response"}


@pytest.fixture(scope="module")
def built(tmp_path_factory):
    out = tmp_path_factory.mktemp("warc") / "sites.warc.gz"
    sites = bw.build(SITES, out)
    return sites, out, read_warc(out)


@pytest.mark.parametrize("site_dir", SITE_DIRS, ids=[p.name for p in SITE_DIRS])
def test_site_yaml_valid(site_dir):
    meta = bw.load_site(site_dir)
    assert meta.label in bw.LABELS
    assert meta.site_id == site_dir.name
    assert (site_dir / "pages").is_dir(), f"{site_dir.name}: no pages/ folder"


def test_invalid_site_yaml_gives_one_line_error(tmp_path):
    site = tmp_path / "sites" / "bad-site"
    (site / "pages").mkdir(parents=True)
    (site / "pages" / "index.html").write_text("<html></html>")
    (site / "site.yaml").write_text(
        "url: https://www.example.com/\nlabel: dodgy\njurisdiction: GB\nlanguage: en\ndescription: x\nwhy: y\n"
    )
    with pytest.raises(bw.SiteError) as exc:
        bw.build(tmp_path / "sites", tmp_path / "out.warc.gz")
    msg = str(exc.value)
    assert "\n" not in msg
    assert "bad-site" in msg and "site.yaml" in msg and "dodgy" in msg

    (site / "site.yaml").write_text("url: https://www.example.com/\nlabel: rogue\n")
    with pytest.raises(bw.SiteError, match="missing required key"):
        bw.load_site(site)


def test_path_mapping():
    from pathlib import PurePosixPath as P

    assert bw.url_path_for(P("index.html")) == "/"
    assert bw.url_path_for(P("a/index.html")) == "/a/"
    assert bw.url_path_for(P("a/b.html")) == "/a/b.html"
    assert bw.url_path_for(P("robots.txt")) == "/robots.txt"
    assert bw.url_path_for(P("over-ons")) == "/over-ons"
    assert bw.content_type_for(P("over-ons"), b"<!DOCTYPE html><html></html>").startswith("text/html")
    assert bw.content_type_for(P("a/b.html")) == "text/html; charset=utf-8"
    assert bw.content_type_for(P("robots.txt")).startswith("text/plain")
    assert bw.content_type_for(P("leaflet.pdf")) == "application/pdf"


def test_start_urls_are_200_html(built):
    sites, _out, records = built
    resp = responses(records)
    for meta in sites:
        r = resp.get(meta.url)
        assert r is not None, f"{meta.site_id}: no response for start URL {meta.url}"
        assert r["status"] == 200, f"{meta.site_id}: start URL status {r['status']}"
        assert r["headers"]["content-type"].startswith("text/html"), meta.site_id
        assert b"<html" in r["payload"].lower(), meta.site_id


def test_redirects_have_location(built):
    sites, _out, records = built
    resp = responses(records)
    for meta in sites:
        for src, spec in meta.redirects.items():
            url = src if src.startswith("http") else urlsplit(meta.url)._replace(path=src).geturl()
            r = resp[url]
            assert r["status"] == spec["status"]
            assert r["headers"].get("location"), f"{meta.site_id}: redirect {src} has no Location"
            assert r["payload"] == b""


def test_record_count_matches_files(built):
    sites, _out, records = built
    expected_urls = set()
    for site_dir in SITE_DIRS:
        meta = bw.load_site(site_dir)
        expected_urls |= {r.url for r in bw.site_resources(site_dir, meta)}
    n_files = sum(
        1
        for site_dir in SITE_DIRS
        for sub in ("pages", "hosts")
        if (site_dir / sub).is_dir()
        for p in (site_dir / sub).rglob("*")
        if p.is_file()
    )
    n_redirects = sum(len(m.redirects) for m in sites)
    types = [r["type"] for r in records]
    assert types[0] == "warcinfo" and types.count("warcinfo") == 1
    assert types.count("response") == types.count("request") == len(expected_urls)
    with_query = {url for url in expected_urls if "?" in url}
    assert {url.split("?")[0] for url in with_query} <= expected_urls  # each is a copy of a served path
    assert len(expected_urls - with_query) <= n_files + n_redirects
    assert set(responses(records)) == expected_urls
    assert len(records) == 1 + 2 * len(expected_urls)
    for r in records[1:]:
        assert r["date"] == bw.WARC_DATE


def test_response_headers(built):
    _sites, _out, records = built
    for r in responses(records).values():
        assert r["headers"]["date"] == bw.HTTP_DATE
        assert int(r["headers"]["content-length"]) == len(r["payload"])
        assert r["url"].startswith("https://") or r["url"].startswith("http://")


def test_two_builds_identical(built, tmp_path):
    _sites, out1, records1 = built
    out2 = tmp_path / "again.warc.gz"
    bw.build(SITES, out2)
    records2 = read_warc(out2)
    assert records1 == records2
    assert out1.read_bytes() == out2.read_bytes()


def test_urls_and_labels_written(built):
    sites, out, _records = built
    urls = (out.parent / "urls.txt").read_text().splitlines()
    assert urls == [s.url for s in sorted(sites, key=lambda s: s.site_id)]
    lines = (out.parent / "labels.csv").read_text().splitlines()
    assert lines[0] == "site_id,url,label,jurisdiction,language,traps"
    assert len(lines) == 1 + len(sites)


def stale_urls(fresh_records: list[dict], old_records: list[dict]) -> list[str]:
    """URLs whose presence, status or payload differ between two archives."""
    fresh = {u: (r["status"], r["payload"]) for u, r in responses(fresh_records).items()}
    old = {u: (r["status"], r["payload"]) for u, r in responses(old_records).items()}
    return sorted(set(fresh) ^ set(old)) + sorted(u for u in set(fresh) & set(old) if fresh[u] != old[u])


def test_stale_archive_is_detected(tmp_path):
    site = tmp_path / "sites" / "demo-site"
    (site / "pages" / "about").mkdir(parents=True)
    (site / "pages" / "index.html").write_text("<!DOCTYPE html><html><title>Demo</title></html>")
    (site / "pages" / "about" / "index.html").write_text("<html><title>About</title></html>")
    (site / "site.yaml").write_text(
        "url: https://www.demo.example/\nlabel: not_a_pharmacy\njurisdiction: other\nlanguage: en\n"
        "description: x\nwhy: y\nredirects:\n  /old/: {to: /about/, status: 302}\n"
    )
    bw.build(tmp_path / "sites", tmp_path / "a.warc.gz")
    first = read_warc(tmp_path / "a.warc.gz")
    assert stale_urls(first, first) == []
    assert responses(first)["https://www.demo.example/old/"]["headers"]["location"] == "https://www.demo.example/about/"
    (site / "pages" / "about" / "index.html").write_text("<html><title>About us</title></html>")
    bw.build(tmp_path / "sites", tmp_path / "b.warc.gz")
    second = read_warc(tmp_path / "b.warc.gz")
    assert stale_urls(second, first) == ["https://www.demo.example/about/"]


@pytest.mark.skipif(not COMMITTED.exists(), reason="no committed fixtures/sites.warc.gz")
def test_committed_archive_is_fresh(built):
    _sites, out, records = built
    stale = stale_urls(records, read_warc(COMMITTED))
    assert not stale, (
        f"fixtures/sites.warc.gz is stale ({len(stale)} URLs differ, e.g. {stale[:3]}); "
        "rerun: python fixtures/build_warc.py"
    )
    for name in ("urls.txt", "labels.csv"):
        committed_file = FIXTURES / name
        if committed_file.exists():
            assert committed_file.read_text() == (out.parent / name).read_text(), (
                f"fixtures/{name} is stale; rerun: python fixtures/build_warc.py"
            )


def test_a_page_linked_with_a_query_is_served_as_its_path(tmp_path):
    site = tmp_path / "doorway"
    (site / "pages").mkdir(parents=True)
    (site / "hosts" / "store.example").mkdir(parents=True)
    (site / "site.yaml").write_text(
        "url: https://club.example/\nlabel: rogue\njurisdiction: other\nlanguage: en\n"
        "description: d\nwhy: w\ntraps: []\n"
    )
    (site / "pages" / "index.html").write_text(
        '<html><head><meta http-equiv="refresh" content="0;url=https://store.example/?ref=7"></head></html>'
    )
    (site / "hosts" / "store.example" / "index.html").write_text("<p>store</p>")
    urls = {r.url: r.body for r in bw.site_resources(site, bw.load_site(site))}
    assert urls["https://store.example/?ref=7"] == urls["https://store.example/"] == b"<p>store</p>"
