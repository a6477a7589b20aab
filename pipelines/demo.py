"""``suara demo``: the whole pipeline with no network.

It serves the synthetic samples in ``data/samples/`` on local ports in the real wire formats
of the Play Store, the App Store feed and a news source (GDELT + article pages), points the
real clients and spiders at them, and runs the same job as ``suara run`` into a fresh store:
crawl -> analyse -> trends -> triangulation -> HTML report.
"""

from __future__ import annotations

import os
import shutil
from contextlib import ExitStack, contextmanager
from pathlib import Path

from .paths import DATA_DIR, output_dir
from .runner import RunSummary, run_once
from .safefile import write_text

DEMO_NEWS_QUERY = "Tangsel Smart City"


def _toml_str(value: str) -> str:
    return '"' + value.replace("\\", "\\\\").replace('"', '\\"') + '"'


def demo_config(play_apps: dict, appstore_apps: dict) -> str:
    """A sources config naming every sample app and the demo news query."""
    lines = ['# Written by `suara demo`: the synthetic sample apps served on 127.0.0.1.',
             'contact = "suara-demo@localhost"', ""]
    for app_id, app in sorted(play_apps.items()):
        lines += ["[[playstore]]", f"name = {_toml_str(app.get('title') or app_id)}", f"id = {_toml_str(app_id)}",
                  'lang = "id"', 'country = "id"', ""]
    for app_id, app in sorted(appstore_apps.items()):
        lines += ["[[appstore]]", f"name = {_toml_str(app.get('name') or app.get('title') or app_id)}",
                  f"id = {_toml_str(str(app_id))}", 'country = "id"', ""]
    lines += ["[news]", f"queries = [{_toml_str(DEMO_NEWS_QUERY)}]", "since = 2023-01-01", "",
              "[analysis]", 'model = "auto"', "", "[trends]", 'period = "month"', "",
              "[survey]", f"file = {_toml_str(str(DATA_DIR / 'survey' / 'tangsel_smart_city.csv'))}", ""]
    return "\n".join(lines)


@contextmanager
def _env(**values: str):
    old = {k: os.environ.get(k) for k in values}
    os.environ.update(values)
    try:
        yield
    finally:
        for k, v in old.items():
            if v is None:
                os.environ.pop(k, None)
            else:
                os.environ[k] = v


def run_demo(out: str | Path | None = None, on_step=None) -> tuple[RunSummary, dict]:
    """Run the offline demo into ``out`` (default ``<output folder>/demo``), starting afresh.

    Returns the run summary and ``{"served": {source: items served}, "out": folder,
    "db": url, "config": path}`` so callers can compare what was stored with what was served.
    """
    from scraper.fakes.appstore import FakeAppStore
    from scraper.fakes.news import FakeNews
    from scraper.fakes.playstore import FakePlayStore
    from scraper.fakes.server import serve

    out = Path(out) if out else output_dir() / "demo"
    # A fresh store every time: the demo shows a first run, not an increment on the last demo.
    for stale in ("suara.db", "suara.db-wal", "suara.db-shm", "reports"):
        p = out / stale
        if p.is_dir():
            shutil.rmtree(p)
        elif p.exists():
            p.unlink()
    out.mkdir(parents=True, exist_ok=True)

    play, apple, news = FakePlayStore.from_samples(), FakeAppStore(), FakeNews()
    config = out / "demo_sources.toml"
    write_text(config, demo_config(play.apps, apple.apps))
    db = f"sqlite:///{out / 'suara.db'}"
    with ExitStack() as stack:
        urls = {name: stack.enter_context(serve(fake)) for name, fake in
                (("playstore", play), ("appstore", apple), ("news", news))}
        stack.enter_context(_env(
            SUARA_PLAYSTORE_URL=urls["playstore"],
            SUARA_APPSTORE_URL=urls["appstore"],
            SUARA_GDELT_URL=urls["news"],
            # No model hub here by design: `auto` falls back to the lexicon at once instead of
            # waiting on network time-outs.
            HF_HUB_OFFLINE="1",
            # Politeness delays are for real sites; these servers are ours, on this machine.
            SUARA_DOWNLOAD_DELAY="0",
            SUARA_AUTOTHROTTLE="0",
            SUARA_GDELT_DELAY="0",
            TRANSFORMERS_OFFLINE="1",
        ))
        summary = run_once(config, db, out / "reports", on_step=on_step)
    served = {
        "playstore": sum(len(a["reviews"]) for a in play.apps.values()),
        "appstore": sum(len(a["reviews"]) for a in apple.apps.values()),
        # Articles the news query found and whose pages were served (GDELT filters by query).
        "news": len({r.path for r in news.requests if r.path not in ("/api/v2/doc/doc", "/robots.txt")}),
    }
    return summary, {"served": served, "out": out, "db": db, "config": config}
