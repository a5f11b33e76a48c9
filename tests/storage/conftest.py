"""Fixtures for the storage and distributed-audit tests: a real PostgreSQL cluster (one per session, a fresh
database per test) and the `db` fixture that runs a test on both backends."""

from __future__ import annotations

import os
import uuid
from collections.abc import Iterator
from pathlib import Path

import psycopg
import pytest
from pgcluster import Cluster, NoPostgres, start_cluster


@pytest.fixture(scope="session")
def pg_cluster() -> Iterator[Cluster]:
    try:
        cluster = start_cluster()
    except NoPostgres as exc:
        if os.environ.get("CI"):
            pytest.fail(f"CI must test against PostgreSQL: {exc}")
        pytest.skip(str(exc))
    try:
        yield cluster
    finally:
        cluster.stop()


@pytest.fixture
def pg_url(pg_cluster: Cluster) -> str:
    """The URL of a new, empty database."""
    name = "t_" + uuid.uuid4().hex[:16]
    with psycopg.connect(pg_cluster.url(), autocommit=True) as conn:
        conn.execute(f"CREATE DATABASE {name}")
    return pg_cluster.url(name)


@pytest.fixture(params=["sqlite", "postgresql"])
def db(request: pytest.FixtureRequest, tmp_path: Path) -> str | Path:
    """A new database on each backend: a SQLite file, then a PostgreSQL URL."""
    if request.param == "sqlite":
        return tmp_path / "rxcheck.sqlite"
    return request.getfixturevalue("pg_url")
