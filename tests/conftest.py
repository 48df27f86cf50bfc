"""Shared fixtures: a state store on SQLite and on PostgreSQL, and a clean environment."""

from __future__ import annotations

import os
import uuid
from collections.abc import Iterator
from pathlib import Path

import psycopg
import pytest
from hypothesis import settings
from psycopg import sql

from leadbridge.store.db import Store

# CI runs the same property-test examples every time (a red build means a change broke
# something); local runs keep exploring new examples.
settings.register_profile("ci", derandomize=True, print_blob=True)
if os.environ.get("CI"):
    settings.load_profile("ci")

# CLI tables are sized once, when leadbridge.cli_common is imported; pytest's workers carry
# COLUMNS=80, which would cut the cells the CLI tests read.
os.environ["COLUMNS"] = "200"

POSTGRES_ADMIN_DSN = os.environ.get(
    "LEADBRIDGE_TEST_POSTGRES", "host=127.0.0.1 port=5432 dbname=test user=postgres"
)
# CI sets this so that a run whose PostgreSQL tests were skipped fails instead of passing.
REQUIRE_POSTGRES = os.environ.get("LEADBRIDGE_REQUIRE_POSTGRES") == "1"


def _postgres_reachable() -> str | None:
    try:
        with psycopg.connect(POSTGRES_ADMIN_DSN, connect_timeout=3):
            return None
    except psycopg.Error as exc:
        return str(exc).strip().splitlines()[0]


@pytest.fixture(scope="session")
def postgres_admin_dsn() -> str:
    """DSN of the PostgreSQL maintenance database, or a skip (a failure under CI)."""
    problem = _postgres_reachable()
    if problem is not None:
        message = f"PostgreSQL not reachable at {POSTGRES_ADMIN_DSN}: {problem}"
        if REQUIRE_POSTGRES:
            pytest.fail(message)
        pytest.skip(message)
    return POSTGRES_ADMIN_DSN


@pytest.fixture
def postgres_url(postgres_admin_dsn: str) -> Iterator[str]:
    """A freshly created, empty PostgreSQL database for one test, dropped afterwards."""
    name = f"leadbridge_test_{uuid.uuid4().hex[:12]}"
    with psycopg.connect(postgres_admin_dsn, autocommit=True) as admin:
        admin.execute(sql.SQL("CREATE DATABASE {}").format(sql.Identifier(name)))
    info = psycopg.conninfo.conninfo_to_dict(postgres_admin_dsn)
    yield (
        f"postgresql+psycopg://{info.get('user', 'postgres')}@{info.get('host', '127.0.0.1')}:"
        f"{info.get('port', 5432)}/{name}"
    )
    with psycopg.connect(postgres_admin_dsn, autocommit=True) as admin:
        admin.execute(
            sql.SQL("DROP DATABASE IF EXISTS {} WITH (FORCE)").format(sql.Identifier(name))
        )


@pytest.fixture(params=["sqlite", pytest.param("postgresql", marks=pytest.mark.postgres)])
def database_url(request: pytest.FixtureRequest, tmp_path: Path) -> str:
    """An empty state-store URL on each backend: the same tests run on both."""
    if request.param == "sqlite":
        return f"sqlite:///{tmp_path / 'state.db'}"
    url: str = request.getfixturevalue("postgres_url")
    return url


@pytest.fixture
def store(database_url: str) -> Iterator[Store]:
    """A migrated state store on each backend."""
    opened = Store.open(database_url=database_url)
    yield opened
    opened.close()


@pytest.fixture(autouse=True)
def _clean_env(monkeypatch: pytest.MonkeyPatch, tmp_path: Path) -> None:
    """No developer's LEADBRIDGE_* variables or ./leadbridge.toml leak into a test."""
    for name in list(os.environ):
        if name.startswith("LEADBRIDGE_") and name not in (
            "LEADBRIDGE_TEST_POSTGRES",
            "LEADBRIDGE_REQUIRE_POSTGRES",
        ):
            monkeypatch.delenv(name)
    monkeypatch.chdir(tmp_path)


def pytest_sessionfinish(session: pytest.Session, exitstatus: int) -> None:
    """Under CI, fail the run if any PostgreSQL test was skipped rather than run."""
    if not REQUIRE_POSTGRES:
        return
    reporter = session.config.pluginmanager.get_plugin("terminalreporter")
    if reporter is None:
        return
    skipped = [
        report
        for report in reporter.stats.get("skipped", [])
        if "postgres" in getattr(report, "keywords", {})
    ]
    ran = [
        report
        for report in reporter.stats.get("passed", []) + reporter.stats.get("failed", [])
        if "postgres" in getattr(report, "keywords", {}) and report.when == "call"
    ]
    if skipped or not ran:
        reporter.write_line(
            f"FAILED: {len(skipped)} PostgreSQL test(s) skipped and {len(ran)} run; "
            "CI requires them to run",
            red=True,
        )
        session.exitstatus = pytest.ExitCode.TESTS_FAILED
