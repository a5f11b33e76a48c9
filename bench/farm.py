"""A farm of realistic pharmacy sites on loopback: the fixture sites copied under new host names, served by nginx.

    python -m bench.farm OUT_DIR --sites 150        # write the farm and print its nginx command line

Each copy `n` of a fixture site (`fixtures/sites/<id>/`, layout in fixtures/FORMAT.md) gets the host
`s<n>-<id>.farm.test` (its other hosts, `hosts/<name>/`, get `s<n>-<k>-<id>.farm.test`); every absolute link to one
of the site's own hosts is rewritten to the new name, its redirects become nginx `return`s, and a site without a
robots.txt gets a permissive one. Start URLs are http:// even where the fixture's is https:// (nginx serves plain
HTTP). The farm also holds a dense-text worst case (`dense.farm.test`: 12 pages of 300 product rows each) and a
12-page site for the first-check figure (`slow.farm.test`, proxied by nginx to a server that waits 100 ms per
response, `bench.slow_server`).

nginx serves every host on 127.0.0.1:<port> with one `server` block per host; clients use it as a forward proxy
(`http_proxy=http://127.0.0.1:<port>`): nginx accepts absolute-form request lines (`GET http://host/path`) and picks
the server by that host. Its access log records status, content type and user agent of every response, so what
each tool fetched can be counted.
"""

from __future__ import annotations

import argparse
import os
import pwd
import re
import shutil
import socket
import subprocess
import time
from dataclasses import dataclass, field
from pathlib import Path
from urllib.parse import urlsplit

import yaml

ROOT = Path(__file__).resolve().parent.parent
FIXTURES = ROOT / "fixtures" / "sites"
DOMAIN = "farm.test"
PAGE_CAP = 12  # rxcheck's default --max-pages; the Scrapy baseline uses the same
TEXT_SUFFIXES = {".html", ".htm", ".txt", ".xml", ""}
ROBOTS = "User-agent: *\nAllow: /\n"
LOG_FORMAT = "$status\\t$sent_http_content_type\\t$host\\t$request_uri\\t$bytes_sent\\t$http_user_agent"
DENSE_HOST, SLOW_HOST = f"dense.{DOMAIN}", f"slow.{DOMAIN}"


def dense_rows(count: int = 300) -> str:
    """The dense worst case: `count` product rows of drug names, strengths and prices (also used by extract_cost)."""
    return "".join(
        f"<div><h3>Product {i}</h3><p>Tadalafil 20mg, 30 tabs – ${i}.99</p><a href='/p{i}'>Buy</a></div>"
        for i in range(count)
    )


@dataclass
class Site:
    """One served host: its files (URL path -> bytes) and redirects (exact path -> (status, target))."""

    host: str
    files: dict[str, bytes] = field(default_factory=dict)
    redirects: dict[str, tuple[int, str]] = field(default_factory=dict)
    upstream: str | None = None  # proxied to this address instead of served from files


@dataclass
class Farm:
    directory: Path
    urls: list[str]  # start URLs of the realistic sites, in order
    dense_url: str
    slow_url: str

    @property
    def www(self) -> Path:
        return self.directory / "www"

    @property
    def hosts_file(self) -> Path:
        """An /etc/hosts naming every farm host 127.0.0.1 (for `bench.run`'s private mount namespace)."""
        return self.directory / "hosts"


def fixture_ids() -> list[str]:
    return sorted(path.parent.name for path in FIXTURES.glob("*/site.yaml"))


def _rewriter(hosts: dict[str, str]):
    names = "|".join(re.escape(host) for host in sorted(hosts, key=len, reverse=True))
    pattern = re.compile(rf"(?:https?:)?//({names})(?![a-z0-9.-])", re.IGNORECASE)
    return lambda text: pattern.sub(lambda m: f"http://{hosts[m.group(1).lower()]}", text)


def _read_tree(folder: Path) -> dict[str, bytes]:
    """URL path (as nginx maps it onto files) -> content, for every file under `folder`."""
    files = (path for path in folder.rglob("*") if path.is_file())
    return {"/" + path.relative_to(folder).as_posix(): path.read_bytes() for path in files}


def copy_site(site_id: str, number: int) -> tuple[str, list[Site]]:
    """Copy `number` of a fixture site: its start URL and its hosts, with links rewritten to the new names."""
    folder = FIXTURES / site_id
    meta = yaml.safe_load((folder / "site.yaml").read_text(encoding="utf-8"))
    start = urlsplit(meta["url"])
    prefix = f"s{number:04d}"
    trees = {start.hostname: _read_tree(folder / "pages")}
    for other in sorted((folder / "hosts").glob("*")) if (folder / "hosts").is_dir() else []:
        trees[other.name.lower()] = _read_tree(other)
    names = {old: f"{prefix}-{site_id}.{DOMAIN}" if old == start.hostname else f"{prefix}-{k}-{site_id}.{DOMAIN}"
             for k, old in enumerate(trees)}  # fmt: skip
    rewrite = _rewriter(names)
    sites = []
    for old, tree in trees.items():
        site = Site(names[old])
        for path, body in tree.items():
            if Path(path).suffix.lower() in TEXT_SUFFIXES:
                body = rewrite(body.decode("utf-8", "surrogateescape")).encode("utf-8", "surrogateescape")
            site.files[path] = body
        site.files.setdefault("/robots.txt", ROBOTS.encode())
        sites.append(site)
    for path, target in (meta.get("redirects") or {}).items():
        target = target if isinstance(target, dict) else {"to": target}
        sites[0].redirects[path] = (int(target.get("status", 301)), rewrite(target["to"]))
    url = f"http://{names[start.hostname]}{start.path or '/'}" + (f"?{start.query}" if start.query else "")
    return url, sites


def dense_site() -> Site:
    links = "".join(f"<li><a href='/category-{k}.html'>Category {k}</a></li>" for k in range(1, PAGE_CAP))
    page = "<!DOCTYPE html><html><head><title>{title}</title></head><body><ul>{links}</ul>{rows}</body></html>"
    site = Site(DENSE_HOST, {"/robots.txt": ROBOTS.encode()})
    site.files["/index.html"] = page.format(title="Dense pharmacy", links=links, rows=dense_rows()).encode()
    for k in range(1, PAGE_CAP):
        site.files[f"/category-{k}.html"] = page.format(title=f"Category {k}", links=links, rows=dense_rows()).encode()
    return site


def twelve_page_site(site_id: str = "legit-hartwell") -> Site:
    """A fixture site on `slow.farm.test`, padded to 12 HTML pages with copies of its pages linked from its index."""
    _, (site, *_) = copy_site(site_id, 0)
    rewrite = _rewriter({site.host: SLOW_HOST})
    files = {path: rewrite(body.decode()).encode() if path.endswith(".html") else body
             for path, body in site.files.items()}  # fmt: skip
    pages = sorted(path for path in files if path.endswith(".html") and path != "/index.html")
    extra = [f"/more-{k}.html" for k in range(PAGE_CAP - 1 - len(pages))]
    for k, path in enumerate(extra):
        files[path] = files[pages[k % len(pages)]]
    links = "".join(f"<a href='{path}'>More {k}</a> " for k, path in enumerate(extra))
    files["/index.html"] = files["/index.html"].replace(b"</body>", f"<p>{links}</p></body>".encode(), 1)
    return Site(SLOW_HOST, files)


def write_site(www: Path, site: Site) -> None:
    for path, body in site.files.items():
        target = www / site.host / path.lstrip("/")
        target.parent.mkdir(parents=True, exist_ok=True)
        target.write_bytes(body)


def build(directory: Path, count: int) -> Farm:
    """Write `count` realistic sites (the fixtures in turn), the dense and the slow site under `directory`/www."""
    www = directory / "www"
    shutil.rmtree(www, ignore_errors=True)
    ids = fixture_ids()
    urls, sites = [], []
    for n in range(count):
        url, copies = copy_site(ids[n % len(ids)], n + 1)
        urls.append(url)
        sites.extend(copies)
    sites.append(dense_site())
    slow = twelve_page_site()
    sites.append(slow)
    for site in sites:
        write_site(www, site)
    (directory / "sites.yaml").write_text(yaml.safe_dump([_describe(site) for site in sites], sort_keys=False))
    (directory / "urls.txt").write_text("".join(f"{url}\n" for url in urls))
    hosts = "".join(f"127.0.0.1 {site.host}\n" for site in sites)
    (directory / "hosts").write_text(f"127.0.0.1 localhost\n::1 localhost\n{hosts}")
    return Farm(directory, urls, f"http://{DENSE_HOST}/", f"http://{SLOW_HOST}/")


def _describe(site: Site) -> dict:
    return {"host": site.host, "redirects": {p: list(r) for p, r in site.redirects.items()}}


def nginx_config(farm: Farm, port: int, slow_upstream: str | None = None) -> str:
    """An nginx.conf serving every farm host on 127.0.0.1:`port`, everything kept under the farm's directory."""
    run = farm.directory / "nginx"
    user = f"user {pwd.getpwuid(os.geteuid()).pw_name};" if os.geteuid() == 0 else ""
    servers = []
    for entry in yaml.safe_load((farm.directory / "sites.yaml").read_text()):
        host = entry["host"]
        if host == SLOW_HOST:
            body = f"location / {{ proxy_pass http://{slow_upstream}; proxy_set_header Host $host; }}" if (
                slow_upstream) else "return 503;"  # fmt: skip
        else:
            body = f"root {farm.www / host};\n" + "".join(
                f"    location = {path} {{ return {status} {_quote(target)}; }}\n"
                for path, (status, target) in entry["redirects"].items()
            )
        servers.append(f"  server {{\n    listen 127.0.0.1:{port};\n    server_name {host};\n    {body}\n  }}")
    temp = " ".join(f"{kind}_temp_path {run / kind};" for kind in ("client_body", "proxy", "fastcgi", "uwsgi", "scgi"))
    return f"""{user}
worker_processes 1;
pid {run / "nginx.pid"};
error_log {run / "error.log"} warn;
events {{ worker_connections 4096; }}
http {{
  {temp}
  types {{ text/html html htm; text/plain txt; application/pdf pdf; application/xml xml; }}
  default_type text/html;
  charset utf-8;
  charset_types text/plain application/xml;
  log_format bench "{LOG_FORMAT}";
  access_log {run / "access.log"} bench;
  absolute_redirect off;
  keepalive_requests 100000;
  server_names_hash_max_size 8192;
  server_names_hash_bucket_size 128;
  server {{ listen 127.0.0.1:{port} default_server; return 404; }}
{chr(10).join(servers)}
}}
"""


def _quote(target: str) -> str:
    return '"' + target.replace('"', "%22") + '"'


def free_port() -> int:
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        return sock.getsockname()[1]


def wait_for_port(port: int, seconds: float = 10) -> None:
    deadline = time.monotonic() + seconds
    while True:
        try:
            socket.create_connection(("127.0.0.1", port), timeout=1).close()
            return
        except OSError:
            if time.monotonic() > deadline:
                raise
            time.sleep(0.05)


@dataclass
class Served:
    """What nginx served between two points of its access log."""

    requests: int = 0
    html_pages: int = 0  # 200 responses with a text/html content type
    html_bytes: int = 0
    statuses: dict[str, int] = field(default_factory=dict)


class Nginx:
    """nginx serving a farm, as a non-daemon child process with its own prefix, pid and log files."""

    def __init__(self, farm: Farm, port: int | None = None, slow_upstream: str | None = None) -> None:
        self.farm, self.port = farm, port or free_port()
        self.run_dir = farm.directory / "nginx"
        self.run_dir.mkdir(parents=True, exist_ok=True)
        self.conf = self.run_dir / "nginx.conf"
        self.conf.write_text(nginx_config(farm, self.port, slow_upstream))
        self.log = self.run_dir / "access.log"
        self.process: subprocess.Popen | None = None

    @property
    def proxy(self) -> str:
        return f"http://127.0.0.1:{self.port}"

    def command(self, *extra: str) -> list[str]:
        return ["nginx", "-p", str(self.run_dir), "-e", str(self.run_dir / "error.log"), "-c", str(self.conf), *extra]

    def test(self) -> subprocess.CompletedProcess:
        return subprocess.run(self.command("-t"), capture_output=True, text=True)

    def __enter__(self) -> Nginx:
        self.log.touch()
        self.process = subprocess.Popen(self.command("-g", "daemon off;"), stderr=subprocess.DEVNULL)
        wait_for_port(self.port)
        return self

    def __exit__(self, *_: object) -> None:
        if self.process is not None:
            self.process.terminate()
            self.process.wait(10)

    def mark(self) -> int:
        """A point in the access log; `served(mark)` counts what was served after it."""
        return self.log.stat().st_size

    def served(self, since: int, user_agent: str | None = None) -> Served:
        served = Served()
        with self.log.open("rb") as log:
            log.seek(since)
            for line in log.read().decode("utf-8", "replace").splitlines():
                status, ctype, _host, _uri, size, agent = (line.split("\t") + [""] * 6)[:6]
                if user_agent is not None and user_agent not in agent:
                    continue
                served.requests += 1
                served.statuses[status] = served.statuses.get(status, 0) + 1
                if status == "200" and ctype.startswith("text/html"):
                    served.html_pages += 1
                    served.html_bytes += int(size or 0)
        return served


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("directory", type=Path)
    parser.add_argument("--sites", type=int, default=150)
    parser.add_argument("--port", type=int, default=8080)
    args = parser.parse_args()
    farm = build(args.directory.resolve(), args.sites)
    nginx = Nginx(farm, args.port)
    check = nginx.test()
    print(check.stderr.strip())
    print(f"{len(farm.urls)} start URLs in {farm.directory / 'urls.txt'}; serve with:\n  {' '.join(nginx.command())}"
          f" -g 'daemon off;'\nthen use it as a proxy: http_proxy={nginx.proxy}")  # fmt: skip


if __name__ == "__main__":
    main()
