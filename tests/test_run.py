"""`suara run`, `suara status` and `suara demo` end to end against local fake services."""

import signal
import subprocess
import sys
import time
from pathlib import Path

import pytest
from typer.testing import CliRunner

from pipelines.cli import app
from pipelines.demo import run_demo
from pipelines.lock import RunLock
from pipelines.runner import lock_path, run_once, status
from pipelines.store import Store
from scraper.fakes.playstore import FakePlayStore
from scraper.fakes.server import serve

GOOD, BROKEN = "id.go.contoh.layanan", "id.go.contoh.rusak"
REPO = Path(__file__).resolve().parent.parent


class _Fake(FakePlayStore):
    """Answers 503 for one app, for ever; optionally stalls after the first page (to be killed)."""

    stall_after: int | None = None

    def handle(self, req):
        body = req.body.decode("utf-8", "replace")
        if BROKEN in body:
            return 503, {"Content-Type": "text/plain"}, b"Service Unavailable"
        if self.stall_after is not None and len(self.requests) > self.stall_after:
            time.sleep(60)
        return super().handle(req)


def _fake(n_good: int) -> _Fake:
    fake = _Fake()
    fake.add_app(GOOD, title="Layanan Contoh")
    fake.add_app(BROKEN, title="Aplikasi Rusak")
    for i in range(n_good):
        fake.add_review(GOOD, content=f"aplikasi ini sering error saat login nomor {i}", score=1 + i % 5,
                        at=1_700_000_000 + 3600 * i, userName=f"Warga {i}")
    return fake


def _config(tmp_path, apps) -> Path:
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


def test_one_failing_source_does_not_stop_the_others(tmp_path, db_url, fast_env, monkeypatch):
    fake = _fake(30)
    cfg = _config(tmp_path, [BROKEN, GOOD])  # the broken one first: the good one must still run
    with serve(fake) as base:
        monkeypatch.setenv("SUARA_PLAYSTORE_URL", base)
        res = CliRunner().invoke(app, ["run", "--config", str(cfg), "--db", db_url, "--out", str(tmp_path / "r")])
    assert res.exit_code == 1, res.output
    assert f"playstore {BROKEN}: failed" in res.output
    assert "1 step(s) failed" in res.output and "503" in res.output
    store = Store(db_url)
    assert store.count_mentions("playstore") == 30
    runs = store.runs_df()
    last = runs[runs.job == "run"].iloc[-1]
    assert last.status == "failed" and BROKEN in last.error and last.new == 30
    # Analysis and reports still ran for what was collected.
    assert len(store.table("sentiments")) == 30
    assert (tmp_path / "r" / "sentiment_by_period.csv").stat().st_size > 0

    st = status(db_url)["sources"].set_index("target")
    assert st.loc[GOOD, "state"] == "complete" and st.loc[GOOD, "mentions"] == 30
    assert st.loc[GOOD, "waiting_analysis"] == 0
    assert st.loc[BROKEN, "state"].startswith("incomplete") and "503" in st.loc[BROKEN, "last_error"]
    res = CliRunner().invoke(app, ["status", "--db", db_url])
    assert res.exit_code == 0
    assert GOOD in res.output and "incomplete" in res.output and "last run: run" in res.output
    assert "failed" in res.output


def test_overlapping_run_exits_75_and_changes_nothing(tmp_path, db_url):
    cfg = _config(tmp_path, [GOOD])
    store = Store(db_url)
    with RunLock(lock_path(store)):
        res = CliRunner().invoke(app, ["run", "--config", str(cfg), "--db", db_url])
    assert res.exit_code == 75
    assert "another suara run is in progress" in res.output
    assert store.runs_df().empty


def test_rerun_after_a_killed_run_resumes_without_gap_or_duplicate(tmp_path, db_url, fast_env, monkeypatch):
    fake = _fake(450)  # three pages of 200
    fake.stall_after = 1  # page 1 is answered, page 2 hangs until the run is killed
    cfg = _config(tmp_path, [GOOD])
    store = Store(db_url)
    with serve(fake) as base:
        monkeypatch.setenv("SUARA_PLAYSTORE_URL", base)
        proc = subprocess.Popen([sys.executable, "-m", "pipelines.cli", "run", "--config", str(cfg), "--db", db_url],
                                cwd=REPO, stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL)
        try:
            deadline = time.monotonic() + 60
            while store.count_mentions() < 200 and time.monotonic() < deadline:
                time.sleep(0.2)
            assert store.count_mentions() == 200
        finally:
            proc.send_signal(signal.SIGKILL)
            proc.wait(30)
        state = store.get_state("playstore", GOOD, "id", "id")
        assert state["status"] == "incomplete" and state["token"]
        fake.stall_after = None
        summary = run_once(cfg, db_url, tmp_path / "r")
    assert summary.ok, summary.error_line()
    assert summary.took_over_stale_lock and summary.took_over_stale_lock["pid"] == proc.pid
    m = store.mentions_df()
    assert len(m) == 450 and m.source_id.is_unique
    assert store.get_state("playstore", GOOD, "id", "id")["status"] == "complete"


def test_schedule_runs_now_and_stops_cleanly_on_ctrl_c(tmp_path, db_url):
    cfg = tmp_path / "empty.toml"
    cfg.write_text('contact = "test@localhost"\n[analysis]\nmodel = "lexicon"\n')
    proc = subprocess.Popen([sys.executable, "-m", "pipelines.cli", "schedule", "--every", "6h", "--config", str(cfg),
                             "--db", db_url], cwd=REPO, stdout=subprocess.PIPE, stderr=subprocess.STDOUT, text=True)
    store = Store(db_url)
    try:
        deadline = time.monotonic() + 90
        while time.monotonic() < deadline:  # the first run happens at once (--now is the default)
            runs = store.runs_df()
            if not runs.empty and (runs[runs.job == "run"].status == "ok").any():
                break
            time.sleep(0.3)
        else:
            pytest.fail("the scheduled run did not happen")
    finally:
        proc.send_signal(signal.SIGINT)
        output, _ = proc.communicate(timeout=60)
    assert proc.returncode == 0, output
    assert "schedule stopped" in output and "Traceback" not in output
    assert len(store.runs_df().query("job == 'run'")) == 1


@pytest.mark.filterwarnings("ignore::nlp.sentiment.FallbackWarning")
def test_demo_end_to_end(tmp_path):
    summary, info = run_demo(tmp_path / "demo")
    assert summary.ok, summary.error_line()
    analyze = next(s for s in summary.steps if s.step == "analyze")
    assert analyze.detail.startswith("linear+stars@") and "fallback" in analyze.detail  # no hub: offline default
    reports = tmp_path / "demo" / "reports"
    for name in ("sentiment_by_period.csv", "indicators_by_period.csv", "responsiveness_by_period.csv",
                 "triangulation.csv", "triangulation.md", "report.html"):
        assert (reports / name).stat().st_size > 0, name
    assert list(reports.glob("*.png"))
    page = (reports / "report.html").read_text(encoding="utf-8")
    # Indonesian by default; four overview charts and one per indicator card.
    assert "Survei dibandingkan ulasan" in page and page.count('src="data:image/png;base64,') == 4 + 6
    assert page.index('id="summary"') < page.index('id="indicators"') < page.index('id="charts"')
    store = Store(info["db"])
    for source, served in info["served"].items():
        assert served > 0
        assert store.count_mentions(source) == served, source
    assert len(store.table("sentiments")) == store.count_mentions()
    # A second demo starts afresh rather than adding to the first.
    summary2, info2 = run_demo(tmp_path / "demo")
    assert Store(info2["db"]).count_mentions() == store.count_mentions()
