"""Scrapy log lines without personal data.

Scrapy's own formatter writes the whole item into the "Dropped:" (and "Scraped from", "Error
processing") lines. An item dropped as invalid has not reached the pseudonymising pipeline yet,
so that line would hold the raw author name, and a Reddit permalink names the user too. Here
the item in those lines has ``author`` masked and its URL scrubbed (:func:`pipelines.privacy.scrub_url`).
"""

from __future__ import annotations

from scrapy.logformatter import LogFormatter

REDACTED = "[redacted]"


def redact_item(item) -> dict:
    """A plain-dict copy of ``item`` safe to log: authors masked, user names gone from the URL."""
    from pipelines.privacy import scrub_url

    try:
        data = dict(item)
    except (TypeError, ValueError):
        return {"item": REDACTED}
    for key in list(data):
        if "author" in key and key != "author_key" and data[key] is not None:
            data[key] = REDACTED
    if isinstance(data.get("url"), str):
        data["url"] = scrub_url(data["url"], str(data.get("source") or "reddit"))
    return data


def _redacted(entry: dict) -> dict:
    args = entry.get("args")
    if isinstance(args, dict) and "item" in args:
        entry = dict(entry, args=dict(args, item=redact_item(args["item"])))
    return entry


class PrivateLogFormatter(LogFormatter):
    def scraped(self, item, response, spider):
        return _redacted(super().scraped(item, response, spider))

    def dropped(self, item, exception, response, spider):
        return _redacted(super().dropped(item, exception, response, spider))

    def item_error(self, item, exception, response, spider):
        return _redacted(super().item_error(item, exception, response, spider))
