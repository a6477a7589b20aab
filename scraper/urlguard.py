"""Only fetch ``http``/``https`` URLs on public hosts where links come from other people.

The news spider follows links that GDELT and RSS/Atom feeds hand it. Such a link may point at
``file:///etc/passwd``, ``data:...``, a router on ``192.168.0.1`` or a service on
``127.0.0.1``; fetching it would put a local file or an internal page into the store (SSRF).
:class:`PublicURLMiddleware` refuses, for spiders that set ``public_urls_only = True``, every
request whose scheme is not http/https or whose host is, or resolves to, a loopback, private,
link-local or otherwise non-global address. It runs before robots.txt and checks redirects
too (a redirected request passes the middlewares again). Each refusal is one WARNING line
and a ``suara/refused_url`` count; the crawl goes on with the other links.

Allowed anyway: the spider's own service (the host and port of its base URL, set by whoever runs
Suara, e.g. GDELT or a local mirror of it) and
what ``SUARA_ALLOW_HOSTS`` lists (setting or environment variable; comma-separated host names,
addresses or networks such as ``127.0.0.1`` or ``10.0.0.0/8``). Tests and ``suara demo`` list
``127.0.0.1`` there because their fake services run on it.
"""

from __future__ import annotations

import ipaddress
import logging
import os
import re
from urllib.parse import urlsplit

from scrapy.exceptions import IgnoreRequest

logger = logging.getLogger(__name__)

ALLOW_SETTING = "SUARA_ALLOW_HOSTS"
SCHEMES = ("http", "https")


class URLRefused(IgnoreRequest):
    """A link Suara will not fetch: wrong scheme or a non-public host."""


def parse_allowance(value) -> list:
    """``"127.0.0.1, intranet.local, 10.0.0.0/8"`` (or a list) -> host names and networks."""
    if value in (None, ""):
        return []
    items = re.split(r"[,\s]+", value) if isinstance(value, str) else [str(v) for v in value]
    out: list = []
    for item in (i.strip().lower().strip("[]") for i in items):
        if not item:
            continue
        try:
            out.append(ipaddress.ip_network(item, strict=False))
        except ValueError:
            out.append(item.rstrip("."))
    return out


def _allowed(host: str, address, allowance: list) -> bool:
    for a in allowance:
        if isinstance(a, str):
            if host == a:
                return True
        elif address is not None and address.version == a.version and address in a:
            return True
    return False


def _address(value: str):
    try:
        return ipaddress.ip_address(value.strip("[]"))
    except ValueError:
        return None


def is_public(address) -> bool:
    """True for a globally routable unicast address."""
    if isinstance(address, ipaddress.IPv6Address) and address.ipv4_mapped is not None:
        address = address.ipv4_mapped
    return address.is_global and not address.is_multicast


def url_problem(url: str, allowance: list = (), resolved: str | None = None) -> str | None:
    """Why ``url`` must not be fetched (``None`` when it may).

    ``resolved``: the address the host name resolves to, when known; a name is only judged by
    its address (``localhost`` is refused because it resolves to 127.0.0.1).
    """
    try:
        parts = urlsplit(url)
        host = (parts.hostname or "").lower().rstrip(".")
    except ValueError as exc:
        return f"unparseable URL ({exc})"
    scheme = parts.scheme.lower()
    if scheme not in SCHEMES:
        return f"scheme {scheme + ':' if scheme else '(none)'} is not http or https"
    if not host:
        return "no host name"
    address = _address(host)
    if address is None and resolved:
        address = _address(resolved)
    if isinstance(address, ipaddress.IPv6Address) and address.ipv4_mapped is not None:
        address = address.ipv4_mapped  # ::ffff:127.0.0.1 is 127.0.0.1
    if _allowed(host, address, list(allowance)):
        return None
    if address is None:
        # An address-looking name such as 2130706433 or 0x7f.1 is read by some resolvers as an IP.
        if re.fullmatch(r"[0-9.x]+", host):
            return f"host {host} looks like a numeric address"
        if host == "localhost" or host.endswith((".localhost", ".local", ".internal")):
            return f"host {host} is not a public host"
        return None
    if not is_public(address):
        kind = ("loopback" if address.is_loopback else "link-local" if address.is_link_local
                else "private" if address.is_private else "non-public")
        shown = host if host == str(address) else f"{host} ({address})"
        return f"host {shown} is a {kind} address"
    return None


class PublicURLMiddleware:
    """Downloader middleware: refuse non-http(s) URLs and non-public hosts (see module doc)."""

    def __init__(self, crawler):
        self.crawler = crawler
        setting = crawler.settings.get(ALLOW_SETTING)
        env = os.environ.get(ALLOW_SETTING)
        self.allowance = parse_allowance(setting if setting not in (None, "") else env)

    @classmethod
    def from_crawler(cls, crawler):
        return cls(crawler)

    def _own_netloc(self, spider) -> str:
        try:
            return urlsplit(getattr(spider, "base_url", "") or "").netloc.lower()
        except Exception:  # noqa: BLE001 - no usable base URL: nothing is exempt
            return ""

    async def process_request(self, request, spider=None):
        spider = spider or self.crawler.spider
        if not getattr(spider, "public_urls_only", False):
            return None
        try:
            host = (urlsplit(request.url).hostname or "").lower()
        except ValueError:
            host = ""
        if host and urlsplit(request.url).netloc.lower() == self._own_netloc(spider):
            return None
        resolved = None
        if host and _address(host) is None and urlsplit(request.url).scheme.lower() in SCHEMES:
            resolved = await self._resolve(host)
        problem = url_problem(request.url, self.allowance, resolved)
        if problem is None:
            return None
        self.crawler.stats.inc_value("suara/refused_url")
        logger.warning("%s: refused %s: %s", getattr(spider, "name", "spider"), _short(request.url), problem)
        raise URLRefused(f"refused: {problem}")

    async def _resolve(self, host: str) -> str | None:
        # The reactor's resolver is the one (with Scrapy's DNS cache) the download itself uses.
        from twisted.internet import reactor
        from scrapy.utils.defer import maybe_deferred_to_future

        try:
            return await maybe_deferred_to_future(reactor.resolve(host))
        except Exception:  # noqa: BLE001 - unresolvable: the download fails on its own, with its own error
            return None


def _short(url: str, n: int = 120) -> str:
    return url if len(url) <= n else url[: n - 1] + "…"
