"""Throughput of the offline analysis on real review text: lexicon + tagger, linear model + tagger.

    python bench/analysis_real.py [N]       (default: every review in ../shared/data/reviews)

Reads the real Play Store exports in ../shared/data/reviews (never copied into the project) and
prints texts/s for each path, first pass (cold word and stem caches) and second pass (warm), and
the ratio of the linear path to the lexicon path. Nothing is asserted.
"""

from __future__ import annotations

import os
import sys
import time
from pathlib import Path

import pandas as pd

ROOT = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(ROOT))
REVIEWS = ROOT.parent / "shared" / "data" / "reviews"

from nlp.indicators import get_tagger  # noqa: E402
from nlp.lexicon import LexiconClassifier  # noqa: E402
from nlp.linear import DEFAULT_LINEAR_MODEL, LinearClassifier  # noqa: E402


def main() -> None:
    files = sorted(REVIEWS.glob("*.csv"))
    if not files:
        sys.exit(f"no review exports in {REVIEWS}")
    df = pd.concat([pd.read_csv(f, dtype=str, keep_default_na=False) for f in files], ignore_index=True)
    n = int(sys.argv[1]) if len(sys.argv) > 1 else len(df)
    df = df.head(n)
    texts, stars = df["content"].tolist(), [float(s) for s in df["score"]]
    tagger = get_tagger()
    lexicon = LexiconClassifier()
    linear = LinearClassifier(DEFAULT_LINEAR_MODEL) if DEFAULT_LINEAR_MODEL.is_file() else None
    rows = []
    # CPU seconds beside wall seconds: on a shared machine the CPU figure is the stable one.
    for rnd in ("cold", "warm"):
        t0, c0 = time.perf_counter(), time.process_time()
        lexicon.classify(texts)
        for t in texts:
            tagger.tag(t)
        rows.append((f"lexicon + tagger ({rnd})", time.perf_counter() - t0, time.process_time() - c0))
        if linear is not None:
            t0, c0 = time.perf_counter(), time.process_time()
            for i in range(0, len(texts), 256):
                linear.classify(texts[i:i + 256], ratings=stars[i:i + 256])
            for t in texts:
                tagger.tag(t)
            rows.append((f"linear + stars + tagger ({rnd})", time.perf_counter() - t0, time.process_time() - c0))
    print(f"{len(texts)} real reviews, {os.cpu_count()} cores, load average {os.getloadavg()[0]:.1f}")
    print(f"{'path':36} {'wall s':>8} {'texts/s':>9} {'CPU s':>8} {'texts/CPU-s':>12}")
    for name, secs, cpu in rows:
        print(f"{name:36} {secs:8.2f} {len(texts) / secs:9.0f} {cpu:8.2f} {len(texts) / cpu:12.0f}")
    if linear is not None:
        warm = {name: cpu for name, _, cpu in rows if "warm" in name}
        ratio = warm["lexicon + tagger (warm)"] / warm["linear + stars + tagger (warm)"]
        print(f"linear path / lexicon path speed (warm, CPU time): {ratio:.2f}")


if __name__ == "__main__":
    main()
