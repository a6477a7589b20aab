"""Security of collection: TLS verification (real HTTPS servers with certificates this test makes),
no file:// or private-address fetches from other people's links, no user names in URLs or logs,
outputs that a planted symlink cannot redirect."""

from __future__ import annotations

import json
import logging
import os
import ssl
from datetime import datetime

import pytest
import trustme
from typer.testing import CliRunner

from pipelines.cli import app as cli_app
from pipelines.errors import CrawlError, InputError
from pipelines.store import Store
from scraper.crawl import FAST_SETTINGS, run_spider
from scraper.fakes.appstore import FakeAppStore
from scraper.fakes.news import FakeNews
from scraper.fakes.playstore import FakePlayStore
from scraper.fakes.reddit import FakeReddit
from scraper.fakes.server import Fault, serve
from scraper.fakes.youtube import FakeYouTube
from scraper.urlguard import parse_allowance, url_problem

APP = "1000000002"  # App Store sample app: 14 reviews, one page


@pytest.fixture(scope="module")
def ca() -> trustme.CA:
    return trustme.CA()


@pytest.fixture
def ca_file(ca, tmp_path) -> str:
    path = tmp_path / "private-ca.pem"
    ca.cert_pem.write_to_path(str(path))
    return str(path)


def tls_context(ca: trustme.CA, *names: str) -> ssl.SSLContext:
    """A server context whose certificate ``ca`` issued for ``names``."""
    ctx = ssl.SSLContext(ssl.PROTOCOL_TLS_SERVER)
    ca.issue_cert(*names).configure_cert(ctx)
    return ctx


def crawl_appstore(base, db_url, **overrides):
    return run_spider("appstore", db=db_url, settings_overrides={**FAST_SETTINGS, "SUARA_APPSTORE_URL": base,
                                                                 **overrides}, app=APP, country="id")


# ---- TLS: Scrapy spiders ----------------------------------------------------------------------------------


def test_appstore_refuses_an_untrusted_certificate_and_accepts_a_configured_private_ca(ca, ca_file, db_url):
    fake = FakeAppStore()
    store = Store(db_url)
    with serve(fake, ssl_context=tls_context(ca, "127.0.0.1")) as base:
        host = base.removeprefix("https://")
        bad = crawl_appstore(base, db_url)
        assert not bad.ok and store.count_mentions() == 0
        assert fake.requests == []  # the handshake failed before any HTTP request
        assert bad.requests == 1  # not retried, and no next page tried
        assert bad.errors[0].startswith(f"TLS: {host} refused: certificate verify failed: unable to get local issuer")
        assert len(bad.errors) == 1, bad.errors  # one line, not one per request or retry
        assert store.get_state("appstore", APP, "", "id")["status"] == "incomplete"

        # The same server, its CA named as the private bundle: the crawl works (the refusal above was TLS).
        good = crawl_appstore(base, db_url, SUARA_CA_BUNDLE=ca_file)
        assert good.ok, good.errors
        assert good.new == 14 and store.count_mentions() == 14
    store.close()


def test_host_name_is_checked_too(ca, ca_file, db_url):
    fake = FakeAppStore()
    with serve(fake, ssl_context=tls_context(ca, "mirror.example.org")) as base:
        s = crawl_appstore(base, db_url, SUARA_CA_BUNDLE=ca_file)  # trusted CA, certificate for another name
    assert not s.ok and fake.requests == []
    assert "certificate is not valid for 127.0.0.1 (host name mismatch)" in s.errors[0]


def test_cli_crawl_exits_3_with_one_line_naming_host_and_problem(ca, db_url, monkeypatch):
    fake = FakeAppStore()
    monkeypatch.setenv("SUARA_DOWNLOAD_DELAY", "0")
    monkeypatch.setenv("SUARA_AUTOTHROTTLE", "0")
    with serve(fake, ssl_context=tls_context(ca, "127.0.0.1")) as base:
        monkeypatch.setenv("SUARA_APPSTORE_URL", base)
        res = CliRunner().invoke(cli_app, ["crawl", "appstore", "--app", APP, "--db", db_url])
    assert res.exit_code == 3, res.output
    err = [ln for ln in res.output.splitlines() if ln.startswith("error:")]
    assert len(err) == 1 and f"TLS: {base.removeprefix('https://')} refused" in err[0], res.output
    assert "certificate verify failed" in err[0] and fake.requests == []


def test_youtube_key_and_reddit_secret_never_reach_an_unverified_host(ca, db_url, monkeypatch):
    monkeypatch.setenv("YOUTUBE_API_KEY", "secret-youtube-key")
    monkeypatch.setenv("REDDIT_CLIENT_ID", "cid")
    monkeypatch.setenv("REDDIT_CLIENT_SECRET", "secret-reddit")
    yt, rd = FakeYouTube(), FakeReddit()
    with serve(yt, ssl_context=tls_context(ca, "127.0.0.1")) as ybase, \
            serve(rd, ssl_context=tls_context(ca, "127.0.0.1")) as rbase:
        y = run_spider("youtube", db=db_url, settings_overrides={**FAST_SETTINGS, "SUARA_YOUTUBE_URL": ybase},
                       query="Tangsel Smart City")
        r = run_spider("reddit", db=db_url, settings_overrides={**FAST_SETTINGS, "SUARA_REDDIT_URL": rbase,
                                                                "SUARA_REDDIT_OAUTH_URL": rbase},
                       query="Tangsel Smart City")
    assert yt.requests == [] and rd.requests == []  # neither the key header nor the Basic secret was sent
    for s, base in ((y, ybase), (r, rbase)):
        assert not s.ok and s.stored == 0 and s.requests == 1
        assert s.errors == [f"TLS: {base.removeprefix('https://')} refused: certificate verify failed: "
                            "unable to get local issuer certificate; nothing was sent to it or stored from it "
                            "(for a private CA set SUARA_CA_BUNDLE to its PEM bundle)"], s.errors


def test_api_key_does_not_follow_a_redirect_to_another_host(db_url, monkeypatch):
    monkeypatch.setenv("YOUTUBE_API_KEY", "secret-youtube-key")
    yt, elsewhere = FakeYouTube(), FakeYouTube()
    with serve(yt) as ybase, serve(elsewhere) as other:
        yt.inject(Fault(status=302, path="/youtube/v3/search", headers={"Location": other + "/youtube/v3/search?q=x"}))
        run_spider("youtube", db=db_url, settings_overrides={**FAST_SETTINGS, "SUARA_YOUTUBE_URL": ybase},
                   query="Tangsel Smart City")
    assert yt.requests[0].headers.get("x-goog-api-key") == "secret-youtube-key"
    assert [r.path for r in elsewhere.requests] == ["/youtube/v3/search"]  # the redirect was followed ...
    assert all("x-goog-api-key" not in r.headers for r in elsewhere.requests)  # ... without the key


def test_bad_ca_bundle_is_one_input_error_before_any_request(tmp_path, db_url, monkeypatch):
    junk = tmp_path / "junk.pem"
    junk.write_text("not a certificate\n")
    for value, message in ((str(tmp_path / "missing.pem"), "does not exist"), (str(junk), "not a readable PEM")):
        monkeypatch.setenv("SUARA_CA_BUNDLE", value)
        with pytest.raises(InputError, match=message):
            crawl_appstore("https://127.0.0.1:9", db_url)
        res = CliRunner().invoke(cli_app, ["crawl", "appstore", "--app", APP, "--db", db_url])
        assert res.exit_code == 2 and "SUARA_CA_BUNDLE" in res.output, res.output


def test_ca_bundle_from_the_sources_config(tmp_path, ca_file, monkeypatch):
    from scraper.trust import ca_bundle

    monkeypatch.delenv("SUARA_CA_BUNDLE", raising=False)
    cfg = tmp_path / "sources.toml"
    cfg.write_text('contact = "ops@example.org"\nca_bundle = "private-ca.pem"\n')
    assert ca_bundle(config=cfg) == ca_file  # relative to the config's folder
    import certifi

    cfg.write_text('contact = "ops@example.org"\n')
    assert ca_bundle(config=cfg) == certifi.where()


# ---- TLS: the Play Store client ---------------------------------------------------------------------------


def test_playstore_tls_failure_is_not_retried(ca, ca_file, store, monkeypatch):
    from scraper.playstore import crawl_playstore

    monkeypatch.setenv("SUARA_RETRY_WAIT_MAX", "0.001")
    monkeypatch.setenv("SUARA_RETRY_ATTEMPTS", "6")
    monkeypatch.setenv("SUARA_PLAYSTORE_DELAY", "0")
    monkeypatch.setenv("REQUESTS_CA_BUNDLE", ca_file)  # requests' own variable must not widen trust
    fake = FakePlayStore.from_samples()
    app_id = next(iter(fake.apps))
    with serve(fake, ssl_context=tls_context(ca, "127.0.0.1")) as base:
        monkeypatch.setenv("SUARA_PLAYSTORE_URL", base)
        with pytest.raises(CrawlError) as err:
            crawl_playstore(store, app_id)
        assert fake.requests == [] and store.count_mentions() == 0
        msg = str(err.value)
        assert f"TLS: {base.removeprefix('https://')} refused: certificate verify failed" in msg
        assert "(after 1 attempt)" in msg and "\n" not in msg

        monkeypatch.setenv("SUARA_CA_BUNDLE", ca_file)
        result = crawl_playstore(store, app_id)
        assert result.complete and store.count_mentions() > 0


# ---- news: only http(s) to public hosts -------------------------------------------------------------------


@pytest.mark.parametrize("url, problem", [
    ("file:///etc/passwd", "scheme file: is not http or https"),
    ("data:text/html,<p>x</p>", "scheme data:"),
    ("javascript:alert(1)", "scheme javascript:"),
    ("ftp://example.org/a", "scheme ftp:"),
    ("http://127.0.0.1:8080/a", "loopback"),
    ("http://[::1]/a", "loopback"),
    ("http://10.1.2.3/a", "private"),
    ("http://192.168.0.1/admin", "private"),
    ("http://169.254.169.254/latest/meta-data/", "link-local"),
    ("http://[::ffff:127.0.0.1]/a", "loopback"),
    ("http://localhost/a", "not a public host"),
    ("http://2130706433/a", "numeric address"),
    ("https://news.example.co.id/a", None),
    ("http://93.184.215.14/a", None),
])
def test_url_problem(url, problem):
    got = url_problem(url)
    assert (got is None) if problem is None else (problem in got), got


def test_allowance_lists_hosts_and_networks():
    allow = parse_allowance("127.0.0.1, intranet.local 10.0.0.0/8")
    assert url_problem("http://127.0.0.1:5000/a", allow) is None
    assert url_problem("http://intranet.local/a", allow) is None
    assert url_problem("http://10.9.8.7/a", allow) is None
    assert "private" in url_problem("http://192.168.1.1/a", allow)
    assert "scheme file:" in url_problem("file:///etc/passwd", allow)  # an allowance never admits other schemes
    assert "loopback" in url_problem("http://x.test/", [], resolved="127.0.0.1")  # judged by its address


def test_news_refuses_file_and_private_links_unless_allowed(tmp_path, db_url, monkeypatch, caplog):
    secret = tmp_path / "secret.txt"
    secret.write_text("RAHASIA " * 40)
    news, other = FakeNews(), FakeNews()
    monkeypatch.setenv("SUARA_GDELT_DELAY", "0")
    monkeypatch.delenv("SUARA_ALLOW_HOSTS", raising=False)
    store = Store(db_url)
    with serve(news) as base, serve(other) as other_base:
        art = news.articles[0]
        other_url = other_base + other.articles[1]["path"]  # a real article on another loopback server
        answer = {"articles": [
            {"url": f"file://{secret}", "title": "x", "seendate": "20240115T083000Z", "language": "Indonesian",
             "sourcecountry": "Indonesia"},
            {"url": other_url, "title": "y", "seendate": "20240115T083000Z", "language": "Indonesian",
             "sourcecountry": "Indonesia"},
            {"url": base + art["path"], "title": art["title"], "seendate": "20240115T083000Z",
             "language": "Indonesian", "sourcecountry": "Indonesia"},
        ]}
        # A redirect from the news host to a loopback name is refused too (redirects pass the middleware).
        redirect = {"url": base + "/go/elsewhere", "title": "z", "seendate": "20240115T083000Z"}
        body = json.dumps({"articles": answer["articles"] + [redirect]})

        def crawl(**overrides):
            news.inject(Fault(body=body, path="/api/v2/doc/doc", headers={"Content-Type": "application/json"}),
                        Fault(status=302, path="/go/elsewhere",
                              headers={"Location": other_base.replace("127.0.0.1", "localhost") + "/x"}))
            return run_spider("news", db=db_url, settings_overrides={**FAST_SETTINGS, "SUARA_GDELT_URL": base,
                                                                     "SUARA_GDELT_DELAY": 0, **overrides},
                              query="Tangsel Smart City", since="2024-01-01")

        s = crawl()
        texts = " ".join(store.mentions_df("news").text.fillna(""))
        assert "RAHASIA" not in texts
        assert [r.path for r in other.requests] == []  # neither the link nor the redirect reached it
        assert store.count_mentions("news") == 1  # the article on the service's own host
        assert s.ok, s.errors  # refusals are warnings, not a broken crawl

        s2 = crawl(SUARA_ALLOW_HOSTS="127.0.0.1")
        assert s2.ok, s2.errors
        assert other.articles[1]["path"] in [r.path for r in other.requests]
        assert "/x" in [r.path for r in other.requests]  # the redirect is followed once allowed: only the guard stopped it
        assert store.count_mentions("news") == 2 and "RAHASIA" not in " ".join(store.mentions_df("news").text)
    store.close()


def test_non_http_download_handlers_are_off():
    from scraper.crawl import project_settings

    handlers = project_settings().getdict("DOWNLOAD_HANDLERS")
    assert all(handlers.get(s, "x") is None for s in ("file", "data", "ftp", "s3"))


# ---- user names ------------------------------------------------------------------------------------------


def test_reddit_profile_permalinks_keep_no_user_name(db_url, monkeypatch):
    from pipelines.privacy import scrub_url

    monkeypatch.setenv("REDDIT_CLIENT_ID", "test-client")  # OAuth is the only default path
    monkeypatch.setenv("REDDIT_CLIENT_SECRET", "test-secret")

    fake = FakeReddit()
    post = fake.post("19ab01")
    post["subreddit"] = "u_warga_serpong"  # a post in the author's profile
    store = Store(db_url)
    with serve(fake) as base:
        s = run_spider("reddit", db=db_url, settings_overrides={**FAST_SETTINGS, "SUARA_REDDIT_URL": base,
                                                                "SUARA_REDDIT_OAUTH_URL": base},
                       query="Tangsel Smart City")
    assert s.ok, s.errors
    df = store.mentions_df("reddit").set_index("source_id")
    assert not df.url.str.contains("warga_serpong|/u_|/user/", regex=True).any()
    assert df.loc["t3_19ab01", "url"].startswith("https://www.reddit.com/comments/19ab01/")
    assert df.loc["t1_kx01a", "url"].startswith("https://www.reddit.com/comments/19ab01/")
    assert df.url.str.contains("/r/indonesia/|/r/tangerang/", regex=True).any()  # other permalinks unchanged
    pseud = scrub_url("https://www.reddit.com/user/warga_serpong/")
    assert "warga_serpong" not in pseud and pseud.startswith("https://www.reddit.com/user/~")
    store.close()


def test_dropped_items_are_logged_without_author_or_profile_name(caplog):
    from scrapy.exceptions import DropItem

    from pipelines.scrapy_pipelines import ValidatePipeline
    from scraper.crawl import project_settings
    from scraper.items import MentionItem
    from scraper.logformatter import PrivateLogFormatter

    assert project_settings().get("LOG_FORMATTER") == "scraper.logformatter.PrivateLogFormatter"
    item = MentionItem(source="reddit", source_id="t1_x", app="q", author="Budi Santoso", text=12,
                       url="https://www.reddit.com/r/u_budisantoso/comments/abc/judul/x/")

    class Stats:
        def inc_value(self, *a, **k):
            pass

    pipe = ValidatePipeline()
    pipe.crawler = type("C", (), {"stats": Stats()})()
    with pytest.raises(DropItem) as exc:
        pipe.process_item(item)
    exc.value.log_level = "WARNING"  # what Scrapy would read from the crawler's settings
    entry = PrivateLogFormatter().dropped(item, exc.value, None, None)
    line = entry["msg"] % entry["args"]
    assert "field 'text' must be a string" in line
    assert "Budi Santoso" not in line and "budisantoso" not in line and "[redacted]" in line


# ---- outputs through safe temp files ---------------------------------------------------------------------


def test_planted_symlinks_cannot_redirect_report_outputs(store, tmp_path):
    from pipelines.trends import write_trends

    store.upsert_mentions([dict(source="playstore", source_id=f"r{i}", app="id.go.x", kind="review", text="teks",
                                rating=2, created_at=datetime(2024, 1, 2 + i)) for i in range(3)])
    out = tmp_path / "out"
    out.mkdir()
    victim = tmp_path / "victim.txt"
    victim.write_text("keep me")
    # Every name an attacker could guess: the old fixed temp names and the outputs themselves.
    for name in (".report.html.tmp", "report.html", "sentiment_over_time.png", "sentiment_by_period.csv"):
        (out / name).symlink_to(victim)
    paths = write_trends(store, out)
    assert victim.read_text() == "keep me"
    for key in ("report", "sentiment_chart", "sentiment_by_period"):
        assert not paths[key].is_symlink() and paths[key].stat().st_size > 0
    assert [p.name for p in out.iterdir() if p.name.startswith(".") and not p.is_symlink()] == []  # no temp left


def test_atomic_file_keeps_the_old_file_on_error_and_names_a_folder_target(tmp_path):
    from pipelines.errors import SuaraError
    from pipelines.safefile import atomic_file, write_text

    target = tmp_path / "a.txt"
    write_text(target, "old")
    with pytest.raises(RuntimeError):
        with atomic_file(target) as fh:
            fh.write(b"half")
            raise RuntimeError("boom")
    assert target.read_text() == "old" and [p.name for p in tmp_path.iterdir()] == ["a.txt"]
    (tmp_path / "dir").mkdir()
    with pytest.raises(SuaraError, match="cannot write"):
        write_text(tmp_path / "dir", "x")
    assert oct(target.stat().st_mode & 0o777) == oct(0o666 & ~_umask())


def _umask() -> int:
    m = os.umask(0)
    os.umask(m)
    return m
