"""Where Suara reads shipped data and writes generated output.

Shipped configuration, lexicons and survey templates live in the repository's
``data/`` folder; everything Suara generates (the SQLite store, trend files,
reports) goes under an output folder that git ignores.
"""

from __future__ import annotations

import os
from pathlib import Path

from nlp.paths import DATA_DIR  # noqa: F401  (one definition, in the library layer)


def output_dir() -> Path:
    """Generated output: ``$SUARA_HOME`` if set, else ``./data/out``."""
    home = os.environ.get("SUARA_HOME")
    return Path(home) if home else Path.cwd() / "data" / "out"


def default_db_url() -> str:
    """``$SUARA_DB`` if set, else an SQLite file in the output folder."""
    env = os.environ.get("SUARA_DB")
    if env:
        return env
    return f"sqlite:///{output_dir() / 'suara.db'}"


def config_dir() -> Path:
    """Per-installation secrets live here, outside the database and the repo."""
    env = os.environ.get("SUARA_CONFIG_DIR")
    if env:
        return Path(env)
    xdg = os.environ.get("XDG_CONFIG_HOME")
    return (Path(xdg) if xdg else Path.home() / ".config") / "suara"
