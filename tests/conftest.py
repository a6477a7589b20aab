"""Shared fixtures: every test gets its own output folder, store and pseudonymisation key."""

from __future__ import annotations

import pytest

from pipelines.store import Store


@pytest.fixture(autouse=True)
def _isolated_env(tmp_path, monkeypatch):
    # Never touch the user's real key, store or output folder.
    monkeypatch.setenv("SUARA_HOME", str(tmp_path / "home"))
    monkeypatch.setenv("SUARA_CONFIG_DIR", str(tmp_path / "config"))
    monkeypatch.delenv("SUARA_DB", raising=False)
    monkeypatch.delenv("SUARA_SECRET_FILE", raising=False)
    monkeypatch.setenv("HF_HUB_OFFLINE", "1")
    monkeypatch.setenv("TRANSFORMERS_OFFLINE", "1")


@pytest.fixture
def db_url(tmp_path) -> str:
    return f"sqlite:///{tmp_path / 'suara.db'}"


@pytest.fixture
def store(db_url) -> Store:
    s = Store(db_url)
    yield s
    s.close()


# ---- PostgreSQL: tests parametrised over both back ends ---------------------------------------
# `.ci/run` starts a throwaway server (scripts/pg.sh) and sets SUARA_TEST_PG; without it the
# PostgreSQL cases skip and the summary says the store ran on SQLite only.

import os  # noqa: E402

PG_URL = os.environ.get("SUARA_TEST_PG")


def _reset_pg(url: str) -> None:
    from sqlalchemy import create_engine, text

    engine = create_engine(url)
    with engine.begin() as conn:
        conn.execute(text("DROP SCHEMA public CASCADE"))
        conn.execute(text("CREATE SCHEMA public"))
    engine.dispose()


@pytest.fixture
def pg_url() -> str:
    if not PG_URL:
        pytest.skip("no PostgreSQL server (SUARA_TEST_PG unset): SQLite only")
    _reset_pg(PG_URL)
    return PG_URL


@pytest.fixture(params=["sqlite", pytest.param("postgresql", marks=pytest.mark.postgres)])
def any_db_url(request, tmp_path) -> str:
    """A fresh, empty database URL on each back end."""
    if request.param == "sqlite":
        return f"sqlite:///{tmp_path / 'suara.db'}"
    return request.getfixturevalue("pg_url")


def pytest_terminal_summary(terminalreporter):
    if PG_URL:
        terminalreporter.write_line(f"store back ends: SQLite and PostgreSQL ({PG_URL.split('@')[-1]})")
    else:
        terminalreporter.write_line("store back ends: SQLite only (no PostgreSQL server: SUARA_TEST_PG unset)")
