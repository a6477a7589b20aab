"""Stop `suara run` with SIGTERM, SIGINT or SIGKILL at random moments, again and again, then check
that the store holds every review once, that no run is left `running`, and that each stop gave the
documented exit status.

    python bench/kill_run.py [--kills 20] [--reviews 3000] [--seed 1] [--full]

The run crawls the local fake Play Store (slowed to ~0.3 s a page, so stops land mid-crawl and
mid-analysis) and App Store feed; each stop comes 3-14 s after the start. Prints one line per stop and a summary; exits 1 on any problem.
"""

from __future__ import annotations

import argparse
import os
import random
import signal
import subprocess
import sys
import tempfile
import time
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(ROOT))

from pipelines.store import Store  # noqa: E402
from scraper.fakes.appstore import FakeAppStore  # noqa: E402
from scraper.fakes.playstore import FakePlayStore  # noqa: E402
from scraper.fakes.server import serve  # noqa: E402

APP = "id.go.contoh.layanan"
EXPECTED = {signal.SIGTERM: 143, signal.SIGINT: 130, signal.SIGKILL: -9}


class SlowPlay(FakePlayStore):
    def handle(self, req):
        if req.path.endswith("/batchexecute"):
            time.sleep(0.3)
        return super().handle(req)


def main() -> int:
    ap = argparse.ArgumentParser()
    ap.add_argument("--kills", type=int, default=20)
    ap.add_argument("--reviews", type=int, default=3000)
    ap.add_argument("--seed", type=int, default=1)
    ap.add_argument("--full", action="store_true", help="every run walks every page (stops land mid-crawl)")
    a = ap.parse_args()
    rnd = random.Random(a.seed)
    tmp = Path(tempfile.mkdtemp(prefix="suara-kill-"))
    db = f"sqlite:///{tmp / 'suara.db'}"
    play = SlowPlay()
    play.add_app(APP)
    for i in range(a.reviews):
        play.add_review(APP, content=f"aplikasi lambat nomor {i}", score=1 + i % 5, at=1_700_000_000 + 600 * i)
    apple = FakeAppStore()
    cfg = tmp / "sources.toml"
    cfg.write_text(f'contact = "bench@localhost"\n[[playstore]]\nname = "a"\nid = "{APP}"\n'
                   '[[appstore]]\nname = "b"\nid = "1000000001"\n[analysis]\nmodel = "lexicon"\n')
    problems: list[str] = []
    with serve(play) as pbase, serve(apple) as abase:
        env = {**os.environ, "SUARA_HOME": str(tmp), "SUARA_PLAYSTORE_URL": pbase, "SUARA_APPSTORE_URL": abase,
               "SUARA_DOWNLOAD_DELAY": "0", "SUARA_AUTOTHROTTLE": "0", "HF_HUB_OFFLINE": "1"}
        cmd = [sys.executable, "-m", "pipelines.cli", "run", "--config", str(cfg), "--db", db, "--out", str(tmp / "r")]
        cmd += ["--full"] if a.full else []
        for k in range(a.kills):
            sig = rnd.choice(list(EXPECTED))
            proc = subprocess.Popen(cmd, cwd=ROOT, env=env, stdout=subprocess.DEVNULL, stderr=subprocess.PIPE,
                                    text=True)
            time.sleep(rnd.uniform(3.0, 14.0))
            proc.send_signal(sig)
            _, err = proc.communicate(timeout=120)
            # 0: it had finished before the signal; -N: the signal came while Python was still
            # starting, before `suara run` began (nothing to record; a shell shows 128+N too).
            ok = proc.returncode in (EXPECTED[sig], 0, -int(sig))
            if not ok or "Traceback" in err:
                problems.append(f"stop {k + 1} ({sig.name}): exit {proc.returncode}: {err.strip()[-300:]}")
            print(f"stop {k + 1:>3}: {sig.name:<7} exit {proc.returncode:>4}  stored {Store(db).count_mentions()}",
                  flush=True)
        final = subprocess.run(cmd, cwd=ROOT, env=env, capture_output=True, text=True, timeout=600)
    store = Store(db)
    m = store.mentions_df()
    runs = store.runs_df()
    want = a.reviews + len(apple.apps["1000000001"]["reviews"])
    if final.returncode != 0:
        problems.append(f"final run exit {final.returncode}: {final.stderr.strip()[-300:]}")
    if len(m) != want or not m.source_id.is_unique:
        problems.append(f"store holds {len(m)} mentions ({m.source_id.nunique()} distinct), expected {want}")
    if (runs.status == "running").any():
        problems.append(f"{int((runs.status == 'running').sum())} run(s) left 'running'")
    print(f"{a.kills} stops; final store {len(m)} mentions ({m.source_id.nunique()} distinct, expected {want}); "
          f"runs: {runs.groupby(['job', 'status']).size().to_dict()}")
    for p in problems:
        print("PROBLEM:", p)
    return 1 if problems else 0


if __name__ == "__main__":
    sys.exit(main())
