"""How many requests a Play Store crawl costs, against the local fake (no network).

    python bench/playstore_requests.py --reviews 1000 --page-size 100 --new 5

Prints the requests (retries included) and wall time of: a first (full) crawl of N reviews,
an incremental crawl with nothing new, one after a few new reviews, one after more new
reviews than a page holds, and a --full re-crawl.
"""

from __future__ import annotations

import argparse
import os
import sys
import tempfile
import time
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parent.parent))

from pipelines.store import Store  # noqa: E402
from scraper.fakes import serve  # noqa: E402
from scraper.fakes.playstore import FakePlayStore  # noqa: E402
from scraper.playstore import crawl_playstore  # noqa: E402

APP = "com.example.bench"
T0 = 1_700_000_000


def main() -> None:
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("--reviews", type=int, default=1000)
    ap.add_argument("--page-size", type=int, default=100)
    ap.add_argument("--new", type=int, default=5)
    args = ap.parse_args()
    n, size = args.reviews, args.page_size
    reviews = [{"reviewId": f"gp:b{i:06d}", "userName": f"u{i}", "content": f"ulasan {i}", "score": i % 5 + 1,
                "at": T0 + i * 60} for i in range(n)]
    with tempfile.TemporaryDirectory() as tmp:
        os.environ.setdefault("SUARA_CONFIG_DIR", str(Path(tmp) / "config"))
        os.environ["SUARA_PLAYSTORE_DELAY"] = "0"
        fake = FakePlayStore({APP: {"title": "Bench", "reviews": reviews}})
        store = Store(f"sqlite:///{tmp}/bench.db")
        with serve(fake) as base:
            os.environ["SUARA_PLAYSTORE_URL"] = base
            later = T0 + n * 60

            def run(label: str, **kw) -> None:
                t = time.perf_counter()
                res = crawl_playstore(store, APP, page_size=size, **kw)
                print(f"{label:<44} {res.requests:>5} requests  {res.seen:>6} seen  {res.new:>5} new  "
                      f"{time.perf_counter() - t:6.2f}s")

            print(f"N={n} reviews, page size {size}")
            run(f"first crawl (walks all {n})")
            run("incremental, nothing new")
            for i in range(args.new):
                fake.add_review(APP, content=f"baru {i}", at=later + i)
            run(f"incremental, {args.new} new")
            for i in range(size + 5):
                fake.add_review(APP, content=f"lagi {i}", at=later + 1000 + i)
            run(f"incremental, {size + 5} new (more than a page)")
            run("--full re-crawl", full=True)
        store.close()


if __name__ == "__main__":
    main()
