"""Scrapy settings of the Suara project (``scrapy crawl ...`` from the repo root, or ``suara crawl ...``).

Polite by default: AutoThrottle, robots.txt obeyed for web pages, a per-domain concurrency
limit, retries on 429/5xx with exponential backoff that honours ``Retry-After``, and a user
agent that names Suara and the contact set in the sources config.

Every spider's base URL is a setting read from the environment variable of the same name, so
a crawl can be pointed at a mirror or a local test server without code changes
(``SUARA_APPSTORE_URL=http://127.0.0.1:8080 scrapy crawl appstore -a app=...``).
"""

from __future__ import annotations

import os
import warnings

BOT_NAME = "suara"
SPIDER_MODULES = ["scraper.spiders"]
NEWSPIDER_MODULE = "scraper.spiders"
# `scrapy crawl` exits non-zero when the crawl did not complete (see scraper/commands/crawl.py).
COMMANDS_MODULE = "scraper.commands"

# ---- where spiders read from (env var of the same name overrides) ------------------------------
SUARA_APPSTORE_URL = os.environ.get("SUARA_APPSTORE_URL", "https://itunes.apple.com")
SUARA_GDELT_URL = os.environ.get("SUARA_GDELT_URL", "https://api.gdeltproject.org")
SUARA_REDDIT_URL = os.environ.get("SUARA_REDDIT_URL", "https://www.reddit.com")
SUARA_REDDIT_OAUTH_URL = os.environ.get("SUARA_REDDIT_OAUTH_URL", "https://oauth.reddit.com")
SUARA_YOUTUBE_URL = os.environ.get("SUARA_YOUTUBE_URL", "https://www.googleapis.com")

# ---- where items go ------------------------------------------------------------------------------
# Database URL; empty means $SUARA_DB or the default SQLite file (pipelines.paths.default_db_url).
SUARA_DB = os.environ.get("SUARA_DB", "")
# Sources config for the contact in the user agent; empty means $SUARA_CONFIG or data/sources.toml.
SUARA_CONFIG = os.environ.get("SUARA_CONFIG", "")
# Items per database transaction in the store pipeline.
SUARA_STORE_BATCH = 200

ITEM_PIPELINES = {
    "pipelines.scrapy_pipelines.ValidatePipeline": 100,
    "pipelines.scrapy_pipelines.NormalisePipeline": 200,
    "pipelines.scrapy_pipelines.PseudonymisePipeline": 300,
    "pipelines.scrapy_pipelines.DedupPipeline": 400,
    "pipelines.scrapy_pipelines.StorePipeline": 900,
}

# ---- politeness ----------------------------------------------------------------------------------
# The spider base class replaces this with the contact from the sources config (`contact = ...`).
USER_AGENT = "Suara/0.1 (social listening for public-service apps; +https://github.com/suara)"
ROBOTSTXT_OBEY = True  # documented JSON APIs/feeds may switch it off per spider, saying why
CONCURRENT_REQUESTS = 8
CONCURRENT_REQUESTS_PER_DOMAIN = 2
# SUARA_DOWNLOAD_DELAY=0 and SUARA_AUTOTHROTTLE=0 are for a local mirror or test server only.
DOWNLOAD_DELAY = float(os.environ.get("SUARA_DOWNLOAD_DELAY", "1.0"))
AUTOTHROTTLE_ENABLED = os.environ.get("SUARA_AUTOTHROTTLE", "1") != "0"
AUTOTHROTTLE_START_DELAY = 1.0
AUTOTHROTTLE_MAX_DELAY = 30.0
AUTOTHROTTLE_TARGET_CONCURRENCY = 1.0
DOWNLOAD_TIMEOUT = 30
COOKIES_ENABLED = False
TELNETCONSOLE_ENABLED = False  # no open port on the crawling machine
REMOTE_CONTROL_ENABLED = False  # nor Scrapy's code-running HTTP server (Scrapy >= 2.19)

# ---- retries with backoff ------------------------------------------------------------------------
# Scrapy's RetryMiddleware re-queues at once; ours waits Retry-After (when the server sends one,
# capped) or SUARA_RETRY_BACKOFF * 2**attempt seconds with jitter, without blocking other requests.
RETRY_ENABLED = True
RETRY_TIMES = 4
RETRY_HTTP_CODES = [429, 500, 502, 503, 504, 522, 524, 408]
SUARA_RETRY_BACKOFF = float(os.environ.get("SUARA_RETRY_BACKOFF", "2.0"))
SUARA_RETRY_MAX_DELAY = float(os.environ.get("SUARA_RETRY_MAX_DELAY", "120.0"))
DOWNLOADER_MIDDLEWARES = {
    # Scrapy 2.13+ lets requests through unchecked while robots.txt is downloading (see scraper/robotstxt.py).
    "scrapy.downloadermiddlewares.robotstxt.RobotsTxtMiddleware": None,
    "scraper.robotstxt.RobotsTxtMiddleware": 100,
    "scrapy.downloadermiddlewares.retry.RetryMiddleware": None,
    "scraper.middlewares.BackoffRetryMiddleware": 550,
}

LOG_LEVEL = os.environ.get("SUARA_LOG_LEVEL", "INFO")
FEED_EXPORT_ENCODING = "utf-8"

# ---- TLS and what may be fetched (scraper/tls.py, scraper/urlguard.py) ---------------------------
# Certificates and host names are verified against certifi's roots, or the PEM bundle named here
# (or by `ca_bundle` in the sources config) for a private CA; nothing turns checking off.
DOWNLOADER_CLIENTCONTEXTFACTORY = "scraper.tls.VerifyingContextFactory"
DOWNLOAD_VERIFY_CERTIFICATES = True  # Scrapy's own switch: stays on should a Scrapy drop the factory setting
warnings.filterwarnings("ignore", message="The 'DOWNLOADER_CLIENTCONTEXTFACTORY' setting is deprecated")
SUARA_CA_BUNDLE = os.environ.get("SUARA_CA_BUNDLE", "")
# Hosts, addresses or networks a spider that follows other people's links (news) may fetch even
# though they are loopback/private (comma-separated; tests and the demo use 127.0.0.1).
SUARA_ALLOW_HOSTS = os.environ.get("SUARA_ALLOW_HOSTS", "")
DOWNLOADER_MIDDLEWARES.update({
    "scraper.urlguard.PublicURLMiddleware": 50,  # before robots.txt: a refused host gets no request at all
    "scraper.tls.TLSFailureMiddleware": 560,  # sees exceptions before the retry middleware (550)
    "scraper.tls.SecretHeadersMiddleware": 590,  # after redirects (600 builds them): no key leaves its host
})
# Only http(s): a link to file:// or data: must never put local content into the store.
DOWNLOAD_HANDLERS = {"file": None, "data": None, "s3": None, "ftp": None}
# Log lines about items (dropped, scraped) without raw author names or profile permalinks.
LOG_FORMATTER = "scraper.logformatter.PrivateLogFormatter"
