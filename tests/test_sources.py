"""The sources config: shipped file, validation errors, contact in the user agent."""

from __future__ import annotations

from datetime import date

import pytest
from typer.testing import CliRunner

from pipelines.cli import app as cli_app
from pipelines.errors import InputError
from pipelines.sources import contact_for, load_sources, user_agent
from pipelines.paths import DATA_DIR

GOOD = """
contact = "peneliti@kampus.ac.id"

[[playstore]]
name = "SIARAN Tangsel"
id = "com.example.siaran"

[[appstore]]
name = "Tangsel Smart City"
id = "1000000001"
country = "id"

[[appstore]]
name = "Aplikasi lain"
discover = "Tangsel"

[news]
queries = ["SIARAN Tangsel"]
since = 2024-01-01
feeds = ["https://outlet.example/rss"]

[youtube]
video_ids = ["abcdefghijk"]

[trends]
period = "quarter"
"""


def write(tmp_path, text: str):
    p = tmp_path / "sources.toml"
    p.write_text(text, encoding="utf-8")
    return p


def test_shipped_config_is_valid_and_invents_no_ids():
    cfg = load_sources()
    assert cfg.path == DATA_DIR / "sources.toml" and "@" in cfg.contact
    names = [a.name for a in cfg.playstore + cfg.appstore]
    assert any("Tangsel Smart City" in n for n in names) and any("SIARAN" in n for n in names)
    # Unverified ids are left to `suara discover`, never made up.
    assert all(a.id is None and a.discover for a in cfg.playstore + cfg.appstore)
    assert len(cfg.to_discover()) == len(names)
    assert "SIARAN Tangsel" in cfg.news.queries and cfg.news.since == date(2024, 1, 1)
    assert cfg.survey is not None and cfg.survey.file.is_file()
    assert (cfg.analysis.model, cfg.trends.period) == ("auto", "month")


def test_user_config(tmp_path):
    cfg = load_sources(write(tmp_path, GOOD))
    assert cfg.appstore[0].id == "1000000001" and cfg.appstore[1].id is None
    assert cfg.to_discover() == [("appstore", "Aplikasi lain", "Tangsel")]
    assert cfg.playstore[0].lang == "id" and cfg.news.feeds == ["https://outlet.example/rss"]
    assert cfg.trends.period == "quarter" and cfg.survey is None and cfg.reddit.queries == []


@pytest.mark.parametrize(
    "edit, message",
    [
        (("[trends]", "colour = 1\n[trends]"), "colour: unknown key"),
        (('country = "id"', 'country = "id"\nids = "1"'), "appstore[0].ids: unknown key"),
        (('queries = ["SIARAN Tangsel"]', 'queries = "SIARAN Tangsel"'), "news.queries: must be a list of strings, got string"),
        (('id = "1000000001"', "id = 1000000001"), "appstore[0].id: must be a string (in quotes), got integer 1000000001"),
        (('id = "1000000001"', 'name2 = "x"'), "appstore[0].name2: unknown key"),
        (('id = "1000000001"\n', ""), "appstore[0].id: missing: give the app id, or discover ="),
        (('id = "1000000001"', 'id = "abc"'), "appstore[0].id: must be the digits of the App Store id, got 'abc'"),
        (('id = "com.example.siaran"', 'id = "siaran"'), "playstore[0].id: must be a package name"),
        (('contact = "peneliti@kampus.ac.id"', ""), "contact: missing"),
        (("since = 2024-01-01", 'since = "kemarin"'), "news.since: must be a date like 2024-01-01"),
        (('period = "quarter"', 'period = "year"'), "trends.period: must be one of week, month, quarter"),
        (('video_ids = ["abcdefghijk"]', 'video_ids = ["abc"]'), "youtube.video_ids[0]: must be an 11-character"),
        (('feeds = ["https://outlet.example/rss"]', 'feeds = ["outlet.example/rss"]'), "news.feeds[0]: must be an http(s) URL"),
        (("[trends]", '[survey]\nfile = "nope.csv"\n[trends]'), "survey.file: file not found: nope.csv"),
        (("[news]", "[news\n"), "not valid TOML"),
    ],
)
def test_validation_errors_name_file_key_and_problem(tmp_path, edit, message):
    old, new = edit
    assert old in GOOD
    path = write(tmp_path, GOOD.replace(old, new, 1))
    with pytest.raises(InputError) as exc:
        load_sources(path)
    text = str(exc.value)
    assert text.startswith(f"{path}: ") and message in text and "\n" not in text


def test_cli_sources(tmp_path):
    ok = CliRunner().invoke(cli_app, ["sources", "--config", str(write(tmp_path, GOOD))])
    assert ok.exit_code == 0 and "Tangsel Smart City" in ok.output and "to discover" in ok.output
    bad = CliRunner().invoke(cli_app, ["sources", "--config", str(write(tmp_path, GOOD + "\nextra = 1\n"))])
    assert bad.exit_code == 2 and "error:" in bad.output and "extra: unknown key" in bad.output
    missing = CliRunner().invoke(cli_app, ["sources", "--config", str(tmp_path / "none.toml")])
    assert missing.exit_code == 2 and "sources config not found" in missing.output


def test_contact_goes_into_the_user_agent(tmp_path, monkeypatch):
    from scrapy.crawler import Crawler

    from scraper.crawl import project_settings
    from scraper.spiders.appstore import AppStoreSpider

    path = write(tmp_path, GOOD)
    assert contact_for(path) == "peneliti@kampus.ac.id"
    crawler = Crawler(AppStoreSpider, project_settings())
    AppStoreSpider.from_crawler(crawler, app="1000000001", config=str(path))
    assert crawler.settings["USER_AGENT"] == user_agent("peneliti@kampus.ac.id")
    assert crawler.settings["USER_AGENT"].startswith("Suara/")
    monkeypatch.setenv("SUARA_CONTACT", "ops@kota.example")
    assert contact_for(path) == "ops@kota.example"
    # An explicit USER_AGENT setting (scrapy crawl -s USER_AGENT=...) wins over the config.
    crawler2 = Crawler(AppStoreSpider, project_settings(overrides={"USER_AGENT": "custom/1"}))
    AppStoreSpider.from_crawler(crawler2, app="1000000001", config=str(path))
    assert crawler2.settings["USER_AGENT"] == "custom/1"


def test_analysis_labels_order_is_validated(tmp_path):
    p = tmp_path / "s.toml"
    p.write_text('contact = "a@b.c"\n[analysis]\nmodel = "owner/model"\nlabels = ["negative", "neutral", "positive"]\n')
    assert load_sources(p).analysis.labels == ["negative", "neutral", "positive"]
    p.write_text('contact = "a@b.c"\n[analysis]\nlabels = ["negative", "bad", "positive"]\n')
    with pytest.raises(InputError, match=r"s\.toml: analysis\.labels: must name positive, neutral and negative"):
        load_sources(p)
