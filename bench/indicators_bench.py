"""Indicator tagging throughput: the tagger alone, and tag_indicators on an SQLite store.

    python bench/indicators_bench.py [N]        (default N = 100000 mentions)

Texts are the labelled sentences recombined in pairs, plus a number and two "rare words" drawn
from a pool of 40,000 random letter runs, so the vocabulary has a long tail of words Sastrawi
has never seen (stem-cache misses) as real reviews do.
Prints mentions per second; nothing is asserted.
"""

from __future__ import annotations

import random
import string
import sys
import tempfile
import time
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(ROOT))

from nlp.indicators import get_tagger, read_labelled  # noqa: E402
from pipelines.store import Store  # noqa: E402
from pipelines.tagging import tag_indicators  # noqa: E402


def texts(n: int) -> list[str]:
    base = list(read_labelled(ROOT / "tests" / "data" / "indicators_labelled.csv").text)
    rnd = random.Random(5)
    rare = ["".join(rnd.choices(string.ascii_lowercase, k=rnd.randint(4, 9))) for _ in range(40_000)]
    out = []
    for i in range(n):
        out.append(f"{rnd.choice(base)} {rnd.choice(rare)} {rnd.choice(base)} {i} {rnd.choice(rare)}")
    return out


def main() -> None:
    n = int(sys.argv[1]) if len(sys.argv) > 1 else 100_000
    data = texts(n)
    t0 = time.perf_counter()
    tagger = get_tagger()
    t1 = time.perf_counter()
    tagged = sum(bool(tagger.tag(t)) for t in data)
    t2 = time.perf_counter()
    print(f"taxonomy load+compile: {t1 - t0:.2f} s ({len(tagger.taxonomy.rules)} compiled rules)")
    print(f"tagger: {n} texts in {t2 - t1:.1f} s = {n / (t2 - t1):,.0f} texts/s; {tagged / n:.1%} with an indicator")

    m = min(n, 20_000)
    with tempfile.TemporaryDirectory() as tmp:
        store = Store(f"sqlite:///{tmp}/bench.db")
        store.upsert_mentions(
            dict(source="bench", source_id=str(i), app="bench", text=t) for i, t in enumerate(data[:m])
        )
        t3 = time.perf_counter()
        done = tag_indicators(store)
        t4 = time.perf_counter()
        again = tag_indicators(store)
        t5 = time.perf_counter()
        store.close()
    print(f"tag_indicators (SQLite): {done} mentions in {t4 - t3:.1f} s = {done / (t4 - t3):,.0f}/s; "
          f"second run tagged {again} in {t5 - t4:.2f} s")


if __name__ == "__main__":
    main()
