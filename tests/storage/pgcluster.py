"""A throwaway PostgreSQL cluster for tests: initdb + pg_ctl in a temporary directory, on a unix socket only.

The server listens on no TCP port (`listen_addresses = ''`), so it sends nothing past this machine and never
collides with another run. PostgreSQL refuses to run as root: when the tests run as root (CI), the cluster
belongs to the `postgres` user (created by Debian's package) and its commands run through `runuser`.
"""

from __future__ import annotations

import glob
import os
import pwd
import shutil
import subprocess
import tempfile
from dataclasses import dataclass
from pathlib import Path


class NoPostgres(RuntimeError):
    """PostgreSQL's server binaries are not installed here."""


def server_bin_dir() -> Path:
    """Where initdb and pg_ctl are: `$RXCHECK_PG_BIN`, else the newest `/usr/lib/postgresql/*/bin`."""
    if os.environ.get("RXCHECK_PG_BIN"):
        return Path(os.environ["RXCHECK_PG_BIN"])
    found = sorted(glob.glob("/usr/lib/postgresql/*/bin/initdb"), key=lambda p: int(Path(p).parts[-3]))
    if not found:
        raise NoPostgres("no PostgreSQL server found (install Debian's `postgresql`, or set RXCHECK_PG_BIN)")
    return Path(found[-1]).parent


@dataclass
class Cluster:
    root: Path
    bin_dir: Path
    user: str | None  # run the server as this user (when we are root), else as ourselves

    @property
    def socket_dir(self) -> Path:
        return self.root / "socket"

    def url(self, database: str = "postgres") -> str:
        role = self.user or pwd.getpwuid(os.getuid()).pw_name
        return f"postgresql://{role}@/{database}?host={self.socket_dir}"

    def _run(self, *args: str) -> None:
        command = [str(self.bin_dir / args[0]), *args[1:]]
        if self.user:
            command = ["runuser", "-u", self.user, "--", *command]
        subprocess.run(command, check=True, capture_output=True, timeout=120, cwd=self.root)  # a dir the user can read

    def start(self) -> None:
        data = self.root / "data"
        self._run("initdb", "-D", str(data), "-A", "trust", "-E", "UTF8", "--no-sync", "-U", self.user or self.role)
        options = f"-c listen_addresses='' -k {self.socket_dir} -c fsync=off -c max_connections=200"
        self._run("pg_ctl", "-D", str(data), "-l", str(self.root / "server.log"), "-o", options, "-w", "start")

    @property
    def role(self) -> str:
        return pwd.getpwuid(os.getuid()).pw_name

    def stop(self) -> None:
        try:
            self._run("pg_ctl", "-D", str(self.root / "data"), "-m", "immediate", "-w", "stop")
        finally:
            shutil.rmtree(self.root, ignore_errors=True)


def start_cluster() -> Cluster:
    """Start a new cluster; the caller stops it. Raises `NoPostgres` when the server is not installed."""
    bin_dir = server_bin_dir()
    user = None
    if os.getuid() == 0:
        try:
            owner = pwd.getpwnam("postgres")
        except KeyError:
            raise NoPostgres("running as root and there is no `postgres` user to run the server") from None
        user = owner.pw_name
    root = Path(tempfile.mkdtemp(prefix="rxcheck-pg-"))
    (root / "socket").mkdir()
    if user:
        for path in (root, root / "socket"):
            os.chown(path, owner.pw_uid, owner.pw_gid)
    cluster = Cluster(root, bin_dir, user)
    try:
        cluster.start()
    except BaseException:
        shutil.rmtree(root, ignore_errors=True)
        raise
    return cluster
