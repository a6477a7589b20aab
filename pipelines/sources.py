"""The sources config (``data/sources.toml`` or a user file): what a scheduled run collects."""

from __future__ import annotations

import os
import tomllib
from pathlib import Path

from .errors import InputError
from .paths import DATA_DIR

VERSION = "0.1"


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
    p = Path(path) if path else default_config_path()
    if not p.exists():
        raise InputError(f"{p}: sources config not found")
    with p.open("rb") as fh:
        try:
            data = tomllib.load(fh)
        except tomllib.TOMLDecodeError as exc:
            raise InputError(f"{p}: not valid TOML: {exc}") from exc
    return str(data.get("contact", "")).strip()
