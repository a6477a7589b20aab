"""Pseudonymise authors with a keyed hash (HMAC-SHA256).

The key is created once per installation and kept in the user's config folder,
never in the database: a leaked store alone cannot be reversed by hashing known
user names. The same key is used by the Play Store client, the importer and the
Scrapy item pipelines, so one person gets one key across sources of one kind.
"""

from __future__ import annotations

import hmac
import os
import re
import secrets
from functools import lru_cache
from pathlib import Path
from urllib.parse import urlsplit, urlunsplit

from .paths import config_dir


def secret_path() -> Path:
    env = os.environ.get("SUARA_SECRET_FILE")
    return Path(env) if env else config_dir() / "secret.key"


@lru_cache(maxsize=4)
def _load_secret(path: str) -> bytes:
    p = Path(path)
    if not p.exists():
        p.parent.mkdir(parents=True, exist_ok=True)
        # O_EXCL: two processes racing at first use must not end with different keys.
        try:
            fd = os.open(p, os.O_WRONLY | os.O_CREAT | os.O_EXCL, 0o600)
        except FileExistsError:
            pass
        else:
            with os.fdopen(fd, "w") as fh:
                fh.write(secrets.token_hex(32))
    key = p.read_text().strip()
    if len(key) < 32:
        from .errors import SuaraError

        raise SuaraError(f"pseudonymisation key {p} is empty or too short; delete it to make a new one")
    return key.encode()


def pseudonymise(source: str, author: str | None) -> str | None:
    """A stable, non-reversible key for an author name or id within one source."""
    if author is None or str(author).strip() == "":
        return None  # without touching the key file
    return pseudonymiser(source)(author)


def pseudonymiser(source: str):
    """``pseudonymise`` bound to ``source`` with the key resolved once, for loops over many rows.

    Resolving the key path (environment, config folder) per call cost more than the hash itself
    in a large import.
    """
    key = _load_secret(str(secret_path()))
    prefix = f"{source}\x00"
    digest = hmac.digest

    def keyed(author: str | None) -> str | None:
        if author is None:
            return None
        name = author if author.__class__ is str else str(author)
        if not name or name.isspace():  # blank: no author
            return None
        return digest(key, (prefix + name).encode("utf-8"), "sha256").hex()[:24]

    return keyed


# ---- user names in URLs -----------------------------------------------------------------------------

# Reddit permalinks of posts in a user's profile ("subreddit" u_<name>), /user/<name> and /u/<name> pages.
_REDDIT_HOST = re.compile(r"^(?:[\w-]+\.)*reddit\.com$", re.I)
_REDDIT_USER_COMMENTS = re.compile(r"^/(?:r/u_[^/]+|u(?:ser)?/[^/]+)(/comments/.*)$", re.I)
_REDDIT_USER = re.compile(r"^/(r/u_|u/|user/)([^/]+)", re.I)


def scrub_url(url: str | None, source: str = "reddit") -> str | None:
    """``url`` without the user name Reddit puts in profile permalinks.

    ``/r/u_<name>/comments/<id>/...`` and ``/user/<name>/comments/<id>/...`` become
    ``/comments/<id>/...`` (Reddit serves the same post there); any other ``/user/<name>``,
    ``/u/<name>`` or ``/r/u_<name>`` path gets the name replaced by its pseudonym (the same
    keyed hash as the author). Other URLs are returned unchanged.
    """
    if not url or not isinstance(url, str):
        return url
    try:
        parts = urlsplit(url)
    except ValueError:
        return url
    if not _REDDIT_HOST.match(parts.hostname or ""):
        return url
    m = _REDDIT_USER_COMMENTS.match(parts.path)
    if m:
        path = m.group(1)
    elif _REDDIT_USER.match(parts.path):
        path = _REDDIT_USER.sub(lambda u: f"/{u.group(1)}{'~' + (pseudonymise(source, u.group(2)) or '')}", parts.path, count=1)
    else:
        return url
    # A query or fragment may carry the name as well (?author=..., #name); they add nothing to the link.
    return urlunsplit((parts.scheme, parts.netloc, path, "", ""))
