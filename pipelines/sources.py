"""The sources config (``data/sources.toml`` or a user file): what a scheduled run collects.

:func:`load_sources` reads and validates it into :class:`SourcesConfig`. Every problem is one
:class:`~pipelines.errors.InputError` line naming the file, the key and what is wrong
(``data/sources.toml: appstore[2].id: must be a string of digits, got 12.5``).

An app entry needs an ``id``; an app whose id is not known yet may instead carry
``discover = "search words"``: it is accepted, listed as "to discover" by ``suara sources``,
and skipped by scheduled runs until the user runs ``suara discover "..."`` and fills in the id.
An entry with neither is an error. The format is documented in docs/spiders.md.
"""

from __future__ import annotations

import os
import re
import tomllib
from dataclasses import dataclass, field
from datetime import date
from pathlib import Path
from typing import Any

from .errors import InputError
from .paths import DATA_DIR

VERSION = "0.1"
PERIODS = ("week", "month", "quarter")


def default_config_path() -> Path:
    """``$SUARA_CONFIG`` if set, else the shipped ``data/sources.toml``."""
    env = os.environ.get("SUARA_CONFIG")
    return Path(env) if env else DATA_DIR / "sources.toml"


def user_agent(contact: str) -> str:
    """The user agent every Suara request sends: names the tool and whom to contact."""
    return f"Suara/{VERSION} (social listening for public-service apps; contact: {contact})"


def contact_for(path: str | Path | None = None) -> str:
    """``$SUARA_CONTACT``, else the ``contact`` of the sources config."""
    env = os.environ.get("SUARA_CONTACT")
    if env:
        return env.strip()
    return load_sources(path).contact


# ---- the config ---------------------------------------------------------------------------------


@dataclass
class PlayStoreApp:
    name: str
    id: str | None = None
    discover: str | None = None
    lang: str = "id"
    country: str = "id"


@dataclass
class AppStoreApp:
    name: str
    id: str | None = None
    discover: str | None = None
    country: str = "id"


@dataclass
class NewsConfig:
    queries: list[str] = field(default_factory=list)
    since: date | None = None
    feeds: list[str] = field(default_factory=list)


@dataclass
class RedditConfig:
    queries: list[str] = field(default_factory=list)


@dataclass
class YouTubeConfig:
    queries: list[str] = field(default_factory=list)
    video_ids: list[str] = field(default_factory=list)


@dataclass
class SurveyConfig:
    file: Path
    window: str | None = None  # START:END, as `suara triangulate --window`


@dataclass
class AnalysisConfig:
    model: str = "auto"
    # Output order of a checkpoint whose config does not say (e.g. ["positive", "neutral", "negative"]).
    labels: list[str] | None = None
    precision: str = "fp32"  # transformer path: auto | fp32 | int8 | bf16 (see nlp/precision.py)


@dataclass
class TrendsConfig:
    period: str = "month"
    lang: str = "id"  # language of report.html: id or en


@dataclass
class SourcesConfig:
    path: Path
    contact: str
    playstore: list[PlayStoreApp] = field(default_factory=list)
    appstore: list[AppStoreApp] = field(default_factory=list)
    news: NewsConfig = field(default_factory=NewsConfig)
    reddit: RedditConfig = field(default_factory=RedditConfig)
    youtube: YouTubeConfig = field(default_factory=YouTubeConfig)
    survey: SurveyConfig | None = None
    analysis: AnalysisConfig = field(default_factory=AnalysisConfig)
    trends: TrendsConfig = field(default_factory=TrendsConfig)
    imports: Any = None  # pipelines.social_import.ImportsConfig: export files to import on each run
    ca_bundle: str | None = None  # PEM bundle of a private CA (see scraper/trust.py)

    def to_discover(self) -> list[tuple[str, str, str]]:
        """(store, app name, search words) of the apps still without an id."""
        out = [("playstore", a.name, a.discover or a.name) for a in self.playstore if not a.id]
        out += [("appstore", a.name, a.discover or a.name) for a in self.appstore if not a.id]
        return out


# ---- validation -----------------------------------------------------------------------------------


class _Checker:
    def __init__(self, path: Path):
        self.path = path

    def fail(self, key: str, problem: str):
        raise InputError(f"{self.path}: {key}: {problem}")

    def table(self, data: Any, key: str, allowed: set[str]) -> dict:
        if not isinstance(data, dict):
            self.fail(key, f"must be a table, got {_tname(data)}")
        unknown = sorted(set(data) - allowed)
        if unknown:
            k = f"{key}.{unknown[0]}" if key else unknown[0]
            self.fail(k, f"unknown key (allowed: {', '.join(sorted(allowed))})")
        return data

    def string(self, data: dict, key: str, name: str, *, required=False, default=None, pattern=None, hint=""):
        value = data.get(name, default)
        where = f"{key}.{name}" if key else name
        if value is None:
            if required:
                self.fail(where, "missing" + (f" ({hint})" if hint else ""))
            return None
        if not isinstance(value, str):
            self.fail(where, f"must be a string, got {_tname(value)} {value!r}")
        value = value.strip()
        if required and not value:
            self.fail(where, "is empty" + (f" ({hint})" if hint else ""))
        if pattern and value and not re.fullmatch(pattern, value):
            self.fail(where, f"{hint or 'has the wrong form'}, got {value!r}")
        return value

    def strings(self, data: dict, key: str, name: str) -> list[str]:
        value = data.get(name, [])
        where = f"{key}.{name}"
        if not isinstance(value, list):
            self.fail(where, f"must be a list of strings, got {_tname(value)}")
        for i, v in enumerate(value):
            if not isinstance(v, str) or not v.strip():
                self.fail(f"{where}[{i}]", f"must be a non-empty string, got {v!r}")
        return [v.strip() for v in value]

    def entries(self, data: dict, name: str) -> list[dict]:
        value = data.get(name, [])
        if not isinstance(value, list):
            self.fail(name, f"must be a list of [[{name}]] tables, got {_tname(value)}")
        return value


def _tname(value: Any) -> str:
    return {str: "string", int: "integer", float: "float", bool: "boolean", list: "list", dict: "table"}.get(
        type(value), type(value).__name__
    )


_TOP = {"contact", "playstore", "appstore", "news", "reddit", "youtube", "survey", "analysis", "trends", "imports",
        "ca_bundle"}
_LANG = r"[a-z]{2,3}"
_COUNTRY = r"[a-z]{2}"


def _app_id_or_discover(c: _Checker, e: dict, key: str, id_pattern: str, id_hint: str) -> tuple[str | None, str | None]:
    app_id = e.get("id")
    if app_id is not None and not isinstance(app_id, str):
        c.fail(f"{key}.id", f"must be a string (in quotes), got {_tname(app_id)} {app_id!r}")
    app_id = c.string(e, key, "id", pattern=id_pattern, hint=id_hint)
    discover = c.string(e, key, "discover")
    if not app_id and not discover:
        c.fail(f"{key}.id", 'missing: give the app id, or discover = "search words" and run `suara discover`')
    return app_id or None, discover or None


def parse_sources(data: dict, path: Path) -> SourcesConfig:
    """Validate a parsed TOML document; ``path`` is only used in messages and relative paths."""
    c = _Checker(path)
    c.table(data, "", _TOP)
    contact = c.string(data, "", "contact", required=True,
                       hint="an e-mail address or URL where site owners can reach whoever runs Suara")
    cfg = SourcesConfig(path=path, contact=contact)
    cfg.ca_bundle = c.string(data, "", "ca_bundle") or None

    for i, e in enumerate(c.entries(data, "playstore")):
        key = f"playstore[{i}]"
        c.table(e, key, {"name", "id", "discover", "lang", "country"})
        name = c.string(e, key, "name", required=True)
        app_id, discover = _app_id_or_discover(c, e, key, r"[A-Za-z][\w]*(\.[A-Za-z_][\w]*)+",
                                               "must be a package name like com.example.app")
        cfg.playstore.append(PlayStoreApp(name, app_id, discover,
                                          c.string(e, key, "lang", default="id", pattern=_LANG, hint="must be a language code like id"),
                                          c.string(e, key, "country", default="id", pattern=_COUNTRY, hint="must be a two-letter country code")))

    for i, e in enumerate(c.entries(data, "appstore")):
        key = f"appstore[{i}]"
        c.table(e, key, {"name", "id", "discover", "country"})
        name = c.string(e, key, "name", required=True)
        app_id, discover = _app_id_or_discover(c, e, key, r"\d+", "must be the digits of the App Store id")
        cfg.appstore.append(AppStoreApp(name, app_id, discover,
                                        c.string(e, key, "country", default="id", pattern=_COUNTRY, hint="must be a two-letter country code")))

    if "news" in data:
        n = c.table(data["news"], "news", {"queries", "since", "feeds"})
        since = n.get("since")
        if isinstance(since, str):
            try:
                since = date.fromisoformat(since.strip())
            except ValueError:
                c.fail("news.since", f"must be a date like 2024-01-01, got {since!r}")
        elif since is not None and not isinstance(since, date):
            c.fail("news.since", f"must be a date like 2024-01-01, got {_tname(since)} {since!r}")
        feeds = c.strings(n, "news", "feeds")
        for j, f in enumerate(feeds):
            if not re.match(r"https?://", f):
                c.fail(f"news.feeds[{j}]", f"must be an http(s) URL, got {f!r}")
        cfg.news = NewsConfig(c.strings(n, "news", "queries"), since, feeds)

    if "reddit" in data:
        r = c.table(data["reddit"], "reddit", {"queries"})
        cfg.reddit = RedditConfig(c.strings(r, "reddit", "queries"))

    if "youtube" in data:
        y = c.table(data["youtube"], "youtube", {"queries", "video_ids"})
        ids = c.strings(y, "youtube", "video_ids")
        for j, v in enumerate(ids):
            if not re.fullmatch(r"[\w-]{11}", v):
                c.fail(f"youtube.video_ids[{j}]", f"must be an 11-character YouTube video id, got {v!r}")
        cfg.youtube = YouTubeConfig(c.strings(y, "youtube", "queries"), ids)

    if "survey" in data:
        s = c.table(data["survey"], "survey", {"file", "window"})
        file = c.string(s, "survey", "file", required=True, hint="path of the survey CSV")
        window = c.string(s, "survey", "window", pattern=r"\d{4}-\d{2}-\d{2}:\d{4}-\d{2}-\d{2}",
                          hint="must be START:END dates like 2023-01-01:2023-12-31")
        fp = Path(file)
        if not fp.is_absolute():
            # Relative to the config file, so a user's config can sit beside their survey.
            fp = (path.parent / fp) if (path.parent / fp).exists() else (DATA_DIR.parent / fp)
        if not fp.is_file():
            c.fail("survey.file", f"file not found: {file}")
        cfg.survey = SurveyConfig(fp, window)

    if "analysis" in data:
        a = c.table(data["analysis"], "analysis", {"model", "labels", "precision"})
        labels = c.strings(a, "analysis", "labels") or None
        if labels and sorted(x.lower() for x in labels) != ["negative", "neutral", "positive"]:
            c.fail("analysis.labels", f"must name positive, neutral and negative once each, in the model's output order, got {labels}")
        cfg.analysis = AnalysisConfig(c.string(a, "analysis", "model", default="auto") or "auto", labels)
        from nlp.precision import PRECISIONS

        precision = c.string(a, "analysis", "precision", default="fp32") or "fp32"
        if precision not in PRECISIONS:
            c.fail("analysis.precision", f"must be one of {', '.join(PRECISIONS)}, got {precision!r}")
        cfg.analysis.precision = precision

    if "trends" in data:
        t = c.table(data["trends"], "trends", {"period", "lang"})
        period = c.string(t, "trends", "period", default="month")
        if period not in PERIODS:
            c.fail("trends.period", f"must be one of {', '.join(PERIODS)}, got {period!r}")
        lang = c.string(t, "trends", "lang", default="id") or "id"
        if lang not in ("id", "en"):
            c.fail("trends.lang", f"must be id or en, got {lang!r}")
        cfg.trends = TrendsConfig(period, lang)

    if "imports" in data:
        from .social_import import parse_imports

        cfg.imports = parse_imports(data["imports"], path, DATA_DIR.parent)
    return cfg


def load_sources(path: str | Path | None = None) -> SourcesConfig:
    """Read and validate a sources config (default: ``$SUARA_CONFIG`` or the shipped one)."""
    p = Path(path) if path else default_config_path()
    try:
        raw = p.read_bytes()
    except FileNotFoundError:
        raise InputError(f"{p}: sources config not found") from None
    except OSError as exc:
        raise InputError(f"{p}: cannot read: {exc.strerror}") from exc
    try:
        data = tomllib.loads(raw.decode("utf-8"))
    except UnicodeDecodeError:
        raise InputError(f"{p}: not UTF-8 text") from None
    except tomllib.TOMLDecodeError as exc:
        raise InputError(f"{p}: not valid TOML: {exc}") from None
    except RecursionError:
        raise InputError(f"{p}: TOML nested too deeply to be a sources config") from None
    return parse_sources(data, p)


def sources_table(cfg: SourcesConfig):
    """A rich table of what the config collects (for ``suara sources``)."""
    from rich.table import Table

    t = Table(title=f"sources: {cfg.path}  (contact: {cfg.contact})", title_justify="left")
    t.add_column("source")
    t.add_column("what")
    t.add_column("id / detail")
    for a in cfg.playstore:
        t.add_row("playstore", a.name, a.id or f'[yellow]to discover:[/] suara discover "{a.discover}"')
    for a in cfg.appstore:
        t.add_row("appstore", a.name, f"{a.id} ({a.country})" if a.id else f'[yellow]to discover:[/] search apps.apple.com for "{a.discover}"')
    for q in cfg.news.queries:
        t.add_row("news", q, f"since {cfg.news.since}" if cfg.news.since else "")
    for f in cfg.news.feeds:
        t.add_row("news", "feed", f)
    for q in cfg.reddit.queries:
        t.add_row("reddit", q, "")
    for q in cfg.youtube.queries:
        t.add_row("youtube", q, "search")
    for v in cfg.youtube.video_ids:
        t.add_row("youtube", "video", v)
    for f in (cfg.imports.folders if cfg.imports else []):
        t.add_row("import", str(f.path), ", ".join(x for x in (f.source, f.label) if x) or "detect")
    if cfg.survey:
        t.add_row("survey", str(cfg.survey.file), cfg.survey.window or "")
    t.add_row("analysis", "model", cfg.analysis.model)
    t.add_row("trends", "period", cfg.trends.period)
    return t
