"""How fast social exports import: a synthetic tweet-harvest CSV of N tweets (no network).

    python bench/social_import.py --tweets 20000

Prints the wall time and rows/s of: a first import, the same file again (nothing new), and an
overlapping export holding the second half plus N/2 new tweets and official replies.
"""

from __future__ import annotations

import argparse
import csv
import os
import sys
import tempfile
import time
from datetime import datetime, timedelta, timezone
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parent.parent))

from pipelines.social_import import import_export  # noqa: E402
from pipelines.store import Store  # noqa: E402

COLS = ["conversation_id_str", "created_at", "favorite_count", "full_text", "id_str", "image_url",
        "in_reply_to_screen_name", "lang", "location", "quote_count", "reply_count", "retweet_count",
        "tweet_url", "user_id_str", "username"]
T0 = datetime(2024, 1, 1, tzinfo=timezone.utc)


def write(path: Path, start: int, n: int, official_every: int = 0) -> None:
    with open(path, "w", newline="", encoding="utf-8") as fh:
        w = csv.writer(fh, quoting=csv.QUOTE_ALL, lineterminator="\r\n")
        w.writerow(COLS)
        for i in range(start, start + n):
            tid = str(1_700_000_000_000_000_000 + 2 * i)
            when = (T0 + timedelta(minutes=i)).strftime("%a %b %d %H:%M:%S +0000 %Y")
            w.writerow([tid, when, str(i % 50), f"aplikasi tangsel smart city error lagi @warga{i % 997} nomor {i}",
                        tid, "", "", "in", "Tangsel", "0", "1", "0", f"https://x.com/warga{i}/status/{tid}",
                        str(900_000 + i % 5000), f"warga{i % 5000}"])
            if official_every and i % official_every == 0:
                rid = str(int(tid) + 1)
                w.writerow([tid, (T0 + timedelta(minutes=i, hours=3)).strftime("%a %b %d %H:%M:%S +0000 %Y"), "0",
                            f"@warga{i % 5000} mohon maaf, sedang kami cek", rid, "", f"warga{i % 5000}", "in", "",
                            "0", "0", "0", f"https://x.com/tangselkota/status/{rid}", "111", "tangselkota"])


def main() -> None:
    ap = argparse.ArgumentParser()
    ap.add_argument("--tweets", type=int, default=20000)
    n = ap.parse_args().tweets
    with tempfile.TemporaryDirectory() as tmp:
        os.environ.setdefault("SUARA_CONFIG_DIR", str(Path(tmp) / "cfg"))
        store = Store(f"sqlite:///{tmp}/bench.db")
        first, over = Path(tmp) / "first.csv", Path(tmp) / "overlap.csv"
        write(first, 0, n)
        write(over, n // 2, n, official_every=10)
        ops = {"x": ["tangselkota"]}
        for name, path in (("first import", first), ("same file again", first), ("overlapping export", over)):
            t = time.perf_counter()
            r = import_export(store, path, operators=ops)
            dt = time.perf_counter() - t
            print(f"{name:20s} {r.items:7d} items  {dt:6.2f} s  {r.items / dt:8.0f} items/s  "
                  f"new {r.stored.new}, updated {r.stored.updated}, unchanged {r.stored.unchanged}, "
                  f"official replies {r.operator_replies}")
        store.close()


if __name__ == "__main__":
    main()
