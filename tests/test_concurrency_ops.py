"""Concurrency and operations: the store under several writers, locks, signals, the hub probe.

Where concurrency matters the writers are real processes (``spawn``) or the real ``suara``
command in a subprocess, against a real SQLite file and the local fake Play Store.
"""

from __future__ import annotations

import json
import multiprocessing as mp
import os
import signal
import socket
import sqlite3
import subprocess
import sys
import threading
import time
from pathlib import Path

import pandas as pd
import pytest

from pipelines.lock import LockHeld, RunLock, crawl_lock
from pipelines.runner import lock_path, run_once, status
from pipelines.store import Store
from scraper.fakes.playstore import FakePlayStore
from scraper.fakes.server import serve

REPO = Path(__file__).resolve().parent.parent
APP = "id.go.contoh.layanan"


def _cli(*args, env=None, timeout=120) -> subprocess.CompletedProcess:
    """The real command in its own process (as cron or systemd runs it)."""
    return subprocess.run([sys.executable, "-m", "pipelines.cli", *args], cwd=REPO, env={**os.environ, **(env or {})},
                          capture_output=True, text=True, timeout=timeout)


class _SlowFake(FakePlayStore):
    """Answers each reviews page after ``delay`` seconds (time for a signal or a second crawl)."""

    delay = 0.0
    gate: threading.Event | None = None  # when set up, pages after the first wait for it
    _pages = 0

    def handle(self, req):
        if req.path.endswith("/batchexecute"):
            self._pages += 1
            if self.gate is not None and self._pages > 1:
                self.gate.wait(90)
            elif self.delay:
                time.sleep(self.delay)
        return super().handle(req)


def _fake(n: int, cls=FakePlayStore):
    fake = cls()
    fake.add_app(APP, title="Layanan Contoh")
    for i in range(n):
        fake.add_review(APP, content=f"aplikasi sering error nomor {i}", score=1 + i % 5,
                        at=1_700_000_000 + 3600 * i, userName=f"Warga {i}")
    return fake


def _config(tmp_path, apps=(APP,)) -> Path:
    lines = ['contact = "test@localhost"']
    for a in apps:
        lines += ["[[playstore]]", f'name = "{a}"', f'id = "{a}"']
    lines += ["[analysis]", 'model = "lexicon"']
    p = tmp_path / "sources.toml"
    p.write_text("\n".join(lines) + "\n")
    return p


@pytest.fixture
def fast_env(monkeypatch):
    monkeypatch.setenv("SUARA_RETRY_ATTEMPTS", "2")
    monkeypatch.setenv("SUARA_RETRY_WAIT_MAX", "0.01")


# ---- SQLite: WAL, busy timeout, bounded import batches, a lock that times out ----------------------


def _write_gps_csv(path: Path, n: int) -> Path:
    pd.DataFrame({
        "reviewId": [f"gp:big{i}" for i in range(n)],
        "userName": [f"Warga {i}" for i in range(n)],
        "content": [f"ulasan panjang nomor {i} tentang layanan kota" for i in range(n)],
        "score": [1 + i % 5 for i in range(n)],
        "at": [f"2024-03-01T{i % 24:02d}:{i % 60:02d}:00" for i in range(n)],
    }).to_csv(path, index=False)
    return path


def _crawl_pages(url, source, pages, go):
    os.environ["SUARA_BUSY_TIMEOUT"] = "5"
    go.wait(60)
    store = Store(url)
    for p in range(pages):
        rows = [dict(source=source, source_id=f"{p}-{i}", app="app", text=f"ulasan {p} {i}") for i in range(20)]
        store.save_page(source, "app", "id", "id", rows, token=f"page{p + 1}", status="incomplete")
        time.sleep(0.02)
    store.close()


def test_long_import_and_a_crawl_write_at_once(tmp_path, db_url):
    """The import commits in batches, so a crawl with a short busy timeout is never locked out."""
    Store(db_url).close()
    big = _write_gps_csv(tmp_path / "big.csv", 3000)
    ctx = mp.get_context("spawn")
    go = ctx.Event()
    crawler = ctx.Process(target=_crawl_pages, args=(db_url, "appstore", 40, go))
    crawler.start()
    imp = subprocess.Popen([sys.executable, "-m", "pipelines.cli", "import", str(big), "--app", "com.contoh.besar",
                            "--db", db_url], cwd=REPO, env={**os.environ, "SUARA_BUSY_TIMEOUT": "5"},
                           stdout=subprocess.PIPE, stderr=subprocess.STDOUT, text=True)
    go.set()
    out, _ = imp.communicate(timeout=300)
    crawler.join(300)
    assert imp.returncode == 0, out
    assert crawler.exitcode == 0
    store = Store(db_url)
    assert store.count_mentions("playstore") == 3000 and store.count_mentions("appstore") == 800
    st = store.get_state("appstore", "app", "id", "id")
    assert st["seen"] == 800 and st["pages"] == 40
    with sqlite3.connect(db_url[len("sqlite:///"):]) as conn:
        assert conn.execute("PRAGMA journal_mode").fetchone()[0] == "wal"


def _hold_write_lock(path, ready, release):
    conn = sqlite3.connect(path, isolation_level=None)
    conn.execute("BEGIN IMMEDIATE")  # another program holding the store's write lock
    ready.set()
    release.wait(60)
    conn.execute("ROLLBACK")
    conn.close()


@pytest.mark.parametrize("command", ["crawl", "import"])
def test_a_lock_that_outlasts_the_busy_timeout_is_one_line_exit_3(tmp_path, db_url, fast_env, command):
    fake = _fake(30)
    with serve(fake) as base:
        env = {"SUARA_PLAYSTORE_URL": base, "SUARA_BUSY_TIMEOUT": "0.5"}
        assert _cli("crawl", "playstore", "--app", APP, "--db", db_url, env=env).returncode == 0
        store = Store(db_url)
        before = store.get_state("playstore", APP, "id", "id")
        fake.add_review(APP, content="ulasan baru", at=1_800_000_000)
        ctx = mp.get_context("spawn")
        ready, release = ctx.Event(), ctx.Event()
        holder = ctx.Process(target=_hold_write_lock, args=(db_url[len("sqlite:///"):], ready, release))
        holder.start()
        try:
            assert ready.wait(30)
            if command == "crawl":
                res = _cli("crawl", "playstore", "--app", APP, "--db", db_url, env=env)
            else:
                res = _cli("import", str(_write_gps_csv(tmp_path / "x.csv", 10)), "--app", APP, "--db", db_url,
                           env=env)
        finally:
            release.set()
            holder.join(30)
    assert res.returncode == 3, res.stdout + res.stderr
    lines = res.stderr.strip().splitlines()
    assert len(lines) == 1 and lines[0].startswith("error: ") and "locked" in lines[0], res.stderr
    assert "Traceback" not in res.stdout + res.stderr
    # Nothing half-written and the crawl state as it was: the next crawl resumes normally.
    assert store.count_mentions() == 30
    assert store.get_state("playstore", APP, "id", "id") == before


def _open_new_store(url, go, out):
    go.wait(60)
    try:
        Store(url).close()
        out.put("ok")
    except BaseException as exc:  # report, do not hide, the "table already exists" race
        out.put(f"{type(exc).__name__}: {exc}")


def test_commands_creating_a_new_store_at_once_all_succeed(tmp_path):
    ctx = mp.get_context("spawn")
    for attempt in range(3):
        url = f"sqlite:///{tmp_path / f'new{attempt}.db'}"
        go, out = ctx.Event(), ctx.Queue()
        procs = [ctx.Process(target=_open_new_store, args=(url, go, out)) for _ in range(4)]
        for p in procs:
            p.start()
        time.sleep(1.0)  # all four imported and waiting
        go.set()
        results = [out.get(timeout=120) for _ in procs]
        for p in procs:
            p.join(60)
        assert results == ["ok"] * 4, results
        assert Store(url).count_mentions() == 0


# ---- locks: the store's resolved identity, one crawl per target -------------------------------------


def _hold(path, ready, release):
    with RunLock(Path(path)):
        ready.set()
        release.wait(60)


def test_run_lock_is_keyed_on_the_resolved_store(tmp_path):
    real = tmp_path / "data" / "suara.db"
    Store(f"sqlite:///{real}").close()
    (tmp_path / "alias.db").symlink_to(real)
    os.symlink(tmp_path / "data", tmp_path / "linkdir")
    urls = [f"sqlite:///{real}", f"sqlite:///{tmp_path / 'alias.db'}", f"sqlite:///{tmp_path / 'linkdir' / 'suara.db'}"]
    paths = {lock_path(Store(u)) for u in urls}
    assert paths == {real.with_suffix(".lock")}
    # A run through the symlink is refused while a run through the real path holds the lock.
    ctx = mp.get_context("spawn")
    ready, release = ctx.Event(), ctx.Event()
    holder = ctx.Process(target=_hold, args=(str(real.with_suffix(".lock")), ready, release))
    holder.start()
    try:
        assert ready.wait(30)
        res = _cli("run", "--config", str(_config(tmp_path, apps=())), "--db", urls[1])
    finally:
        release.set()
        holder.join(30)
    assert res.returncode == 75, res.stderr
    assert "another suara run is in progress" in res.stderr and f"pid {holder.pid}" in res.stderr


def test_concurrent_crawls_of_one_target_do_not_double_the_counters(tmp_path, db_url, fast_env):
    fake = _fake(450, _SlowFake)  # three pages of 200
    # The first crawl's later pages wait until the second crawl has finished, so the first is
    # still going however slowly the second starts (a fixed delay failed on a loaded machine).
    fake.gate = threading.Event()
    with serve(fake) as base:
        env = {"SUARA_PLAYSTORE_URL": base}
        cmd = [sys.executable, "-m", "pipelines.cli", "crawl", "playstore", "--app", APP, "--db", db_url]
        first = subprocess.Popen(cmd, cwd=REPO, env={**os.environ, **env}, stdout=subprocess.PIPE,
                                 stderr=subprocess.PIPE, text=True)
        store = Store(db_url)
        deadline = time.monotonic() + 60
        while store.count_mentions() < 200 and time.monotonic() < deadline:
            time.sleep(0.05)
        try:
            second = _cli("crawl", "playstore", "--app", APP, "--db", db_url, env=env)
        finally:
            fake.gate.set()
        out, err = first.communicate(timeout=120)
    assert first.returncode == 0, err
    assert second.returncode == 75, second.stderr
    assert second.stderr.strip().startswith("error: another crawl of playstore id.go.contoh.layanan (id-id) "
                                            "is in progress") and "Traceback" not in second.stderr
    st = store.get_state("playstore", APP, "id", "id")
    assert store.count_mentions() == 450
    assert (st["status"], st["seen"], st["new"], st["pages"]) == ("complete", 450, 450, 3)
    # Different targets are not serialised by it.
    with crawl_lock(store, "playstore", APP, "id", "id"):
        with crawl_lock(store, "playstore", APP, "en", "id"):
            pass
        with pytest.raises(LockHeld, match="another crawl of playstore"):
            crawl_lock(Store(db_url), "playstore", APP, "id", "id").acquire()


def _pages_on_one_state(url, n, go):
    go.wait(60)
    store = Store(url)
    for p in range(n):
        store.save_page("news", "q", "", "", [dict(source="news", source_id=f"{os.getpid()}-{p}", app="q", text="x")])
    store.close()


def test_page_counters_are_incremented_atomically(db_url):
    """Below the crawl lock, the store itself never loses or doubles a page count."""
    Store(db_url).close()
    ctx = mp.get_context("spawn")
    go = ctx.Event()
    procs = [ctx.Process(target=_pages_on_one_state, args=(db_url, 30, go)) for _ in range(3)]
    for p in procs:
        p.start()
    go.set()
    for p in procs:
        p.join(120)
        assert p.exitcode == 0
    st = Store(db_url).get_state("news", "q")
    assert (st["pages"], st["seen"], st["new"]) == (90, 90, 90)


# ---- suara run and signals ---------------------------------------------------------------------------


@pytest.mark.parametrize("sig,code", [(signal.SIGTERM, 143), (signal.SIGINT, 130)])
def test_run_stops_on_a_signal_records_it_and_releases_the_lock(tmp_path, db_url, fast_env, monkeypatch, sig, code):
    fake = _fake(450, _SlowFake)
    fake.delay = 0.8
    cfg = _config(tmp_path)
    store = Store(db_url)
    with serve(fake) as base:
        monkeypatch.setenv("SUARA_PLAYSTORE_URL", base)
        proc = subprocess.Popen([sys.executable, "-m", "pipelines.cli", "run", "--config", str(cfg), "--db", db_url,
                                 "--out", str(tmp_path / "r")], cwd=REPO, stdout=subprocess.PIPE,
                                stderr=subprocess.PIPE, text=True)
        deadline = time.monotonic() + 60
        while store.count_mentions() < 200 and time.monotonic() < deadline:
            time.sleep(0.05)
        assert store.count_mentions() == 200
        t0 = time.monotonic()
        proc.send_signal(sig)
        out, err = proc.communicate(timeout=60)
        stopped_in = time.monotonic() - t0
        assert proc.returncode == code, out + err
        assert stopped_in < 10
        assert f"interrupted by {sig.name}" in err and "Traceback" not in out + err
        runs = store.runs_df()
        run = runs[runs.job == "run"].iloc[-1]
        assert run.status == "interrupted" and "remaining steps skipped" in run.error
        assert run.finished_at is not None
        # No analysis or report step ran after the signal.
        assert store.table("sentiments").empty and not (tmp_path / "r" / "sentiment_by_period.csv").exists()
        st = store.get_state("playstore", APP, "id", "id")
        assert st["status"] == "incomplete" and st["token"]
        with RunLock(lock_path(store)) as lock:  # released, not left for a takeover
            assert lock.stale_holder is None
        fake.delay = 0
        summary = run_once(cfg, db_url, tmp_path / "r")
    assert summary.ok and summary.exit_code == 0
    m = store.mentions_df()
    assert len(m) == 450 and m.source_id.is_unique


def test_a_killed_run_shows_as_interrupted_after_the_takeover(tmp_path, db_url, fast_env, monkeypatch):
    fake = _fake(450, _SlowFake)
    fake.delay = 0.8
    cfg = _config(tmp_path)
    store = Store(db_url)
    with serve(fake) as base:
        monkeypatch.setenv("SUARA_PLAYSTORE_URL", base)
        proc = subprocess.Popen([sys.executable, "-m", "pipelines.cli", "run", "--config", str(cfg), "--db", db_url],
                                cwd=REPO, stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL)
        deadline = time.monotonic() + 60
        while store.count_mentions() < 200 and time.monotonic() < deadline:
            time.sleep(0.05)
        proc.kill()
        proc.wait(30)
        killed = store.runs_df().query("job == 'run'").iloc[-1]
        assert killed.status == "running"  # nothing could record the SIGKILL
        holder = json.loads(lock_path(store).read_text())
        assert holder["pid"] == proc.pid and holder["run_id"] == killed.id
        fake.delay = 0
        summary = run_once(cfg, db_url, tmp_path / "r")
    assert summary.ok and summary.took_over_stale_lock["pid"] == proc.pid
    runs = store.runs_df().set_index("id")
    assert runs.loc[killed.id, "status"] == "interrupted" and str(proc.pid) in runs.loc[killed.id, "error"]
    assert "running" not in set(runs.status)  # its crawl too, not only the run
    assert runs.loc[summary.run_id, "status"] == "ok"
    assert status(db_url)["last_run"]["status"] == "ok"


# ---- --model auto offline: a quick, cached hub probe ------------------------------------------------


class _Blackhole:
    """A port that accepts no connection and refuses none: connects hang (like a dead network)."""

    def __init__(self) -> None:
        self.srv = socket.socket()
        self.srv.bind(("127.0.0.1", 0))
        self.srv.listen(0)
        self.fillers = []
        for _ in range(4):  # fill the accept queue so further SYNs are dropped
            c = socket.socket()
            c.setblocking(False)
            c.connect_ex(self.srv.getsockname())
            self.fillers.append(c)

    @property
    def port(self) -> int:
        return self.srv.getsockname()[1]

    def close(self) -> None:
        for c in self.fillers:
            c.close()
        self.srv.close()


def test_hub_probe_is_quick_and_asked_once(monkeypatch):
    from nlp import sentiment

    hole = _Blackhole()
    monkeypatch.setattr(sentiment, "_HUB_PROBES", {})
    monkeypatch.setenv("HF_ENDPOINT", f"https://127.0.0.1:{hole.port}")
    monkeypatch.setenv("SUARA_HUB_TIMEOUT", "0.5")
    for var in ("HTTPS_PROXY", "https_proxy"):
        monkeypatch.delenv(var, raising=False)
    t0 = time.monotonic()
    assert sentiment._hub_reachable() is False
    assert time.monotonic() - t0 < 1.5
    t0 = time.monotonic()
    assert sentiment._hub_reachable() is False  # cached for the run: no second wait
    assert time.monotonic() - t0 < 0.05
    # A reachable endpoint answers True (the port the probe uses is the endpoint's own).
    live = socket.socket()
    live.bind(("127.0.0.1", 0))
    live.listen(8)
    monkeypatch.setenv("HF_ENDPOINT", f"http://127.0.0.1:{live.getsockname()[1]}")
    assert sentiment._hub_reachable() is True
    hole.close()
    live.close()


def test_analyze_auto_offline_is_quick_and_names_the_model_once(tmp_path, db_url):
    store = Store(db_url)
    store.upsert_mentions([dict(source="playstore", source_id="1", app="a", text="aplikasi bagus sekali")])
    hole = _Blackhole()
    env = {"HF_HUB_OFFLINE": "0", "TRANSFORMERS_OFFLINE": "0", "HF_ENDPOINT": f"https://127.0.0.1:{hole.port}",
           "SUARA_SENTIMENT_MODEL": "contoh/model-yang-tidak-ada", "HF_HOME": str(tmp_path / "hf")}
    t0 = time.monotonic()
    res = _cli("analyze", "--model", "auto", "--db", db_url, "--no-indicators", env=env)
    took = time.monotonic() - t0
    hole.close()
    assert res.returncode == 0, res.stderr
    assert res.stderr.count("warning:") == 1 and "offline linear model" in res.stderr
    assert "not reachable" in res.stderr
    assert "linear+stars@" in res.stdout and "labelled 1" in res.stdout
    assert took < 60  # torch and transformers imports included; the probe itself is bounded above


def test_sigterm_during_a_spider_crawl_closes_it_and_stops_the_run(tmp_path, db_url, monkeypatch):
    """`suara run` passes one SIGTERM to its spider's process, which stores what it has and closes
    the crawl as incomplete; the run then stops as with a Play Store crawl."""
    from scraper.fakes.appstore import FakeAppStore

    class SlowPage2(FakeAppStore):
        def handle(self, req):
            if "page=2" in req.path:
                time.sleep(8)
            return super().handle(req)

    big = "1000000001"  # 130 shipped synthetic reviews: pages of 50, 50, 30
    fake = SlowPage2()
    cfg = tmp_path / "sources.toml"
    cfg.write_text(f'contact = "test@localhost"\n[[appstore]]\nname = "Besar"\nid = "{big}"\n'
                   '[analysis]\nmodel = "lexicon"\n')
    store = Store(db_url)
    with serve(fake) as base:
        for k, v in {"SUARA_APPSTORE_URL": base, "SUARA_DOWNLOAD_DELAY": "0", "SUARA_AUTOTHROTTLE": "0",
                     "SUARA_RETRY_BACKOFF": "0.01"}.items():
            monkeypatch.setenv(k, v)
        proc = subprocess.Popen([sys.executable, "-m", "pipelines.cli", "run", "--config", str(cfg), "--db", db_url],
                                cwd=REPO, stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True)
        deadline = time.monotonic() + 90
        while not any("page=2" in r.path for r in fake.requests) and time.monotonic() < deadline:
            time.sleep(0.05)
        proc.send_signal(signal.SIGTERM)
        out, err = proc.communicate(timeout=60)
        assert proc.returncode == 143, out + err
        assert "interrupted by SIGTERM during crawl appstore" in err
        # Page 1, and page 2 when Scrapy finished the request in flight: stored as it closed, not lost.
        assert store.count_mentions("appstore") in (50, 100)
        st = store.get_state("appstore", big, "", "id")
        assert st["status"] == "incomplete"
        runs = store.runs_df()
        assert set(runs.status) == {"interrupted", "failed"}  # the run; its crawl, closed as incomplete
        summary = run_once(cfg, db_url, tmp_path / "r")
    assert summary.ok
    m = store.mentions_df("appstore")
    assert len(m) == 130 and m.source_id.is_unique
