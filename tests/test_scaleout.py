"""Scale-out as docs/operate.md describes it: the project deployed to scrapyd with scrapyd-deploy, two
App Store crawls scheduled at once through scrapyd's HTTP API, both writing to one PostgreSQL store.

Needs a PostgreSQL server (``SUARA_TEST_PG``, started by scripts/test.sh) and scrapyd (the test
extra); skips, saying which is missing, otherwise.
"""

from __future__ import annotations

import os
import re
import subprocess
import sys
import threading
import zipfile
import zlib
from pathlib import Path

import pytest

from pipelines.privacy import pseudonymise
from pipelines.store import Store
from scraper.fakes.appstore import FakeAppStore, load_samples
from scraper.fakes.server import serve

from scrapyd_host import (Scrapyd, ScrapydUnavailable, build_egg, copy_project, deploy, host_env,
                          project_importable)

APPS = ("1000000001", "1000000002")  # 130 and 14 synthetic reviews
# Crawl settings for a local server (scraper.crawl.FAST_SETTINGS), given per job as a team would.
FAST = {"DOWNLOAD_DELAY": 0, "AUTOTHROTTLE_ENABLED": "False", "SUARA_RETRY_BACKOFF": 0.05,
        "SUARA_RETRY_MAX_DELAY": 0.5, "DOWNLOAD_TIMEOUT": 30}
MEET_TIMEOUT = 25.0  # seconds a first page waits for the other crawl's: longer than a job's start-up
_FIRST_PAGE = re.compile(r"/rss/customerreviews/page=1/id=(\d+)/")


class MeetingAppStore(FakeAppStore):
    """The App Store fake, holding the first page of each app until the other app's is asked for too.

    Both answers go out only when both crawls are in flight at the same moment, so ``met`` is proof of
    concurrency that does not depend on timing; crawls run one after the other leave it False.
    """

    def __init__(self, apps: tuple[str, ...]):
        super().__init__()
        self.barrier = threading.Barrier(len(apps), timeout=MEET_TIMEOUT)
        self.waiting = set(apps)
        self.met: bool | None = None

    def handle(self, req):
        m = _FIRST_PAGE.search(req.path)
        if m and m.group(1) in self.waiting:
            self.waiting.discard(m.group(1))
            try:
                self.barrier.wait()
                self.met = True
            except threading.BrokenBarrierError:
                self.met = False
        return super().handle(req)


def test_egg_from_scrapyd_deploy_runs_without_the_checkout(tmp_path):
    """What scrapyd does with an egg, without scrapyd: settings from its entry point, data from inside."""
    pytest.importorskip("scrapyd_client", reason="scrapyd-client not installed (pip install -e '.[test]')")
    egg = build_egg(copy_project(tmp_path / "checkout"), tmp_path / "suara.egg")
    with zipfile.ZipFile(egg) as zf:
        names = set(zf.namelist())
        assert "scraper.settings" in zf.read("EGG-INFO/entry_points.txt").decode()
    assert {"data/sources.toml", "data/slang_id.tsv", "data/lexicon_id.tsv", "data/indicators.toml",
            "data/models/sentiment_linear.npz", "data/survey/tangsel_smart_city.csv"} <= names
    assert not [n for n in names if n.startswith(("data/imports", "data/out", "data/samples", "tests/"))]

    env = host_env(tmp_path, {**os.environ, "XDG_CACHE_HOME": str(tmp_path / "cache")})
    run = tmp_path / "run"
    run.mkdir()
    assert project_importable(env, run) is None
    # scrapyd.runner's own egg activation, then what a crawl reads from data/ (and the sources
    # config's survey file, written relative to the checkout).
    code = ("import sys; from scrapyd.runner import activate_egg; activate_egg(sys.argv[1]);"
            "import os, nlp.paths, pipelines.sources as s, nlp.normalize as n;"
            "cfg = s.load_sources(); print(nlp.paths.DATA_DIR); print(os.environ['SCRAPY_SETTINGS_MODULE']);"
            "print(cfg.contact); print(cfg.survey.file if cfg.survey else ''); print(n.__file__)")
    out = subprocess.run([sys.executable, "-c", code, str(egg)], env=env, cwd=run, capture_output=True,
                         text=True, timeout=120)
    assert out.returncode == 0, out.stderr[-3000:]
    data_dir, settings, contact, survey, module = out.stdout.split("\n")[:5]
    cached = tmp_path / "cache" / "suara"
    assert Path(data_dir).parent.parent == cached and Path(data_dir).name == "data"
    assert (settings, contact) == ("scraper.settings", "suara-operator@example.org")
    assert Path(survey).is_file() and Path(survey).is_relative_to(cached)
    assert module.startswith(str(egg))  # the code came from the egg, not the checkout


def _run_both(scrapyd: Scrapyd, settings: dict) -> dict[str, dict]:
    jobs = [scrapyd.schedule("appstore", settings, app=app, country="id") for app in APPS]
    finished = scrapyd.wait(jobs, timeout=90)
    for job in jobs:
        log = scrapyd.log("appstore", job)
        assert "Spider closed (finished)" in log, f"{log[-1500:]}\n{scrapyd.daemon_log(job)}"
        assert not re.search(r"\] (ERROR|CRITICAL):", log), log[-3000:]
        assert "Process finished" in scrapyd.daemon_log(job)  # exit status 0: the crawl completed
        assert "Remote control HTTP server" not in log  # no port that runs code on a crawling machine
    return finished


@pytest.mark.postgres
@pytest.mark.slow
def test_scrapyd_deploy_two_concurrent_crawls_into_postgresql(pg_url, tmp_path, monkeypatch):
    key = tmp_path / "shared.key"
    key.write_text("5" * 64)  # the team's one pseudonymisation key, on every crawling machine
    monkeypatch.setenv("SUARA_SECRET_FILE", str(key))
    env = host_env(tmp_path, {**os.environ, "SUARA_SECRET_FILE": str(key),
                              "SUARA_HOME": str(tmp_path / "host-out"), "XDG_CACHE_HOME": str(tmp_path / "cache")})
    host = tmp_path / "scrapyd"
    host.mkdir()
    where = project_importable(env, host)
    assert where is None, f"the scrapyd host must not see the checkout, but imports scraper from {where}"

    scrapyd = Scrapyd(host, env)
    try:
        scrapyd.start()
    except ScrapydUnavailable as exc:
        pytest.skip(str(exc))
    with scrapyd:
        # Deploy exactly as docs/operate.md says: scrapyd-deploy from the project folder.
        out = deploy(copy_project(tmp_path / "checkout"), scrapyd.url, "r1", env)
        assert re.search(r'"spiders": [1-9]', out), out  # scrapyd loaded the spiders from the egg
        assert scrapyd.api("listversions.json", project="suara")["versions"] == ["r1"]

        fake = MeetingAppStore(APPS)
        with serve(fake) as base:
            settings = {"SUARA_DB": pg_url, "SUARA_APPSTORE_URL": base, **FAST}
            first = _run_both(scrapyd, settings)
            assert fake.met is True, "the two crawls did not run at the same time"
            a, b = first.values()
            assert a["start"] < b["end"] and b["start"] < a["end"], first  # scrapyd's own record agrees

            # The shipped sources.toml travelled in the egg: its contact is in every request's user agent.
            agents = {r.headers.get("user-agent", "") for r in fake.requests}
            assert agents and all("contact: suara-operator@example.org" in ua for ua in agents), agents

            samples = load_samples()
            expected = {(app, r["id"]) for app in APPS for r in samples[app]["reviews"]}
            store = Store(pg_url)
            try:
                df = store.mentions_df("appstore")
                assert len(df) == len(expected) == 144
                assert set(zip(df["app"], df["source_id"])) == expected  # each review once, nothing else
                # Pseudonymised on the scrapyd host with the shared key: the keys any machine of the team
                # computes for these reviewers (their App Store reviewer ids).
                keys = {r["id"]: pseudonymise("appstore", f"id{zlib.crc32(r['author'].encode('utf-8'))}")
                        for app in APPS for r in samples[app]["reviews"]}
                assert dict(zip(df["source_id"], df["author_key"])) == keys
                for app in APPS:
                    state = store.get_state("appstore", app, "", "id")
                    assert state["status"] == "complete", state
                runs = store.runs_df()
                crawls = runs[runs["job"] == "crawl"]
                assert sorted(crawls["new"]) == [14, 130] and set(crawls["status"]) == {"ok"}

                # A second scheduled run of both adds nothing and leaves both complete.
                fake.requests.clear()
                _run_both(scrapyd, settings)
                assert store.count_mentions("appstore") == 144
                after = store.mentions_df("appstore")
                assert set(zip(after["app"], after["source_id"])) == expected
                for app in APPS:
                    assert store.get_state("appstore", app, "", "id")["status"] == "complete"
                runs = store.runs_df()
                crawls = runs[runs["job"] == "crawl"]
                assert len(crawls) == 4 and sorted(crawls["new"])[:2] == [0, 0]
                assert set(crawls["status"]) == {"ok"}
            finally:
                store.close()

    # Jobs read the data from the egg, unpacked once into the host's cache (nlp/paths.py).
    unpacked = list((tmp_path / "cache" / "suara").glob("egg-*/data/sources.toml"))
    assert len(unpacked) == 1, unpacked
