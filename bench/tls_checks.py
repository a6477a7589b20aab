"""TLS checks against local servers, and what verification costs a crawl.

    python bench/tls_checks.py [ROUNDS]        (default 3)

Serves the App Store fake (130 reviews, 3 pages) over plain HTTP and over HTTPS with a
certificate from a throwaway CA (trustme), then crawls it: untrusted CA, wrong host name,
private CA named by SUARA_CA_BUNDLE, plain HTTP. Prints each outcome and the median seconds
of the verified and the plain crawls. Needs the test extra (trustme).
"""

from __future__ import annotations

import os
import ssl
import statistics
import sys
import tempfile
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(ROOT))

import trustme  # noqa: E402

from scraper.crawl import FAST_SETTINGS, run_spider  # noqa: E402
from scraper.fakes.appstore import FakeAppStore  # noqa: E402
from scraper.fakes.server import serve  # noqa: E402

APP = "1000000001"


def context(ca, name):
    ctx = ssl.SSLContext(ssl.PROTOCOL_TLS_SERVER)
    ca.issue_cert(name).configure_cert(ctx)
    return ctx


def crawl(base, tmp, n, **settings):
    s = run_spider("appstore", db=f"sqlite:///{tmp}/b{n}.db",
                   settings_overrides={**FAST_SETTINGS, "LOG_LEVEL": "ERROR", "SUARA_APPSTORE_URL": base, **settings}, app=APP, country="id")
    return s


def main(rounds: int) -> None:
    tmp = tempfile.mkdtemp(prefix="suara-tls-")
    os.environ.setdefault("SUARA_HOME", tmp)
    os.environ.setdefault("SUARA_CONFIG_DIR", tmp)
    ca = trustme.CA()
    bundle = Path(tmp) / "ca.pem"
    ca.cert_pem.write_to_path(str(bundle))
    n = 0
    with serve(FakeAppStore(), ssl_context=context(ca, "127.0.0.1")) as good, \
            serve(FakeAppStore(), ssl_context=context(ca, "mirror.example.org")) as wrong, \
            serve(FakeAppStore()) as plain:
        for label, base, extra in (("untrusted CA", good, {}), ("wrong host name", wrong, {"SUARA_CA_BUNDLE": str(bundle)})):
            n += 1
            s = crawl(base, tmp, n, **extra)
            print(f"{label:16} ok={s.ok} stored={s.stored} requests={s.requests} error={s.errors[0] if s.errors else ''}")
        times = {"https, private CA": [], "plain http": []}
        for _ in range(rounds):
            for label, base, extra in (("https, private CA", good, {"SUARA_CA_BUNDLE": str(bundle)}),
                                       ("plain http", plain, {})):
                n += 1
                s = crawl(base, tmp, n, **extra)
                assert s.ok and s.new == 130, s.errors
                times[label].append(s.elapsed_s)
        for label, t in times.items():
            print(f"{label:18} 130 reviews, 3 pages: median {statistics.median(t):.2f} s over {rounds} crawls")


if __name__ == "__main__":
    main(int(sys.argv[1]) if len(sys.argv) > 1 else 3)
