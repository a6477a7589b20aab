"""Instagram comments: Instaloader ``--comments`` JSON and scraper exports.

**Instaloader** (instaloader/instaloader 4.x, ``Instaloader.update_comments``) writes one
``<date>_UTC_comments.json`` per post: a JSON array, newest first, of::

    {"id": ..., "created_at": <epoch seconds, UTC>, "text": ..., "owner": {<profile node:
     id, username, profile_pic_url, is_verified, ...>}, "likes_count": ...,
     "answers": [{"id", "created_at", "text", "owner", "likes_count"}, ...]}

The file does not name its post. The post's shortcode is read from the metadata file Instaloader
writes beside it (``<date>_UTC.json`` or ``.json.xz``, ``node.shortcode``) when it is there;
otherwise the thread is the file name. ``owner.profile_pic_url`` and the rest of the profile are
never stored.

**Scraper exports** (the Apify-style "Instagram comments scraper" dataset, JSON or CSV): one
record per comment with ``postUrl, id, text, timestamp (ISO 8601), ownerUsername, likesCount,
repliesCount`` and nested ``replies`` of the same shape.
"""

from __future__ import annotations

import json
import lzma
import re
from pathlib import Path

from . import Context, Format, Item, names

SOURCE = "instagram"


def _is_instaloader(rec: dict) -> bool:
    return {"id", "owner"} <= set(rec) and isinstance(rec.get("owner"), dict) and bool(
        {"created_at", "text", "answers"} & set(rec))


def _is_scraper(rec: dict) -> bool:
    return {"postUrl", "id"} <= set(rec)


def shortcode(url: str | None) -> str | None:
    m = re.search(r"instagram\.com/(?:[\w.]+/)?(?:p|reel|reels|tv)/([\w-]+)", url or "")
    return m.group(1) if m else None


def post_url(code: str | None) -> str | None:
    return f"https://www.instagram.com/p/{code}/" if code else None


def _sibling_shortcode(path: Path) -> str | None:
    stem = path.name.removesuffix(".json").removesuffix("_comments")
    for cand in (path.with_name(stem + ".json"), path.with_name(stem + ".json.xz")):
        try:
            raw = cand.read_bytes()
            if cand.suffix == ".xz":
                raw = lzma.decompress(raw)
            node = json.loads(raw).get("node") or {}
            code = node.get("shortcode")
            if isinstance(code, str) and re.fullmatch(r"[\w-]+", code):
                return code
        except (OSError, ValueError, lzma.LZMAError, AttributeError):
            continue
    return None


def parse_instaloader(ctx: Context, units: list[tuple[str, dict]]) -> list[Item]:
    code = _sibling_shortcode(ctx.path)
    thread = code or ctx.path.name.removesuffix(".json").removesuffix("_comments")
    url = post_url(code)
    items = []

    def one(where: str, rec: dict, parent: str | None) -> Item:
        cid = ctx.ident(rec, where, "id")
        owner = rec.get("owner")
        if not isinstance(owner, dict):
            ctx.fail(where, "owner", "expected an object")
        uname = owner.get("username")
        return Item(
            source=SOURCE, source_id=cid, kind="reply" if parent else "comment",
            text=ctx.text(rec, where, "text", required=True), created_at=ctx.time(rec, where, "created_at"),
            where=where, author_id=(str(uname).lower() if uname else (str(owner.get("id")) if owner.get("id") else None)),
            author_names=names(owner.get("id"), uname), parent_id=parent, thread_id=thread,
            url=(f"{url}c/{cid}/" if url else None), thumbs_up=ctx.count(rec, where, "likes_count"),
        )

    for where, rec in units:
        top = one(where, rec, None)
        items.append(top)
        answers = rec.get("answers") or []
        if not isinstance(answers, list):
            ctx.fail(where, "answers", "expected a list")
        for j, ans in enumerate(answers):
            w = f"{where}, answers[{j}]"
            if not isinstance(ans, dict):
                ctx.fail(w, None, "expected an object")
            items.append(one(w, ans, top.source_id))
    return items


def parse_scraper(ctx: Context, units: list[tuple[str, dict]]) -> list[Item]:
    items = []

    def one(where: str, rec: dict, parent: str | None, thread: str | None) -> Item:
        cid = ctx.ident(rec, where, "id")
        uname = ctx.text(rec, where, "ownerUsername")
        owner = rec.get("owner") if isinstance(rec.get("owner"), dict) else {}
        url = post_url(thread) if thread else None
        return Item(
            source=SOURCE, source_id=cid, kind="reply" if parent else "comment",
            text=ctx.text(rec, where, "text", required=True), created_at=ctx.time(rec, where, "timestamp"),
            where=where, author_id=uname.lower() if uname else None,
            author_names=names(uname, owner.get("id")), parent_id=parent, thread_id=thread,
            url=(f"{url}c/{cid}/" if url else None), thumbs_up=ctx.count(rec, where, "likesCount"),
        )

    for where, rec in units:
        thread = shortcode(ctx.text(rec, where, "postUrl"))
        parent = ctx.text(rec, where, "parentId") or ctx.text(rec, where, "repliesToId")
        top = one(where, rec, parent, thread)
        items.append(top)
        replies = rec.get("replies") or []
        if isinstance(replies, str):  # a CSV cell
            replies = []
        if not isinstance(replies, list):
            ctx.fail(where, "replies", "expected a list")
        for j, rep in enumerate(replies):
            w = f"{where}, replies[{j}]"
            if not isinstance(rep, dict):
                ctx.fail(w, None, "expected an object")
            items.append(one(w, rep, top.source_id, thread))
    return items


FORMATS = [
    Format("instaloader", SOURCE, "Instaloader comments JSON", _is_instaloader, parse_instaloader,
           "id, created_at, text, owner{id, username}, likes_count, answers[]"),
    Format("instagram-scraper", SOURCE, "Instagram comment scraper export", _is_scraper, parse_scraper,
           "postUrl, id, text, timestamp, ownerUsername, likesCount, replies[]"),
]
