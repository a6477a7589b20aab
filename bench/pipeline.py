"""Mentions per second for each stage of the job on this machine (offline, synthetic data).

    python bench/pipeline.py [--reviews 5000]

Stages: Play Store crawl (real client against the local fake, page size 200), App Store
spider (real Scrapy spider + item pipelines against the local fake feed), sentiment with the
offline lexicon, indicator tagging, trend files. Prints a table and the per-stage rate that
the README's scale-out arithmetic uses. Numbers are for this machine and SQLite; the crawl
rates measure Suara's own overhead (a real service is throttled far below them).
"""

from __future__ import annotations

import argparse
import os
import sys
import tempfile
import time
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parent.parent))

WORDS = ("aplikasi sering error login gagal otp tidak masuk pelayanan bagus cepat lambat lemot server down "
         "laporan tidak ditanggapi sosialisasi kurang mudah dipakai membantu warga tangsel aduan status "
         "tidak jelas terima kasih mantap update terus crash").split()


def _text(i: int) -> str:
    import random

    rnd = random.Random(i)
    return " ".join(rnd.choice(WORDS) for _ in range(rnd.randint(6, 30)))


def main() -> None:
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("--reviews", type=int, default=5000, help="Play Store reviews to crawl and analyse")
    args = ap.parse_args()

    tmp = Path(tempfile.mkdtemp(prefix="suara-bench-"))
    os.environ.update(SUARA_HOME=str(tmp / "home"), SUARA_CONFIG_DIR=str(tmp / "cfg"), HF_HUB_OFFLINE="1",
                      SUARA_DOWNLOAD_DELAY="0", SUARA_AUTOTHROTTLE="0")
    from pipelines.analysis import analyze_sentiment
    from pipelines.store import Store
    from pipelines.tagging import tag_indicators
    from pipelines.trends import write_trends
    from scraper.crawl import FAST_SETTINGS, run_spider
    from scraper.fakes.appstore import FakeAppStore
    from scraper.fakes.playstore import FakePlayStore
    from scraper.fakes.server import serve
    from scraper.playstore import crawl_playstore

    db = f"sqlite:///{tmp / 'bench.db'}"
    store = Store(db)
    rows: list[tuple[str, int, float]] = []

    fake = FakePlayStore()
    fake.add_app("id.go.bench.app", title="Bench")
    for i in range(args.reviews):
        fake.add_review("id.go.bench.app", content=_text(i), score=1 + i % 5, at=1_650_000_000 + 600 * i,
                        userName=f"u{i % 997}")
    with serve(fake) as base:
        os.environ["SUARA_PLAYSTORE_URL"] = base
        t0 = time.perf_counter()
        r = crawl_playstore(store, "id.go.bench.app")
        rows.append(("crawl playstore (client + store)", r.new, time.perf_counter() - t0))

    apple = FakeAppStore()
    with serve(apple) as base:
        n0 = store.count_mentions("appstore")
        t0 = time.perf_counter()
        for app_id in apple.apps:
            run_spider("appstore", db=db, settings_overrides={**FAST_SETTINGS, "SUARA_APPSTORE_URL": base,
                                                              "LOG_LEVEL": "ERROR"}, app=app_id, country="id")
        n = store.count_mentions("appstore") - n0
        rows.append(("crawl appstore (Scrapy + item pipelines)", n, time.perf_counter() - t0))

    total = store.count_mentions()
    t0 = time.perf_counter()
    res = analyze_sentiment(store, model="lexicon")
    rows.append(("sentiment, lexicon (normalise + score + store)", res.labelled, time.perf_counter() - t0))
    t0 = time.perf_counter()
    tagged = tag_indicators(store)
    rows.append(("indicator tagging (+ store)", tagged, time.perf_counter() - t0))
    t0 = time.perf_counter()
    write_trends(store, tmp / "reports", period="month")
    rows.append(("trend CSVs + charts + report.html", total, time.perf_counter() - t0))

    print(f"{'stage':48} {'mentions':>9} {'seconds':>8} {'mentions/s':>11}")
    for name, n, secs in rows:
        print(f"{name:48} {n:9d} {secs:8.2f} {n / secs:11.1f}")
    print(f"\nmachine: {os.cpu_count()} cores; store: SQLite; app store crawls include ~1.5 s process start each")


if __name__ == "__main__":
    main()
