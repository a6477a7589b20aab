"""TLS for every Suara request: certificates and host names verified, failures never retried.

Scrapy's default context factory accepts any certificate, so a spider would store what a
man-in-the-middle serves and hand it ``YOUTUBE_API_KEY`` or the Reddit client secret.
:class:`VerifyingContextFactory` (``DOWNLOADER_CLIENTCONTEXTFACTORY`` in scraper/settings.py)
checks the chain against the CA bundle and the certificate's names against the host, as a
browser does; the handshake fails before any request (and so any key) is sent.

Trusted roots: certifi's Mozilla bundle, or the bundle named by ``SUARA_CA_BUNDLE`` (Scrapy
setting or environment variable) or by ``ca_bundle`` in the sources config. A bundle
*replaces* the default roots (as ``curl --cacert`` and requests' ``verify=`` do): for a private
CA next to public hosts, append the CA to a copy of certifi's bundle. There is no switch that
turns checking off.

:class:`TLSFailureMiddleware` turns a failed handshake into one ERROR line naming the host and
the certificate problem (so the crawl ends incomplete, exit 3) and keeps the retry middleware
from retrying it: a certificate does not get better in two seconds.
"""

from __future__ import annotations

import logging
import re
import ssl
from pathlib import Path
from urllib.parse import urlsplit

from OpenSSL import SSL
from twisted.internet.interfaces import IOpenSSLClientConnectionCreator
from twisted.web.iweb import IPolicyForHTTPS
from twisted.internet.ssl import Certificate, optionsForClientTLS, trustRootFromCertificates

try:  # Scrapy >= 2.14 keeps the base class private and warns on subclassing the public alias
    from scrapy.core.downloader.contextfactory import _ScrapyClientContextFactory as _BaseFactory
except ImportError:  # pragma: no cover
    from scrapy.core.downloader.contextfactory import ScrapyClientContextFactory as _BaseFactory
from scrapy.exceptions import IgnoreRequest
from zope.interface import implementer

from pipelines.errors import InputError
from scraper.trust import CA_SETTING, ca_bundle, tls_reason

logger = logging.getLogger(__name__)

# OpenSSL's X509_V_ERR_* codes seen in practice, in OpenSSL's own words.
_VERIFY_ERRORS = {
    2: "unable to get issuer certificate",
    9: "certificate is not yet valid",
    10: "certificate has expired",
    18: "self-signed certificate",
    19: "self-signed certificate in certificate chain",
    20: "unable to get local issuer certificate",
    21: "unable to verify the first certificate",
    23: "certificate revoked",
    24: "invalid CA certificate",
    26: "unsupported certificate purpose",
    62: "hostname mismatch",
}


# ---- Scrapy: the context factory -------------------------------------------------------------------------


#: "host:port" -> what certificate verification said last (read when the handshake fails).
_last_problem: dict[str, str] = {}


_PEM = re.compile(rb"-----BEGIN CERTIFICATE-----.+?-----END CERTIFICATE-----", re.S)


def trust_root(path: str):
    """Twisted trust root holding every certificate of the PEM bundle at ``path``."""
    certs = []
    for block in _PEM.findall(Path(path).read_bytes()):
        try:
            certs.append(Certificate.loadPEM(block))
        except Exception:  # noqa: BLE001 - one unreadable entry must not drop the whole bundle
            continue
    if not certs:
        raise InputError(f"CA bundle {path} holds no readable certificate")
    return trustRootFromCertificates(certs)


def _verify_error(code: int) -> str:
    try:  # pyOpenSSL's binding, when this build still exposes it
        from OpenSSL._util import ffi, lib

        text = ffi.string(lib.X509_verify_cert_error_string(code)).decode()
        if text:
            return text
    except Exception:  # noqa: BLE001
        pass
    return _VERIFY_ERRORS.get(code, f"certificate verify error {code}")


@implementer(IPolicyForHTTPS)
class VerifyingContextFactory(_BaseFactory):
    """Verify the chain (against :func:`ca_bundle`) and the host name of every HTTPS connection."""

    def __init__(self, *args, ca_file: str | None = None, **kwargs):
        super().__init__(*args, **kwargs)
        self.ca_file = ca_file or ca_bundle()
        self.trust = trust_root(self.ca_file)

    @classmethod
    def from_crawler(cls, crawler, *args, **kwargs):
        settings = crawler.settings
        kwargs.setdefault("ca_file", ca_bundle(settings.get(CA_SETTING), settings.get("SUARA_CONFIG") or None))
        return super().from_crawler(crawler, *args, **kwargs)

    def creatorForNetloc(self, hostname: bytes, port: int):
        host = hostname.decode("ascii")
        kwargs = getattr(self, "_get_cert_options_kwargs", None)  # Scrapy >= 2.14: ciphers, TLS versions
        extra = kwargs() if kwargs else {"method": self._ssl_method}
        options = optionsForClientTLS(hostname=host, trustRoot=self.trust, extraCertificateOptions=extra)
        return _RecordingCreator(options, f"{host}:{port}")


@implementer(IOpenSSLClientConnectionCreator)
class _RecordingCreator:
    """Twisted's connection creator, plus a note of *why* the chain failed to verify.

    A failed handshake only says "certificate verify failed"; the verify callback sees the
    OpenSSL code (self-signed, expired, unknown issuer...). Twisted's own callback (which
    also checks the host name) still decides.
    """

    def __init__(self, inner, key: str):
        self.inner = inner
        self.key = key

    def __getattr__(self, name):
        return getattr(self.inner, name)

    def clientConnectionForTLS(self, tlsProtocol):
        conn = self.inner.clientConnectionForTLS(tlsProtocol)
        try:
            from twisted.internet._sslverify import _verifyCB  # private; without it the reason stays generic

            decide = _verifyCB(tlsProtocol, self.inner._hostnameIsDnsName, self.inner._hostnameASCII)
        except (ImportError, AttributeError, TypeError):
            return conn
        key = self.key
        _last_problem.pop(key, None)

        def verify(c, cert, errno, depth, ok):
            if not ok and key not in _last_problem:  # the first problem is the telling one
                _last_problem[key] = _verify_error(errno)
            return decide(c, cert, errno, depth, ok)

        conn.set_verify(SSL.VERIFY_PEER | SSL.VERIFY_FAIL_IF_NO_PEER_CERT, verify)
        return conn


# ---- Scrapy: failures --------------------------------------------------------------------------------------


class TLSRefused(IgnoreRequest):
    """A host whose certificate (or TLS handshake) was not accepted; already logged once."""


def tls_problem(exc: BaseException, host: str = "", port: int | None = None) -> str | None:
    """What went wrong in a TLS handshake that ``exc`` reports; None when it is no TLS failure."""
    try:
        from service_identity.exceptions import VerificationError
    except ImportError:  # pragma: no cover - Scrapy depends on service_identity
        VerificationError = ()  # type: ignore[assignment]
    # Scrapy >= 2.14 wraps Twisted's ResponseFailed (whose ``reasons`` hold the TLS failure) in
    # DownloadFailedError; other download handlers chain an ssl.SSLError.
    values: list = []
    seen = 0
    while exc is not None and seen < 8:
        values += [exc] + [getattr(r, "value", r) for r in (getattr(exc, "reasons", None) or [])]
        exc, seen = exc.__cause__, seen + 1
    for v in values:
        if isinstance(v, ssl.SSLError):
            return tls_reason(v)
        if VerificationError and isinstance(v, VerificationError):
            return f"certificate is not valid for {host or 'this host'} (host name mismatch)"
        if isinstance(v, SSL.Error):
            detail = _last_problem.get(f"{host}:{port}") if host else None
            text = "; ".join(str(e[-1]) for e in (v.args[0] if v.args and isinstance(v.args[0], list) else [])
                             if isinstance(e, tuple) and e) or str(v) or type(v).__name__
            if detail and "certificate verify failed" in text:
                return f"certificate verify failed: {detail}"
            return text
    return None


class TLSFailureMiddleware:
    """Downloader middleware (closer to the downloader than the retry middleware): a TLS failure
    is one ERROR line per host, no retry, and the request's errback gets :class:`TLSRefused`."""

    def __init__(self, crawler):
        self.crawler = crawler
        self.reported: set[str] = set()

    @classmethod
    def from_crawler(cls, crawler):
        return cls(crawler)

    def process_exception(self, request, exception, spider=None):
        parts = urlsplit(request.url)
        host, port = parts.hostname or "", parts.port or (443 if parts.scheme == "https" else 80)
        problem = tls_problem(exception, host, port)
        if problem is None:
            return None
        netloc = f"{host}:{port}"
        self.crawler.stats.inc_value("suara/tls_refused")
        if netloc not in self.reported:
            self.reported.add(netloc)
            logger.error("TLS: %s refused: %s; nothing was sent to it or stored from it "
                         "(for a private CA set %s to its PEM bundle)", netloc, problem, CA_SETTING)
        raise TLSRefused(f"TLS: {netloc} refused: {problem}")


# ---- secrets on redirects ----------------------------------------------------------------------------------

#: Request headers that carry a credential (Scrapy itself only drops Authorization and Cookie).
SECRET_HEADERS = ("X-Goog-Api-Key", "Authorization", "Cookie")


class SecretHeadersMiddleware:
    """Downloader middleware: a redirect to another host, or from https to http, loses the
    credential headers, so ``YOUTUBE_API_KEY`` or a bearer token never follows a redirect away
    from the service it was meant for."""

    def process_request(self, request, spider=None):
        chain = request.meta.get("redirect_urls")
        if not chain:
            return None
        first, now = urlsplit(chain[0]), urlsplit(request.url)
        if (now.scheme, now.netloc) == (first.scheme, first.netloc):
            return None
        for name in SECRET_HEADERS:
            if name in request.headers:
                del request.headers[name]
                logger.warning("dropped the %s header on the redirect from %s to %s", name, first.netloc, now.netloc)
        return None
