"""Which certificate authorities Suara trusts (shared by the Scrapy spiders and the Play Store client).

certifi's Mozilla bundle by default; a private CA's PEM bundle when ``SUARA_CA_BUNDLE`` (Scrapy
setting or environment variable) or ``ca_bundle`` in the sources config names one. The bundle
replaces the default roots (as ``curl --cacert`` and requests' ``verify=`` do). Nothing here can
turn verification off.
"""

from __future__ import annotations

import os
import re
import ssl
from pathlib import Path

from pipelines.errors import InputError

CA_SETTING = "SUARA_CA_BUNDLE"


def _config_bundle(config: str | os.PathLike | None) -> str | None:
    """``ca_bundle`` of the sources config, made absolute against the config's folder."""
    try:
        from pipelines.sources import default_config_path, load_sources

        path = Path(config) if config else default_config_path()
        if not path.exists():
            return None
        cfg = load_sources(path)
    except Exception:  # noqa: BLE001 - a broken config is reported by whoever reads it for its sources
        return None
    value = getattr(cfg, "ca_bundle", None)
    if not value:
        return None
    p = Path(value).expanduser()
    return str(p if p.is_absolute() else Path(cfg.path).parent / p)


def ca_bundle(setting: str | None = None, config: str | os.PathLike | None = None) -> str:
    """Path of the CA bundle to trust: ``setting``, else ``$SUARA_CA_BUNDLE``, else the config's
    ``ca_bundle``, else certifi's bundle. InputError (one line) when the named file is not a
    readable PEM bundle with at least one certificate."""
    where = CA_SETTING
    value = (setting or "").strip() or os.environ.get(CA_SETTING, "").strip()
    if not value:
        value, where = _config_bundle(config) or "", "ca_bundle in the sources config"
    if not value:
        import certifi

        return certifi.where()
    path = Path(value).expanduser()
    try:
        ctx = ssl.create_default_context(cafile=str(path))
    except FileNotFoundError:
        raise InputError(f"CA bundle {path} ({where}) does not exist") from None
    except (OSError, ssl.SSLError) as exc:
        raise InputError(f"CA bundle {path} ({where}) is not a readable PEM bundle: "
                         f"{getattr(exc, 'reason', None) or exc}") from None
    if not ctx.get_ca_certs():
        raise InputError(f"CA bundle {path} ({where}) holds no CA certificate")
    return str(path)



def tls_reason(exc: BaseException) -> str:
    """The certificate problem in a requests/urllib3/ssl error, as one short phrase."""
    text = str(exc)
    m = re.search(r"certificate verify failed: (.+?)(?: \(_ssl\.c:\d+\)|'\)|\)\)|$)", text)
    if m:
        return f"certificate verify failed: {m.group(1).strip().rstrip('.')}"
    m = re.search(r"\[SSL: ([A-Z_]+)\] ([^(]+)", text)
    if m:
        return m.group(2).strip()
    return text[:200] or type(exc).__name__
