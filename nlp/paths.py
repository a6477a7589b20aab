"""Where the NLP layer finds shipped data (lexicons, slang, taxonomy, the offline model)."""

from __future__ import annotations

import hashlib
import os
import shutil
import tempfile
import zipfile
from pathlib import Path


def _unpacked_egg_data(egg: str) -> Path:
    """The ``data/`` folder of a zipped egg, unpacked once into the user's cache.

    scrapyd runs a deployed project straight from its egg (a zip), where ``open()`` cannot reach
    the lexicons; readers expect a real folder. The folder is named after the data's checksums,
    so jobs of one deployed version share it and a new version with other data gets its own.
    """
    with zipfile.ZipFile(egg) as zf:
        members = [i for i in zf.infolist() if i.filename.startswith("data/") and not i.is_dir()]
        digest = hashlib.sha256("".join(f"{i.filename}:{i.CRC}:{i.file_size};" for i in members).encode())
        cache = Path(os.environ.get("XDG_CACHE_HOME") or Path.home() / ".cache") / "suara"
        # The folder stands in for the checkout: data/ inside it, so paths written relative to the
        # checkout in the sources config (survey.file = "data/survey/...") resolve as they do there.
        target = cache / f"egg-{digest.hexdigest()[:16]}"
        if not (target / "data").is_dir():
            cache.mkdir(parents=True, exist_ok=True)
            # Unpack beside it and rename: two jobs starting at once never see a half-written folder.
            tmp = Path(tempfile.mkdtemp(prefix=".egg-data-", dir=cache))
            zf.extractall(tmp, members)
            try:
                os.rename(tmp, target)
            except OSError:  # another job got there first
                shutil.rmtree(tmp, ignore_errors=True)
    return target / "data"


def _data_dir() -> Path:
    # Installed editable (`pip install -e .`) or run from a checkout: data/ sits beside the packages.
    beside = Path(__file__).resolve().parent.parent / "data"
    archive = getattr(globals().get("__loader__"), "archive", None)  # zipimport: run from an egg
    if not beside.is_dir() and archive and zipfile.is_zipfile(archive):
        return _unpacked_egg_data(archive)
    return beside


DATA_DIR = _data_dir()
