"""YouTube comments: youtube-comment-downloader JSON lines.

**youtube-comment-downloader** (egbertbouman/youtube-comment-downloader 0.1.x; ``--output FILE``,
JSON lines; ``--pretty`` wraps them in ``{"comments": [...]}``), one object per comment::

    {"cid": "Ugx...", "text": ..., "time": "2 hari yang lalu", "author": "@handle",
     "channel": "UC...", "votes": "12" | "1,2 rb", "replies": "3", "photo": ..., "heart": false,
     "reply": false, "time_parsed": 1718000000.0}

A reply's ``cid`` is ``<parent cid>.<reply id>``, the same id the YouTube Data API gives it, so
an exported comment and a crawled one are the same mention. ``time_parsed`` is dateparser's
reading of the *relative* ``time`` ("2 hari yang lalu"): it is only as precise as that text
(a day, a week, a year). The video id is not in the file; the tool's default file name is the
video id, so an 11-character file name is taken as the video.
``author`` (display name/handle) and ``photo`` are never stored; the author key is made from
``channel``, as the YouTube spider does.
"""

from __future__ import annotations

import re

from . import Context, Format, Item, names

SOURCE = "youtube"


def _is_ycd(rec: dict) -> bool:
    return "cid" in rec and bool({"channel", "votes", "time_parsed", "heart"} & set(rec))


def parse(ctx: Context, units: list[tuple[str, dict]]) -> list[Item]:
    stem = ctx.path.name.split(".")[0]
    vid = stem if re.fullmatch(r"[\w-]{11}", stem) else None
    items = []
    for where, rec in units:
        cid = ctx.ident(rec, where, "cid")
        if "time_parsed" not in rec:
            ctx.fail(where, "time_parsed", f"missing: youtube-comment-downloader could not parse the time "
                                           f"{str(rec.get('time'))[:30]!r}")
        parent = cid.split(".", 1)[0] if "." in cid else None
        channel = ctx.text(rec, where, "channel")
        items.append(Item(
            source=SOURCE, source_id=cid, kind="reply" if parent else "comment",
            text=ctx.text(rec, where, "text", required=True), created_at=ctx.time(rec, where, "time_parsed"),
            where=where, author_id=channel, author_names=names(channel, ctx.text(rec, where, "author")),
            parent_id=parent, thread_id=vid or stem,
            url=f"https://www.youtube.com/watch?v={vid}&lc={cid}" if vid else None,
            thumbs_up=ctx.count(rec, where, "votes"),
        ))
    return items


FORMATS = [
    Format("youtube-comment-downloader", SOURCE, "youtube-comment-downloader JSON lines", _is_ycd, parse,
           "cid, text, time_parsed, author, channel, votes, replies, heart, reply"),
]
