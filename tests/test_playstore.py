"""The Play Store client against the local fake (real HTTP on 127.0.0.1, Google's wire format)."""

from __future__ import annotations

import json
import os
import signal
import ssl
import subprocess
import sys
import textwrap
import threading
import time
from datetime import datetime, timezone
from http.server import BaseHTTPRequestHandler, HTTPServer
from pathlib import Path
from urllib.parse import parse_qs

import pytest
from typer.testing import CliRunner

from pipelines.cli import app as cli
from pipelines.errors import CrawlError, InputError
from pipelines.privacy import pseudonymise
from pipelines.store import Store
from scraper.fakes import Fault, serve
from scraper.fakes.playstore import FakePlayStore, play_data_error_body, play_gateway_error_body
from scraper.playstore import SOURCE, crawl_playstore, discover

APP = "com.example.tangsel"
T0 = 1_700_000_000  # 2023-11-14 22:13:20 UTC
ATTEMPTS = 3
ROOT = Path(__file__).resolve().parent.parent


def sample_reviews(n: int, start: int = T0) -> list[dict]:
    return [
        {"reviewId": f"gp:r{i:04d}", "userName": f"Warga {i}", "content": f"ulasan nomor {i}", "score": i % 5 + 1,
         "thumbsUpCount": i, "at": start + i * 3600, "appVersion": "1.0.0"}
        for i in range(n)
    ]


@pytest.fixture(autouse=True)
def fast_retries(monkeypatch):
    monkeypatch.setenv("SUARA_RETRY_WAIT_MAX", "0.001")
    monkeypatch.setenv("SUARA_RETRY_ATTEMPTS", str(ATTEMPTS))
    monkeypatch.setenv("SUARA_HTTP_TIMEOUT", "5")
    monkeypatch.setenv("SUARA_PLAYSTORE_DELAY", "0")


class _Router:
    """One local server for the module; each test plugs in its own fake (saves a server start-stop per test)."""

    target = None

    def __call__(self, environ, start_response):
        return self.target(environ, start_response)


@pytest.fixture(scope="module")
def server():
    router = _Router()
    with serve(router) as base:
        yield router, base


@pytest.fixture
def fake(server, monkeypatch):
    router, base = server
    router.target = FakePlayStore({APP: {"title": "Tangsel Contoh", "developer": "Pemkot", "reviews": sample_reviews(25)}})
    monkeypatch.setenv("SUARA_PLAYSTORE_URL", base)
    yield router.target


def stored_ids(store: Store) -> list[str]:
    return list(store.mentions_df(SOURCE)["source_id"])


def all_ids(fake: FakePlayStore) -> set[str]:
    return {r["reviewId"] for r in fake.newest_first(APP)}


def request_token(req) -> str | None:
    inner = json.loads(json.loads(parse_qs(req.body.decode())["f.req"][0])[0][0][1])
    paging = inner[1][2]
    return paging[2] if len(paging) > 2 else None


def request_count(req) -> int:
    return json.loads(json.loads(parse_qs(req.body.decode())["f.req"][0])[0][0][1])[1][2][0]


# ---- complete, incremental, resumable -----------------------------------------------------------


def test_full_crawl_of_several_pages_stores_every_review_exactly_once(fake, store):
    res = crawl_playstore(store, APP, page_size=10)
    ids = stored_ids(store)
    assert sorted(ids) == sorted(all_ids(fake)) and len(ids) == 25
    assert (res.pages, res.requests, res.new, res.complete, res.stopped) == (3, 3, 25, True, "end")
    reqs = fake.review_requests
    assert [request_count(r) for r in reqs] == [10, 10, 10]
    assert request_token(reqs[0]) is None and request_token(reqs[1]) and request_token(reqs[2]) != request_token(reqs[1])
    state = store.get_state(SOURCE, APP, "id", "id")
    assert state["status"] == "complete" and state["token"] is None
    assert state["high_water"] == datetime.fromtimestamp(T0 + 24 * 3600, tz=timezone.utc).replace(tzinfo=None)
    assert (state["pages"], state["seen"], state["new"]) == (3, 25, 25)
    assert store.runs_df().iloc[-1][["job", "status", "new"]].tolist() == ["crawl", "ok", 25]
    assert reqs[0].path == "/_/PlayStoreUi/data/batchexecute" and reqs[0].arg("hl") == "id" and reqs[0].arg("gl") == "id"


def test_one_cookie_session_across_pages(fake, store):
    crawl_playstore(store, APP, page_size=5)
    cookies = [r.headers.get("cookie") for r in fake.review_requests]
    assert cookies[0] is None  # the first page gets the cookie ...
    assert len(set(cookies[1:])) == 1 and cookies[1].startswith("NID=")  # ... and every later page sends it back


def test_second_run_after_a_few_new_reviews_costs_one_request(fake, store):
    crawl_playstore(store, APP, page_size=10)
    new = [fake.add_review(APP, content=f"baru {i}", score=2, at=T0 + 100 * 3600 + i) for i in range(3)]
    before = len(fake.review_requests)
    res = crawl_playstore(store, APP, page_size=10)
    assert len(fake.review_requests) - before == 1
    assert (res.requests, res.new, res.updated, res.stopped) == (1, 3, 0, "caught-up")
    assert set(new) <= set(stored_ids(store)) and len(stored_ids(store)) == 28
    # Nothing new at all: still one request, nothing written.
    res = crawl_playstore(store, APP, page_size=10)
    assert (res.requests, res.new, res.updated) == (1, 0, 0)


def test_incremental_follows_new_reviews_beyond_the_first_page(fake, store):
    crawl_playstore(store, APP, page_size=10)
    for i in range(15):
        fake.add_review(APP, content=f"baru {i}", at=T0 + 100 * 3600 + i)
    res = crawl_playstore(store, APP, page_size=10)
    assert (res.requests, res.new) == (2, 15)
    assert sorted(stored_ids(store)) == sorted(all_ids(fake))


def test_full_flag_walks_every_page_again(fake, store):
    crawl_playstore(store, APP, page_size=10)
    res = crawl_playstore(store, APP, page_size=10, full=True)
    assert (res.requests, res.seen, res.new, res.stopped) == (3, 25, 0, "end")


def _inject_after_page(fake: FakePlayStore, page: int, *faults: Fault):
    def progress(p) -> None:
        if p.page == page:
            fake.inject(*faults)

    return progress


def test_persistent_fault_keeps_data_leaves_state_incomplete_and_resumes_without_gap(fake, store):
    with pytest.raises(CrawlError) as err:
        crawl_playstore(store, APP, page_size=10, progress=_inject_after_page(fake, 2, *[Fault(status=503)] * ATTEMPTS))
    msg = str(err.value)
    assert "\n" not in msg and APP in msg and "page 3" in msg and "HTTP 503" in msg and f"{ATTEMPTS} attempts" in msg
    assert len(stored_ids(store)) == 20
    state = store.get_state(SOURCE, APP, "id", "id")
    assert state["status"] == "incomplete" and state["token"] and "HTTP 503" in state["last_error"]
    assert store.runs_df().iloc[-1]["status"] == "failed"
    token = state["token"]
    before = len(fake.review_requests)
    res = crawl_playstore(store, APP, page_size=10)
    assert res.resumed and res.complete and (res.requests, res.seen, res.new) == (1, 5, 5)
    assert request_token(fake.review_requests[before]) == token  # continued, not restarted
    ids = stored_ids(store)
    assert sorted(ids) == sorted(all_ids(fake)) and len(ids) == len(set(ids)) == 25
    assert store.get_state(SOURCE, APP, "id", "id")["status"] == "complete"


def test_crawl_killed_by_failing_callback_resumes_with_no_duplicate_and_no_gap(fake, store):
    def die(p) -> None:
        if p.page == 2:
            raise KeyboardInterrupt

    with pytest.raises(KeyboardInterrupt):
        crawl_playstore(store, APP, page_size=10, progress=die)
    assert len(stored_ids(store)) == 20
    assert store.runs_df().iloc[-1]["error"].startswith("interrupted")
    # A new review arrives while the crawl is stopped: the resumed crawl finishes the old
    # walk, and the next incremental run picks up the newcomer.
    newcomer = fake.add_review(APP, content="muncul saat jeda", at=T0 + 200 * 3600)
    res = crawl_playstore(store, APP, page_size=10)
    assert res.resumed and (res.requests, res.new) == (1, 5)
    res = crawl_playstore(store, APP, page_size=10)
    assert (res.requests, res.new) == (1, 1)
    ids = stored_ids(store)
    assert newcomer in ids and sorted(ids) == sorted(all_ids(fake)) and len(ids) == 26


def test_process_killed_mid_crawl_resumes_with_no_duplicate_and_no_gap(fake, db_url, tmp_path):
    # A real kill (SIGKILL) of `suara crawl playstore` at an arbitrary moment.
    fake.inject(*[Fault(delay=0.15)] * 10)  # slow pages so the kill lands mid-crawl
    env = {**os.environ}
    proc = subprocess.Popen(
        [sys.executable, "-c", "from pipelines.cli import main; main()", "crawl", "playstore",
         "--app", APP, "--page-size", "5", "--db", db_url],
        cwd=ROOT, env=env, stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL,
    )
    deadline = time.time() + 30
    while len(fake.review_requests) < 3 and time.time() < deadline and proc.poll() is None:
        time.sleep(0.01)
    proc.send_signal(signal.SIGKILL)
    proc.wait()
    store = Store(db_url)
    try:
        state = store.get_state(SOURCE, APP, "id", "id")
        n = len(stored_ids(store))
        assert state["status"] == "incomplete" and 0 < n < 25
        assert n == 5 * state["pages"]  # whole pages only: reviews and checkpoint went together
        res = crawl_playstore(store, APP, page_size=5)
        ids = stored_ids(store)
        assert res.complete and sorted(ids) == sorted(all_ids(fake)) and len(ids) == 25
        assert res.seen == 25 - n  # no page fetched twice
    finally:
        store.close()


@pytest.mark.parametrize(
    "fault",
    [
        Fault(body=play_data_error_body()),
        Fault(body=play_gateway_error_body()),
        Fault(status=429, headers={"Retry-After": "0"}),
        Fault(status=503),
        Fault(status=502, body="<html>Bad Gateway</html>"),
        Fault(delay=0.6),  # longer than the client's time-out below
        Fault(body="<html><body>Sebelum Anda melanjutkan ke Google</body></html>"),
        Fault(body=")]}'\n\n[[\"wrb.fr\",\"oCPfdb\",\"[[[\\\"gp:cut"),
    ],
    ids=["PlayDataError", "PlayGatewayError", "429", "503", "502", "timeout", "html", "truncated"],
)
def test_transient_faults_are_retried_and_lose_nothing(fake, store, monkeypatch, fault):
    monkeypatch.setenv("SUARA_HTTP_TIMEOUT", "0.3")
    retries = []
    res = crawl_playstore(store, APP, page_size=10, progress=_inject_after_page(fake, 1, fault, fault),
                          on_retry=lambda what, n, wait: retries.append(what))
    assert res.complete and res.requests == 3 + 2 and len(retries) == 2
    ids = stored_ids(store)
    assert sorted(ids) == sorted(all_ids(fake)) and len(ids) == 25


def test_in_band_error_is_named_when_it_persists(fake, store):
    fake.inject(*[Fault(body=play_data_error_body())] * ATTEMPTS)
    with pytest.raises(CrawlError, match=r"page 1: in-band PlayDataError inside HTTP 200 \(after 3 attempts\)"):
        crawl_playstore(store, APP, page_size=10)
    state = store.get_state(SOURCE, APP, "id", "id")
    assert state["status"] == "incomplete" and state["high_water"] is None


def test_malformed_body_gives_one_clear_error(fake, store):
    fake.inject(*[Fault(body="this is not the play store")] * ATTEMPTS)
    with pytest.raises(CrawlError) as err:
        crawl_playstore(store, APP)
    assert "\n" not in str(err.value)
    assert "malformed body: no )]}' prefix, starts 'this is not the play store'" in str(err.value)


def test_bad_review_array_is_a_malformed_body(fake, store):
    bad = ")]}'\n\n" + json.dumps([["wrb.fr", "oCPfdb", json.dumps([[["gp:x", ["A"], "five", None, "t", [T0, 0]]], None]),
                                    None, None, None, "generic"]])
    fake.inject(*[Fault(body=bad)] * ATTEMPTS)
    with pytest.raises(CrawlError, match=r"malformed body: review gp:x: score 'five' is not 1-5"):
        crawl_playstore(store, APP)


def test_repeated_token_is_refused_instead_of_looping(fake, store):
    crawl_playstore(store, APP, page_size=10, limit=10)
    token = store.get_state(SOURCE, APP, "id", "id")["token"]
    loop = ")]}'\n\n" + json.dumps([["wrb.fr", "oCPfdb", json.dumps([[], [None, token], None]), None, None, None, "generic"]])
    fake.inject(Fault(body=loop))
    with pytest.raises(CrawlError, match="same continuation token"):
        crawl_playstore(store, APP, page_size=10)


def test_client_error_fails_at_once(fake, store):
    fake.inject(Fault(status=404, body="Not Found"))
    with pytest.raises(CrawlError, match=r"page 1: HTTP 404 Not Found.*\(after 1 attempt\)"):
        crawl_playstore(store, APP)
    assert len(fake.review_requests) == 1


def test_limit_stops_early_and_the_next_run_resumes(fake, store):
    res = crawl_playstore(store, APP, page_size=10, limit=12)
    assert [request_count(r) for r in fake.review_requests] == [10, 2]
    assert (res.seen, res.stopped, res.complete) == (12, "limit", False)
    assert store.get_state(SOURCE, APP, "id", "id")["status"] == "incomplete"
    assert store.runs_df().iloc[-1]["status"] == "partial"
    res = crawl_playstore(store, APP, page_size=10)
    assert res.complete and sorted(stored_ids(store)) == sorted(all_ids(fake))


def test_restart_drops_a_stale_token_and_stores_no_duplicate(fake, store):
    crawl_playstore(store, APP, page_size=10, limit=10)
    store.put_state(SOURCE, APP, "id", "id", token="expired-token")  # one the service would refuse
    res = crawl_playstore(store, APP, page_size=10, restart=True)
    assert not res.resumed and res.complete
    assert "expired-token" not in "".join(r.body.decode() for r in fake.review_requests)
    ids = stored_ids(store)
    assert len(ids) == len(set(ids)) and set(ids) == all_ids(fake)


def test_crawl_resume_and_increment_on_every_store_back_end(fake, any_db_url):
    store = Store(any_db_url)
    try:
        with pytest.raises(CrawlError):
            crawl_playstore(store, APP, page_size=10, progress=_inject_after_page(fake, 1, *[Fault(status=500)] * ATTEMPTS))
        assert len(stored_ids(store)) == 10 and store.get_state(SOURCE, APP, "id", "id")["status"] == "incomplete"
        assert crawl_playstore(store, APP, page_size=10).new == 15
        fake.edit_review(APP, "gp:r0001", content="diubah", at=T0 + 500 * 3600)
        fake.add_review(APP, content="baru", at=T0 + 400 * 3600)
        res = crawl_playstore(store, APP, page_size=10)
        assert (res.requests, res.new, res.updated) == (1, 1, 1)
        ids = stored_ids(store)
        assert sorted(ids) == sorted(all_ids(fake)) and len(ids) == 26
        assert store.versions_df()["text"].tolist() == ["ulasan nomor 1"]
    finally:
        store.close()


# ---- content ------------------------------------------------------------------------------------


def test_edited_review_keeps_its_old_version(fake, store):
    crawl_playstore(store, APP, page_size=10)
    fake.edit_review(APP, "gp:r0003", content="sudah diperbaiki, terima kasih", score=5, at=T0 + 300 * 3600)
    res = crawl_playstore(store, APP, page_size=10)
    assert (res.requests, res.new, res.updated) == (1, 0, 1)
    df = store.mentions_df(SOURCE).set_index("source_id")
    assert df.loc["gp:r0003", "text"] == "sudah diperbaiki, terima kasih" and df.loc["gp:r0003", "rating"] == 5
    versions = store.versions_df()
    assert versions["text"].tolist() == ["ulasan nomor 3"] and versions["rating"].tolist() == [4.0]


def test_review_quoting_an_error_name_is_just_text(fake, store):
    rid = fake.add_review(APP, content="Muncul tulisan PlayDataError dan PlayGatewayError terus", at=T0 + 90 * 3600)
    res = crawl_playstore(store, APP, page_size=10)
    assert res.complete and res.requests == 3
    assert "PlayDataError" in store.mentions_df(SOURCE).set_index("source_id").loc[rid, "text"]


def test_developer_replies_are_stored_in_utc(fake, store):
    fake.reply(APP, "gp:r0024", "Terima kasih, sedang kami perbaiki.", at=T0 + 30 * 3600)
    crawl_playstore(store, APP, page_size=10)
    row = store.mentions_df(SOURCE).set_index("source_id").loc["gp:r0024"]
    assert row["reply_text"] == "Terima kasih, sedang kami perbaiki."
    assert row["reply_at"].to_pydatetime() == datetime(2023, 11, 16, 4, 13, 20)
    # A reply to a recent review arrives later: the incremental crawl versions it. The changed
    # review sits below an unchanged one, so the crawl reads one more page to be sure.
    fake.reply(APP, "gp:r0023", "Mohon maaf atas kendalanya.", at=T0 + 40 * 3600)
    res = crawl_playstore(store, APP, page_size=10)
    assert (res.requests, res.updated) == (2, 1)
    assert store.mentions_df(SOURCE).set_index("source_id").loc["gp:r0023", "reply_text"] == "Mohon maaf atas kendalanya."


@pytest.fixture
def jakarta_clock(monkeypatch):
    monkeypatch.setenv("TZ", "Asia/Jakarta")
    time.tzset()
    yield
    monkeypatch.undo()
    time.tzset()


def test_times_are_utc_from_epoch_seconds_not_local_time(fake, store, jakarta_clock):
    from google_play_scraper.constants.element import ElementSpecs

    crawl_playstore(store, APP, page_size=10)
    row = store.mentions_df(SOURCE).set_index("source_id").loc["gp:r0000"]
    assert row["created_at"].to_pydatetime() == datetime(2023, 11, 14, 22, 13, 20)  # T0 in UTC
    # What the test guards against: gps's own parsing gives Jakarta wall-clock time.
    gps_at = ElementSpecs.Review["at"].extract_content(FakePlayStore.review_array(fake.apps[APP]["reviews"]["gp:r0000"]))
    assert gps_at == datetime(2023, 11, 15, 5, 13, 20)


def test_authors_pseudonymised_and_no_profile_images_stored(fake, store, db_url):
    crawl_playstore(store, APP, page_size=10)
    df = store.mentions_df(SOURCE).set_index("source_id")
    assert df.loc["gp:r0007", "author_key"] == pseudonymise("playstore", "Warga 7")
    store.close()
    raw = Path(db_url[len("sqlite:///"):]).read_bytes()
    for wal in Path(db_url[len("sqlite:///"):]).parent.glob("suara.db-*"):
        raw += wal.read_bytes()
    assert b"Warga 7" not in raw and b"googleusercontent" not in raw


def test_bad_arguments_are_input_errors(fake, store, monkeypatch):
    with pytest.raises(InputError, match="not a Play Store app id"):
        crawl_playstore(store, "not an id")
    with pytest.raises(InputError, match="page size"):
        crawl_playstore(store, APP, page_size=0)
    monkeypatch.setenv("SUARA_RETRY_WAIT_MAX", "soon")
    with pytest.raises(InputError, match="SUARA_RETRY_WAIT_MAX"):
        crawl_playstore(store, APP)
    assert fake.review_requests == []


# ---- the fake speaks what google-play-scraper parses --------------------------------------------


def test_google_play_scraper_itself_parses_the_fake_pages(fake):
    from google_play_scraper.constants.element import ElementSpecs
    from google_play_scraper.features.reviews import _fetch_review_items

    url = os.environ["SUARA_PLAYSTORE_URL"] + "/_/PlayStoreUi/data/batchexecute?hl=id&gl=id"
    token, got = None, []
    for _ in range(5):
        items, token = _fetch_review_items(url, APP, 2, 10, None, None, token)
        got += [{k: s.extract_content(i) for k, s in ElementSpecs.Review.items()} for i in items]
        if token is None:
            break
    assert [g["reviewId"] for g in got] == [r["reviewId"] for r in fake.newest_first(APP)]
    assert got[0]["content"] == "ulasan nomor 24" and got[0]["score"] == 5 and got[0]["thumbsUpCount"] == 24


def test_discover_lists_app_ids_from_the_search_page(server, monkeypatch):
    router, base = server
    router.target = FakePlayStore.from_samples()
    monkeypatch.setenv("SUARA_PLAYSTORE_URL", base)
    df = discover("Tangsel Smart City")
    assert list(df.columns) == ["app_id", "title", "developer", "score", "genre", "installs"]
    assert df.iloc[0]["app_id"] == "id.go.tangerangselatankota.smartcity"  # the exact match on top
    assert df.iloc[0]["title"] == "Tangsel Smart City" and df.iloc[0]["score"] == 3.4
    assert set(df["app_id"]) == {"id.go.tangerangselatankota.smartcity", "id.go.tangerangselatankota.siaran",
                                 "id.go.tangerangselatankota.dukcapil"}
    assert discover("aplikasi tidak ada").empty

    # The same page read by google-play-scraper's own search parser.
    from google_play_scraper import search
    from google_play_scraper.constants.request import Formats

    with monkeypatch.context() as m:
        m.setattr(type(Formats.Searchresults), "URL_FORMAT", base + "/store/search?q={query}&c=apps&hl={lang}&gl={country}")
        gps = [a["appId"] for a in search("Tangsel Smart City", lang="id", country="id")]
    # (gps counts the top card against the list's length, so it drops the list's last app.)
    assert len(gps) == 2 and gps == list(df["app_id"])[:2]

    result = CliRunner().invoke(cli, ["discover", "SIARAN Tangsel"])
    assert result.exit_code == 0 and "id.go.tangerangselatankota.siaran" in result.stdout


# ---- CLI ----------------------------------------------------------------------------------------


def test_cli_crawl_fails_with_one_line_and_resumes(fake, db_url):
    runner = CliRunner()
    args = ["crawl", "playstore", "--app", APP, "--page-size", "10", "--db", db_url]
    first = runner.invoke(cli, args + ["--limit", "10"])
    assert first.exit_code == 0 and "stopped at --limit" in first.stdout
    fake.inject(*[Fault(body=play_gateway_error_body())] * ATTEMPTS)
    failed = runner.invoke(cli, args)
    assert failed.exit_code == 3
    lines = [line for line in failed.stderr.splitlines() if line.strip()]
    assert len(lines) == 1 and lines[0].startswith("error: Play Store crawl of com.example.tangsel (id-id) failed at page 2")
    assert "PlayGatewayError" in lines[0]
    store = Store(db_url)
    try:
        assert len(stored_ids(store)) == 10
        assert store.get_state(SOURCE, APP, "id", "id")["status"] == "incomplete"
    finally:
        store.close()
    done = runner.invoke(cli, args)
    assert done.exit_code == 0 and "complete, resumed" in done.stdout and "15 new" in done.stdout
    assert runner.invoke(cli, ["crawl", "playstore", "--app", "bad id", "--db", db_url]).exit_code == 2


# ---- TLS ----------------------------------------------------------------------------------------


def _py(code: str, **env) -> subprocess.CompletedProcess:
    return subprocess.run([sys.executable, "-c", textwrap.dedent(code)], cwd=ROOT, capture_output=True, text=True,
                          env={**os.environ, **env}, timeout=60)


def test_tls_verification_is_on_after_import(tmp_path):
    """google-play-scraper alone switches certificate checks off; importing Suara's client switches them back on."""
    check = """
        import ssl, urllib.request
        import {module}
        ctx = ssl._create_default_https_context()
        print(ssl._create_default_https_context is ssl.create_default_context, ctx.verify_mode == ssl.CERT_REQUIRED,
              ctx.check_hostname)
        if {port}:
            try:
                print(urllib.request.urlopen("https://127.0.0.1:{port}/", timeout=10).read().decode())
            except Exception as exc:
                print(type(getattr(exc, "reason", exc)).__name__)
    """
    port = 0
    server = _self_signed_https_server(tmp_path)
    if server is not None:
        threading.Thread(target=server.serve_forever, daemon=True).start()
        port = server.server_port
    try:
        gps_only = _py(check.format(module="google_play_scraper", port=port)).stdout.split()
        suara = _py(check.format(module="scraper.playstore", port=port)).stdout.split()
    finally:
        if server is not None:
            server.shutdown()
            server.server_close()
    assert gps_only[:3] == ["False", "False", "False"] and suara[:3] == ["True", "True", "True"]
    if server is not None:  # a real handshake with a self-signed certificate
        assert gps_only[3] == "hello" and suara[3] == "SSLCertVerificationError"


def _self_signed_https_server(tmp_path) -> HTTPServer | None:
    try:
        subprocess.run(["openssl", "req", "-x509", "-newkey", "ec", "-pkeyopt", "ec_paramgen_curve:prime256v1",
                        "-nodes", "-keyout", str(tmp_path / "k.pem"), "-out", str(tmp_path / "c.pem"), "-days", "1",
                        "-subj", "/CN=127.0.0.1"], check=True, capture_output=True, timeout=30)
    except (OSError, subprocess.CalledProcessError, subprocess.TimeoutExpired):
        return None  # no openssl: the context checks above still run

    class Hello(BaseHTTPRequestHandler):
        def do_GET(self):
            self.send_response(200)
            self.end_headers()
            self.wfile.write(b"hello")

        def log_message(self, *a):
            pass

    server = HTTPServer(("127.0.0.1", 0), Hello)
    ctx = ssl.SSLContext(ssl.PROTOCOL_TLS_SERVER)
    ctx.load_cert_chain(tmp_path / "c.pem", tmp_path / "k.pem")
    server.socket = ctx.wrap_socket(server.socket, server_side=True)
    return server
