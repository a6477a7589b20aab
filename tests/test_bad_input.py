"""Bad input: one ``error:`` line naming what is wrong, the documented exit code, nothing stored lost.

One test per case of issue 10's list. Each first stores something, feeds the bad input through
the real command, and checks the stored data is still there.
"""

from __future__ import annotations

import os
import subprocess
import sys
from pathlib import Path

import pytest
from typer.testing import CliRunner

from pipelines.cli import app
from pipelines.store import Store
from scraper.fakes.playstore import FakePlayStore
from scraper.fakes.server import serve

REPO = Path(__file__).resolve().parent.parent
APP = "id.go.contoh.layanan"


def _one_error_line(res, code: int) -> str:
    """The command failed with ``code`` and said why in exactly one ``error:`` line."""
    err = res.stderr if hasattr(res, "stderr") else ""
    assert res.exit_code == code if hasattr(res, "exit_code") else res.returncode == code, (res.stdout, err)
    assert "Traceback" not in (res.stdout or "") + err
    lines = [ln for ln in err.splitlines() if ln.strip()]
    assert len(lines) == 1 and lines[0].startswith("error: "), err
    return lines[0]


def _seed(db_url: str, n: int = 3) -> Store:
    store = Store(db_url)
    store.upsert_mentions([dict(source="playstore", source_id=f"s{i}", app=APP, text=f"ulasan {i}",
                                created_at="2024-03-01T10:00:00") for i in range(n)])
    return store


def _invoke(*args):
    return CliRunner().invoke(app, list(args))


def test_store_path_that_is_not_a_database(tmp_path):
    notes = tmp_path / "notes.txt"
    notes.write_text("catatan rapat, bukan database\n" * 50)
    before = notes.read_bytes()
    line = _one_error_line(_invoke("status", "--db", f"sqlite:///{notes}"), 2)
    assert str(notes) in line and "not an SQLite database" in line
    assert notes.read_bytes() == before  # not turned into a database, not truncated


@pytest.mark.parametrize("where", ["folder", "under-a-file"])
def test_bad_sqlite_paths_are_bad_input(tmp_path, where):
    (tmp_path / "afile").write_text("x")
    path = tmp_path if where == "folder" else tmp_path / "afile" / "suara.db"
    line = _one_error_line(_invoke("status", "--db", f"sqlite:///{path}"), 2)
    assert str(path) in line
    assert (tmp_path / "afile").read_text() == "x"


def test_deeply_nested_json_import(tmp_path, db_url):
    store = _seed(db_url)
    deep = tmp_path / "reviews.json"
    deep.write_text("[" * 100_000 + "]" * 100_000)
    line = _one_error_line(_invoke("import", str(deep), "--app", APP, "--db", db_url), 2)
    assert str(deep) in line and "nested too deeply" in line
    assert store.count_mentions() == 3


def test_deeply_nested_toml_config(tmp_path):
    deep = tmp_path / "sources.toml"
    deep.write_text("x = " + "[" * 100_000 + "]" * 100_000 + "\n")
    line = _one_error_line(_invoke("sources", "--config", str(deep)), 2)
    assert str(deep) in line and ("nested too deeply" in line or "not valid TOML" in line)


def test_play_store_time_out_of_range(db_url, monkeypatch):
    monkeypatch.setenv("SUARA_RETRY_ATTEMPTS", "2")
    monkeypatch.setenv("SUARA_RETRY_WAIT_MAX", "0.01")
    fake = FakePlayStore()
    fake.add_app(APP)
    for i in range(30):
        fake.add_review(APP, content=f"ulasan {i}", at=1_700_000_000 + 60 * i)
    with serve(fake) as base:
        monkeypatch.setenv("SUARA_PLAYSTORE_URL", base)
        assert _invoke("crawl", "playstore", "--app", APP, "--db", db_url).exit_code == 0
        fake.add_review(APP, content="dari masa depan", at=10**20)  # Google sends epoch seconds; 1e20 overflows
        line = _one_error_line(_invoke("crawl", "playstore", "--app", APP, "--db", db_url), 3)
    assert APP in line and "out of range" in line and "100000000000000000000" in line
    store = Store(db_url)
    assert store.count_mentions() == 30
    state = store.get_state("playstore", APP, "id", "id")
    assert "out of range" in (state["last_error"] or "")  # status shows why, not an empty error


def test_mathtext_in_app_ids_and_queries_does_not_break_trends(tmp_path, db_url):
    store = Store(db_url)
    store.upsert_mentions([
        dict(source="news", source_id=f"n{i}", app=r"$\undefined$ ^_{", text="layanan lambat",
             created_at=f"2024-0{1 + i % 3}-10T10:00:00") for i in range(6)
    ] + [dict(source="playstore", source_id="p1", app="$x$", text="bagus", created_at="2024-02-01T00:00:00")])
    res = _invoke("analyze", "--model", "lexicon", "--db", db_url)
    assert res.exit_code == 0, res.output
    res = _invoke("trends", "--db", db_url, "--out", str(tmp_path / "r"))
    assert res.exit_code == 0, res.output
    assert "Traceback" not in res.output
    assert list((tmp_path / "r").glob("*.png")) and (tmp_path / "r" / "report.html").stat().st_size > 0


def test_csv_whose_only_line_is_a_wrong_header(tmp_path, db_url):
    store = _seed(db_url)
    f = tmp_path / "reviews.csv"
    f.write_text("nama,komentar,bintang\n")
    line = _one_error_line(_invoke("import", str(f), "--app", APP, "--db", db_url), 2)
    assert str(f) in line and "missing column(s) reviewId, content, score, at" in line
    assert store.count_mentions() == 3
    # A right header with no rows is a valid, empty export.
    f.write_text("reviewId,userName,content,score,at\n")
    assert _invoke("import", str(f), "--app", APP, "--db", db_url).exit_code == 0


@pytest.mark.parametrize("command", ["export", "trends"])
def test_unwritable_out_is_bad_input(tmp_path, db_url, command):
    store = _seed(db_url)
    blocker = tmp_path / "afile"
    blocker.write_text("x")
    target = blocker / "sub" / ("m.csv" if command == "export" else "")
    line = _one_error_line(_invoke(command, "--db", db_url, "--out", str(target)), 2)
    assert str(blocker) in line
    assert store.count_mentions() == 3 and blocker.read_text() == "x"


def test_export_out_a_folder_names_the_folder(tmp_path, db_url):
    _seed(db_url)
    folder = tmp_path / "exports"
    folder.mkdir()
    line = _one_error_line(_invoke("export", "--db", db_url, "--out", str(folder)), 2)
    assert str(folder) in line and "folder" in line and ".tmp" not in line
    assert list(folder.iterdir()) == []  # no temp file left behind


@pytest.mark.parametrize("args,expected", [
    (["crawl", "playstore"], "error: missing option '--app'"),
    (["crawl", "playstore", "--app", APP, "--limit", "0"], "error: invalid value for '--limit'"),
    (["analyse"], "error: no such command 'analyse'"),
    (["export", "--out"], "error: option '--out' requires an argument"),
])
def test_usage_errors_are_one_line_not_a_panel(args, expected, db_url):
    """Through the real entry point, as a shell runs it."""
    res = subprocess.run([sys.executable, "-m", "pipelines.cli", *args], cwd=REPO, capture_output=True, text=True,
                         env={**os.environ, "SUARA_DB": db_url}, timeout=60)
    line = _one_error_line(res, 2)
    assert line.startswith(expected) and "--help" in line
    assert "╭" not in res.stderr and "Usage:" not in res.stderr
