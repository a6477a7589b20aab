"""Two crawls of different sources writing at once must not corrupt or lose rows."""

import multiprocessing as mp

from pipelines.store import Store


def _crawl(url, source, pages, per_page):
    store = Store(url)
    for p in range(pages):
        rows = [dict(source=source, source_id=f"{p}-{i}", app="app", text=f"ulasan {p} {i}") for i in range(per_page)]
        store.save_page(source, "app", "id", "id", rows, token=f"page{p + 1}", status="incomplete")
    store.put_state(source, "app", "id", "id", status="complete", token=None)
    store.close()


def test_two_writers_at_once_lose_nothing(any_db_url):
    Store(any_db_url).close()  # create the schema once, as the first run would
    ctx = mp.get_context("spawn")
    procs = [ctx.Process(target=_crawl, args=(any_db_url, src, 20, 25)) for src in ("playstore", "appstore")]
    for p in procs:
        p.start()
    for p in procs:
        p.join(120)
        assert p.exitcode == 0
    store = Store(any_db_url)
    assert store.count_mentions("playstore") == 500
    assert store.count_mentions("appstore") == 500
    for src in ("playstore", "appstore"):
        st = store.get_state(src, "app", "id", "id")
        assert st["status"] == "complete" and st["new"] == 500 and st["pages"] == 20
