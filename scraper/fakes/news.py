"""A local stand-in for news sources: the GDELT DOC 2.0 API, RSS/Atom feeds and article pages.

One WSGI app serves all of it from ``data/samples/news/articles.json`` (synthetic articles by
fictional outlets), with the URLs it hands out pointing back at itself:

``/api/v2/doc/doc``   GDELT DOC 2.0 in ``mode=ArtList&format=json``: ``{"articles": [...]}``
                      with ``url, url_mobile, title, seendate (YYYYMMDDTHHMMSSZ), socialimage,
                      domain, language, sourcecountry``; ``{}`` when nothing matches; query errors
                      come back as HTTP 200 ``text/html`` with one sentence, as GDELT does.
``/rss.xml``          RSS 2.0 of the articles whose ``feeds`` include ``rss``.
``/atom.xml``         Atom 1.0 of the articles whose ``feeds`` include ``atom``.
``/robots.txt``       disallows ``/premium/`` (editable through :attr:`FakeNews.robots`).
anything else         the article page at that path, in realistic Indonesian news markup with
                      navigation, related links and footer around the story.
"""

from __future__ import annotations

import copy
import html
import json
import re
import shlex
from datetime import datetime, timedelta, timezone
from email.utils import format_datetime
from pathlib import Path

from pipelines.paths import DATA_DIR

from .server import FakeService, Request

SAMPLES = DATA_DIR / "samples" / "news" / "articles.json"

DEFAULT_ROBOTS = """User-agent: *
Disallow: /premium/
Disallow: /cari

Sitemap: /sitemap.xml
"""

# GDELT's own one-line complaints, answered with HTTP 200 and text/html.
ERR_SHORT = "The specified phrase is too short."
ERR_OR = "Queries containing OR'd terms must be surrounded by ()."
ERR_EMPTY = "Please specify a query."
ERR_MODE = "Invalid mode."

_LANG_CODES = {"indonesian": "ind", "english": "eng", "malay": "msa"}
_COUNTRY_FIPS = {"indonesia": "id", "singapore": "sn", "malaysia": "my", "unitedstates": "us"}


def load_articles(path: Path | str = SAMPLES) -> list[dict]:
    """The sample articles (a fresh copy each call, so a test can edit its own)."""
    return json.loads(Path(path).read_text(encoding="utf-8"))


def _parse_time(value: str) -> datetime:
    return datetime.fromisoformat(value)


def _seen(article: dict) -> datetime:
    return datetime.strptime(article["seendate"], "%Y%m%dT%H%M%SZ").replace(tzinfo=timezone.utc)


class FakeNews(FakeService):
    """GDELT + feeds + article pages. ``articles`` defaults to the shipped samples."""

    def __init__(self, articles: list[dict] | None = None) -> None:
        super().__init__()
        self.articles: list[dict] = copy.deepcopy(articles) if articles is not None else load_articles()
        self.robots = DEFAULT_ROBOTS
        # Rows put first in every GDELT answer as they are (e.g. {"url": "javascript:..."}): GDELT
        # lists whatever it crawled, bad links included.
        self.gdelt_extra: list = []

    # ---- test helpers ------------------------------------------------------------------------

    def article(self, article_id: str) -> dict:
        for a in self.articles:
            if a["id"] == article_id:
                return a
        raise KeyError(article_id)

    def edit(self, article_id: str, *, title: str | None = None, paragraphs: list[str] | None = None,
             modified: str | None = None) -> dict:
        """Change an article as its newsroom would: new text, a later modified time."""
        a = self.article(article_id)
        if title is not None:
            a["title"] = title
        if paragraphs is not None:
            a["paragraphs"] = list(paragraphs)
        a["modified"] = modified or (_parse_time(a.get("modified") or a["published"]) + timedelta(hours=3)).isoformat()
        return a

    def add(self, article: dict) -> None:
        self.articles.append(copy.deepcopy(article))

    # ---- routing -----------------------------------------------------------------------------

    def handle(self, req: Request) -> tuple[int, dict[str, str], bytes]:
        base = f"http://{req.headers.get('host', '127.0.0.1')}"
        if req.path == "/api/v2/doc/doc":
            return self._gdelt(req, base)
        if req.path == "/robots.txt":
            return 200, {"Content-Type": "text/plain; charset=utf-8"}, self.robots.encode()
        if req.path == "/rss.xml":
            return 200, {"Content-Type": "application/rss+xml; charset=utf-8"}, self.rss(base).encode()
        if req.path == "/atom.xml":
            return 200, {"Content-Type": "application/atom+xml; charset=utf-8"}, self.atom(base).encode()
        for a in self.articles:
            if a["path"] == req.path:
                return 200, {"Content-Type": "text/html; charset=utf-8"}, self.page(a, base).encode()
        return 404, {"Content-Type": "text/html; charset=utf-8"}, _not_found_page().encode()

    # ---- GDELT DOC 2.0 -----------------------------------------------------------------------

    def _gdelt(self, req: Request, base: str):
        html_err = {"Content-Type": "text/html; charset=utf-8"}
        query = (req.arg("query") or "").strip()
        if not query:
            return 200, html_err, ERR_EMPTY.encode()
        if (req.arg("mode") or "artlist").lower() != "artlist":
            return 200, html_err, ERR_MODE.encode()
        try:
            terms, filters = _parse_gdelt_query(query)
        except ValueError as exc:
            return 200, html_err, str(exc).encode()
        maxrecords = max(1, min(250, int(req.arg("maxrecords") or 75)))
        start = _gdelt_time(req.arg("startdatetime"))
        end = _gdelt_time(req.arg("enddatetime"))
        hits = []
        for a in self.articles:
            if not a.get("gdelt"):
                continue
            seen = _seen(a)
            if (start and seen < start) or (end and seen > end):
                continue
            if not _matches(a, terms, filters):
                continue
            hits.append(a)
        sort = (req.arg("sort") or "").lower()
        if sort == "dateasc":
            hits.sort(key=_seen)
        else:  # DateDesc, and a stable stand-in for relevance
            hits.sort(key=_seen, reverse=True)
        hits = hits[:maxrecords]
        if (req.arg("format") or "html").lower() != "json":
            body = "<html><body>" + "".join(f"<a href='{base}{a['path']}'>{html.escape(a['title'])}</a>" for a in hits)
            return 200, html_err, (body + "</body></html>").encode()
        if not hits and not self.gdelt_extra:
            return 200, {"Content-Type": "application/json; charset=utf-8"}, b"{}"
        payload = {
            "articles": list(self.gdelt_extra) + [
                {
                    "url": base + a["path"],
                    "url_mobile": "",
                    "title": a["title"],
                    "seendate": a["seendate"],
                    "socialimage": f"{base}/img{a['path']}.jpg",
                    "domain": a["domain"],
                    "language": a["language"],
                    "sourcecountry": a["sourcecountry"],
                }
                for a in hits
            ]
        }
        return 200, {"Content-Type": "application/json; charset=utf-8"}, json.dumps(payload, ensure_ascii=False).encode()

    # ---- feeds -------------------------------------------------------------------------------

    def _in_feed(self, kind: str) -> list[dict]:
        items = [a for a in self.articles if kind in a.get("feeds", [])]
        return sorted(items, key=lambda a: _parse_time(a["published"]), reverse=True)

    def rss(self, base: str) -> str:
        """RSS 2.0 as regional outlets publish it (RFC 822 dates, dc:creator, guid)."""
        items = []
        for a in self._in_feed("rss"):
            items.append(
                "    <item>\n"
                f"      <title>{html.escape(a['title'])}</title>\n"
                f"      <link>{base}{a['path']}</link>\n"
                f"      <guid isPermaLink=\"true\">{base}{a['path']}</guid>\n"
                f"      <pubDate>{format_datetime(_parse_time(a['published']))}</pubDate>\n"
                f"      <dc:creator><![CDATA[{a['author']}]]></dc:creator>\n"
                f"      <category><![CDATA[{a['section']}]]></category>\n"
                f"      <description><![CDATA[{a['description']}]]></description>\n"
                "    </item>"
            )
        now = format_datetime(datetime(2024, 3, 6, 8, 0, tzinfo=timezone(timedelta(hours=7))))
        return (
            '<?xml version="1.0" encoding="UTF-8"?>\n'
            '<rss version="2.0" xmlns:dc="http://purl.org/dc/elements/1.1/" '
            'xmlns:atom="http://www.w3.org/2005/Atom">\n'
            "  <channel>\n"
            "    <title>Warta Tangsel - Berita Terkini</title>\n"
            f"    <link>{base}/</link>\n"
            f'    <atom:link href="{base}/rss.xml" rel="self" type="application/rss+xml"/>\n'
            "    <description>Berita terbaru seputar Tangerang Selatan</description>\n"
            "    <language>id</language>\n"
            f"    <lastBuildDate>{now}</lastBuildDate>\n"
            + "\n".join(items)
            + "\n  </channel>\n</rss>\n"
        )

    def atom(self, base: str) -> str:
        """Atom 1.0 (RFC 3339 dates, tag: ids, an ``updated`` that moves when a story is edited)."""
        entries = []
        for a in self._in_feed("atom"):
            updated = a.get("modified") or a["published"]
            entries.append(
                "  <entry>\n"
                f"    <id>tag:{a['domain']},2024:{a['id']}</id>\n"
                f"    <title type=\"html\">{html.escape(a['title'])}</title>\n"
                f'    <link rel="alternate" type="text/html" href="{base}{a["path"]}"/>\n'
                f"    <published>{a['published']}</published>\n"
                f"    <updated>{updated}</updated>\n"
                f"    <author><name>{html.escape(a['author'])}</name></author>\n"
                f"    <summary type=\"html\">{html.escape(a['description'])}</summary>\n"
                "  </entry>"
            )
        return (
            '<?xml version="1.0" encoding="utf-8"?>\n'
            '<feed xmlns="http://www.w3.org/2005/Atom" xml:lang="id">\n'
            "  <title>Kabar Banten Raya</title>\n"
            f'  <link rel="self" href="{base}/atom.xml"/>\n'
            f'  <link rel="alternate" href="{base}/"/>\n'
            "  <id>tag:kabarbantenraya.example,2024:feed</id>\n"
            "  <updated>2024-03-06T08:00:00+07:00</updated>\n"
            + "\n".join(entries)
            + "\n</feed>\n"
        )

    # ---- article pages -----------------------------------------------------------------------

    def page(self, a: dict, base: str) -> str:
        """One article page with the chrome real outlets wrap around a story."""
        e = html.escape
        published = a["published"]
        modified = a.get("modified") or published
        pub_dt = _parse_time(published)
        # How the page states its times: "zoned" (ISO with offset), "naive" (local wall time
        # without a zone, as many Indonesian outlets write it) or "day" (a date only).
        style = a.get("time_style", "zoned")
        if style == "naive":
            published, modified = published[:19], modified[:19]
        elif style == "day":
            published, modified = published[:10], modified[:10]
        related = [o for o in self.articles if o["id"] != a["id"]][:3]
        paragraphs = "\n".join(f"        <p>{e(p)}</p>" for p in a["paragraphs"])
        if len(a["paragraphs"]) > 2:  # the "Baca juga" box newsrooms drop mid-story
            first, rest = a["paragraphs"][:2], a["paragraphs"][2:]
            rel = related[0] if related else a
            paragraphs = (
                "\n".join(f"        <p>{e(p)}</p>" for p in first)
                + f'\n        <div class="baca-juga"><strong>Baca juga:</strong> '
                f'<a href="{base}{rel["path"]}">{e(rel["title"])}</a></div>\n'
                + "\n".join(f"        <p>{e(p)}</p>" for p in rest)
            )
        ld = {
            "@context": "https://schema.org",
            "@type": "NewsArticle",
            "headline": a["title"],
            "datePublished": published,
            "dateModified": modified,
            "author": {"@type": "Person", "name": a["author"]},
            "publisher": {"@type": "Organization", "name": a["outlet"]},
            "mainEntityOfPage": base + a["path"],
        }
        lang = "en" if a["language"] == "English" else "id"
        return f"""<!DOCTYPE html>
<html lang="{lang}">
<head>
  <meta charset="utf-8">
  <meta name="viewport" content="width=device-width, initial-scale=1">
  <title>{e(a['title'])} - {e(a['outlet'])}</title>
  <meta name="description" content="{e(a['description'])}">
  <meta name="author" content="{e(a['author'])}">
  <meta property="og:type" content="article">
  <meta property="og:site_name" content="{e(a['outlet'])}">
  <meta property="og:title" content="{e(a['title'])}">
  <meta property="og:url" content="{base}{a['path']}">
  <meta property="og:image" content="{base}/img{a['path']}.jpg">
  <meta property="article:published_time" content="{published}">
  <meta property="article:modified_time" content="{modified}">
  <meta property="article:section" content="{e(a['section'])}">
  <link rel="canonical" href="{base}{a['path']}">
  <script type="application/ld+json">{json.dumps(ld, ensure_ascii=False)}</script>
  <link rel="stylesheet" href="/static/css/main.css">
</head>
<body class="single-post">
  <header class="site-header">
    <div class="topbar">{pub_dt.strftime('%A, %d %B %Y')} | <a href="/indeks">Indeks Berita</a> | <a href="/login">Masuk</a></div>
    <a class="logo" href="/"><img src="/static/logo.png" alt="{e(a['outlet'])}"></a>
    <nav class="main-nav">
      <ul>
        <li><a href="/">Beranda</a></li><li><a href="/berita">Berita</a></li><li><a href="/daerah">Daerah</a></li>
        <li><a href="/politik">Politik</a></li><li><a href="/ekonomi">Ekonomi</a></li><li><a href="/olahraga">Olahraga</a></li>
        <li><a href="/gaya-hidup">Gaya Hidup</a></li><li><a href="/video">Video</a></li><li><a href="/premium/">Premium</a></li>
      </ul>
    </nav>
    <form class="search" action="/cari"><input name="q" placeholder="Cari berita..."></form>
  </header>
  <div class="ads ads-leaderboard">Advertisement</div>
  <main class="container">
    <nav class="breadcrumb"><a href="/">Beranda</a> &raquo; <a href="/{e(a['section'].lower())}">{e(a['section'])}</a></nav>
    <article class="post">
      <h1 class="post-title">{e(a['title'])}</h1>
      <div class="post-meta">
        <span class="byline">Penulis: <a href="/penulis/{a['id']}" rel="author">{e(a['author'])}</a></span>
        <time class="published" datetime="{published}">{pub_dt.strftime('%d/%m/%Y, %H:%M')} WIB</time>
      </div>
      <figure class="featured"><img src="/img{a['path']}.jpg" alt="{e(a['title'])}"><figcaption>Ilustrasi. (Dok. {e(a['outlet'])})</figcaption></figure>
      <div class="post-content">
{paragraphs}
      </div>
      <div class="post-tags">Tag: <a href="/tag/tangsel">Tangsel</a> <a href="/tag/pelayanan-publik">Pelayanan Publik</a></div>
      <div class="share">Bagikan: <a href="#">Facebook</a> <a href="#">X</a> <a href="#">WhatsApp</a> <a href="#">Telegram</a></div>
    </article>
    <aside class="sidebar">
      <h3>Terpopuler</h3>
      <ol>
{''.join(f'        <li><a href="{base}{o["path"]}">{e(o["title"])}</a></li>' + chr(10) for o in related)}      </ol>
      <div class="ads ads-sidebar">Advertisement</div>
    </aside>
    <section class="comments"><h3>Komentar</h3><p>Silakan masuk untuk berkomentar.</p></section>
  </main>
  <footer class="site-footer">
    <ul><li><a href="/redaksi">Redaksi</a></li><li><a href="/pedoman-media-siber">Pedoman Media Siber</a></li>
      <li><a href="/kontak">Kontak</a></li><li><a href="/karir">Karir</a></li></ul>
    <p>&copy; 2024 {e(a['outlet'])}. Seluruh hak cipta dilindungi undang-undang.</p>
  </footer>
</body>
</html>
"""


def _not_found_page() -> str:
    return "<!DOCTYPE html><html lang='id'><head><title>404 Halaman tidak ditemukan</title></head>" \
           "<body><h1>Halaman tidak ditemukan</h1></body></html>"


def _gdelt_time(value: str | None) -> datetime | None:
    if not value:
        return None
    return datetime.strptime(value, "%Y%m%d%H%M%S").replace(tzinfo=timezone.utc)


def _parse_gdelt_query(query: str) -> tuple[list[list[str]], dict[str, list[str]]]:
    """GDELT query syntax, the part Suara uses: phrases, words, ``(a OR b)``, ``key:value``.

    Returns ``terms`` (a list of OR-groups, all of which must match) and ``filters``.
    """
    if re.search(r"\bOR\b", query) and "(" not in query:
        raise ValueError(ERR_OR)
    groups: list[list[str]] = []
    filters: dict[str, list[str]] = {}
    # Parentheses hold OR'd alternatives; split them out first, then tokenise the rest.
    for inner in re.findall(r"\(([^)]*)\)", query):
        alts = [t for t in shlex.split(inner) if t.upper() != "OR"]
        keyed = [t for t in alts if ":" in t]
        if keyed:
            for t in keyed:
                k, v = t.split(":", 1)
                filters.setdefault(k.lower(), []).append(v.lower())
        else:
            groups.append([t.lower() for t in alts])
    rest = re.sub(r"\([^)]*\)", " ", query)
    for tok in shlex.split(rest):
        if ":" in tok:
            k, v = tok.split(":", 1)
            filters.setdefault(k.lower(), []).append(v.lower())
        else:
            groups.append([tok.lower()])
    for g in groups:
        for t in g:
            if len(t) < 3:
                raise ValueError(ERR_SHORT)
    return groups, filters


def _matches(a: dict, groups: list[list[str]], filters: dict[str, list[str]]) -> bool:
    text = " ".join([a["title"], *a["paragraphs"]]).lower()
    if not all(any(t in text for t in g) for g in groups):
        return False
    lang = a["language"].lower()
    country = a["sourcecountry"].lower().replace(" ", "")
    for key, vals in filters.items():
        if key == "sourcelang" and not any(v in (lang, _LANG_CODES.get(lang)) for v in vals):
            return False
        if key == "sourcecountry" and not any(v in (country, _COUNTRY_FIPS.get(country)) for v in vals):
            return False
        if key == "domain" and not any(v in a["domain"] for v in vals):
            return False
        if key == "domainis" and a["domain"] not in vals:
            return False
    return True
