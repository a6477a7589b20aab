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
