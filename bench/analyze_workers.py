"""Lexicon sentiment and indicator tagging on an SQLite store: wall and CPU time per worker count.

    python bench/analyze_workers.py [--n 20000] [--workers 1,2]

Fills a temporary store with ``n`` generated reviews (:mod:`nlp.synthetic`; nothing from ../shared),
then for each worker count labels them (``analyze_sentiment``, lexicon) and tags them
(``tag_indicators``) from scratch, and prints per stage: wall seconds, mentions/s, CPU seconds of
this process (reading and writing the store) and of the workers (``RUSAGE_CHILDREN``), and
mentions per CPU second. On a shared machine wall time is noisy; CPU time is the steadier figure.
"""

from __future__ import annotations

import argparse
import random
import resource
import sys
import tempfile
import time
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(ROOT))


def _children_cpu() -> float:
    r = resource.getrusage(resource.RUSAGE_CHILDREN)
    return r.ru_utime + r.ru_stime


def main() -> None:
    from nlp.synthetic import review
    from pipelines.analysis import analyze_sentiment
    from pipelines.store import Store
    from pipelines.tagging import tag_indicators

    ap = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    ap.add_argument("--n", type=int, default=20_000, help="generated reviews")
    ap.add_argument("--workers", default="1,2", help="worker counts to compare, e.g. 1,2")
    args = ap.parse_args()
    rng = random.Random(0)
    texts = [review(rng) for _ in range(args.n)]
    print(f"{args.n:,} generated reviews, {len(set(texts)):,} distinct")
    with tempfile.TemporaryDirectory() as tmp:
        for workers in (int(w) for w in args.workers.split(",")):
            store = Store(f"sqlite:///{Path(tmp) / f'w{workers}.db'}")
            store.upsert_mentions([dict(source="playstore", source_id=f"b{i}", app="id.bench", text=t,
                                        rating=float(1 + i % 5)) for i, t in enumerate(texts)])
            for stage in ("analyze", "tag"):
                c0, k0, w0 = time.process_time(), _children_cpu(), time.perf_counter()
                if stage == "analyze":
                    done = analyze_sentiment(store, model="lexicon", workers=workers).labelled
                else:
                    done = tag_indicators(store, workers=workers)
                wall, main_cpu, child_cpu = time.perf_counter() - w0, time.process_time() - c0, _children_cpu() - k0
                print(f"workers={workers} {stage:8s} {done:,} in {wall:6.1f} s wall = {done / wall:8,.0f}/s; "
                      f"CPU main {main_cpu:5.1f} s + workers {child_cpu:5.1f} s = "
                      f"{done / (main_cpu + child_cpu):8,.0f} mentions per CPU-second", flush=True)
            store.close()


if __name__ == "__main__":
    main()
