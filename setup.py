"""Only for `scrapyd-deploy`, which builds its egg with `python setup.py bdist_egg`; the project
itself is described in pyproject.toml (packages, dependencies, the scrapy settings entry point).

scrapyd runs a deployed project from its egg alone, so the egg also carries the shipped data the
spiders' pipelines read (sources.toml, lexicons, taxonomy, model): nlp/paths.py finds it there.
Never raw imports (data/imports, personal data) or generated output. pip installs (editable or
not) get no data_files: they read data/ beside the packages.
"""

import sys
from glob import glob

from setuptools import setup

DATA = ["data/*.toml", "data/*.tsv", "data/*.md", "data/models/*.npz", "data/survey/*"]


def data_files() -> list[tuple[str, list[str]]]:
    folders: dict[str, list[str]] = {}
    for pattern in DATA:
        for path in sorted(glob(pattern)):
            folders.setdefault(path.rsplit("/", 1)[0], []).append(path)
    return sorted(folders.items())


setup(data_files=data_files() if "bdist_egg" in sys.argv else [])
