"""One exception type for every user-facing failure.

The CLI turns a ``SuaraError`` into one clear line on stderr and a non-zero exit;
library callers (notebooks) get a normal exception with the same message.
"""


from nlp.errors import InputError, SuaraError

__all__ = ["SuaraError", "InputError", "CrawlError"]


class CrawlError(SuaraError):
    """A crawl could not complete; what was stored stays and the state is left incomplete."""

    exit_code = 3


class StoreBusy(SuaraError):
    """Another writer held the database past the busy timeout; nothing half-written stays."""

    exit_code = 3

