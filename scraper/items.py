"""The one item every spider yields; the item pipelines turn it into a ``mentions`` row."""

from __future__ import annotations

import scrapy


class MentionItem(scrapy.Item):
    """A review, article, post or comment about an app, as a source gives it.

    Spiders fill what the source offers and leave the rest unset. Times may be a
    datetime (aware or naive UTC), epoch seconds or an ISO string: the pipelines parse
    them to naive UTC. ``author`` is the raw name or id; the pipelines replace it by a
    keyed hash and never store it.
    """

    source = scrapy.Field()  # appstore, news, reddit, youtube, ...
    source_id = scrapy.Field()  # the source's own id (unique within the source)
    app = scrapy.Field()  # the app id or the query that found it (the crawl target)
    kind = scrapy.Field()  # review, article, post, comment
    author = scrapy.Field()  # raw author name/id: pseudonymised, then dropped
    title = scrapy.Field()
    text = scrapy.Field()
    rating = scrapy.Field()
    created_at = scrapy.Field()
    updated_at = scrapy.Field()
    url = scrapy.Field()
    outlet = scrapy.Field()  # news: the publishing outlet (not personal data, kept as is)
    lang = scrapy.Field()
    country = scrapy.Field()
    reply_text = scrapy.Field()  # developer / channel owner / outlet reply
    reply_at = scrapy.Field()
    thumbs_up = scrapy.Field()
    app_version = scrapy.Field()
    author_key = scrapy.Field()  # set by the pipelines from ``author``; spiders leave it unset

