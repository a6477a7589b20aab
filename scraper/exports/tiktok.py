"""TikTok comments: tiktok-comment-scrapper JSON and flat scraper exports.

**tiktok-comment-scrapper** (RomySaputraSihananda/tiktok-comment-scrapper, the Python version
with ``tiktokcomment/``): one JSON document per video::

    {"caption": ..., "date_now": ..., "video_url": "https://t.tiktok.com/i18n/share/video/<id>/?...",
     "comments": [{"comment_id", "username", "nickname", "comment", "create_time", "avatar",
                   "total_reply", "replies": [<same shape>]}], "has_more": ...}

``create_time`` is written with ``datetime.fromtimestamp(...)``: the *local* time of the machine
that scraped, without a zone. It is read in ``--tz`` (``Asia/Jakarta`` for a laptop in
Jakarta; default UTC). Older versions wrote no ``comment_id``; such files cannot be imported
idempotently and are refused. ``nickname`` and ``avatar`` are never stored.

**Flat scraper exports** (the Apify-style "TikTok comments scraper" dataset, JSON or CSV): one
record per comment or reply with ``cid, text, createTime (epoch) / createTimeISO, diggCount,
replyCommentTotal, repliesToId, uid, uniqueId, videoWebUrl``.
"""

from __future__ import annotations

import re

from . import Context, Format, Item, names

SOURCE = "tiktok"


def _is_scrapper(rec: dict) -> bool:
    comments = rec.get("comments")
    return isinstance(comments, list) and bool({"video_url", "caption"} & set(rec))


def _is_flat(rec: dict) -> bool:
    return "cid" in rec and bool({"createTime", "createTimeISO", "diggCount", "videoWebUrl", "uniqueId"} & set(rec))


def video_id(url: str | None) -> str | None:
    m = re.search(r"/video/(\d+)", url or "")
    return m.group(1) if m else None


def video_url(vid: str | None) -> str | None:
    # TikTok resolves a video URL without its author's handle; the handle is personal data.
    return f"https://www.tiktok.com/@/video/{vid}" if vid else None


def parse_scrapper(ctx: Context, units: list[tuple[str, dict]]) -> list[Item]:
    items = []
    for where, doc in units:
        vid = video_id(ctx.text(doc, where, "video_url"))
        comments = doc["comments"]

        def one(w: str, rec: dict, parent: str | None) -> Item:
            cid = ctx.ident(rec, w, "comment_id")
            uname = ctx.text(rec, w, "username")
            return Item(
                source=SOURCE, source_id=cid, kind="reply" if parent else "comment",
                text=ctx.text(rec, w, "comment", required=True), created_at=ctx.time(rec, w, "create_time"),
                where=w, author_id=uname.lower() if uname else None, author_names=names(uname),
                parent_id=parent, thread_id=vid, url=video_url(vid),
            )

        for i, rec in enumerate(comments):
            w = f"{where}, comments[{i}]" if where != "document" else f"comments[{i}]"
            if not isinstance(rec, dict):
                ctx.fail(w, None, "expected an object")
            top = one(w, rec, None)
            items.append(top)
            replies = rec.get("replies") or []
            if not isinstance(replies, list):
                ctx.fail(w, "replies", "expected a list")
            for j, rep in enumerate(replies):
                if not isinstance(rep, dict):
                    ctx.fail(f"{w}, replies[{j}]", None, "expected an object")
                items.append(one(f"{w}, replies[{j}]", rep, top.source_id))
    return items


def parse_flat(ctx: Context, units: list[tuple[str, dict]]) -> list[Item]:
    items = []
    for where, rec in units:
        cid = ctx.ident(rec, where, "cid")
        parent = ctx.text(rec, where, "repliesToId")
        parent = parent.strip() if parent else None
        vid = video_id(ctx.text(rec, where, "videoWebUrl")) or ctx.text(rec, where, "aweme_id")
        uname = ctx.text(rec, where, "uniqueId")
        uid = ctx.text(rec, where, "uid")
        when = "createTimeISO" if not _blankish(rec.get("createTimeISO")) or "createTime" not in rec else "createTime"
        items.append(Item(
            source=SOURCE, source_id=cid, kind="reply" if parent else "comment",
            text=ctx.text(rec, where, "text", required=True), created_at=ctx.time(rec, where, when),
            where=where, author_id=uname.lower() if uname else uid, author_names=names(uname, uid),
            parent_id=parent, thread_id=vid, url=video_url(vid), thumbs_up=ctx.count(rec, where, "diggCount"),
        ))
    return items


def _blankish(v) -> bool:
    return v is None or (isinstance(v, str) and not v.strip())


FORMATS = [
    Format("tiktok-comment-scrapper", SOURCE, "tiktok-comment-scrapper JSON", _is_scrapper, parse_scrapper,
           "video_url, caption, comments[] with comment_id, username, comment, create_time, replies[]"),
    Format("tiktok-scraper", SOURCE, "TikTok comment scraper export", _is_flat, parse_flat,
           "cid, text, createTime/createTimeISO, diggCount, replyCommentTotal, repliesToId, uniqueId, videoWebUrl"),
]
