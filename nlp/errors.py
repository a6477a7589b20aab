"""Errors the NLP library raises; ``pipelines.errors`` re-exports them for the CLI.

They live here so that ``nlp`` (the library layer) never imports from ``pipelines``.
"""


class SuaraError(Exception):
    """A problem the user can fix: bad input, bad config, an unreachable service."""

    exit_code = 1


class InputError(SuaraError):
    """Malformed file, payload, config or argument."""

    exit_code = 2
