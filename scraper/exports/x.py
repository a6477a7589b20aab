"""X (Twitter): tweet-harvest CSV and X API v2 JSON.

**tweet-harvest** (helmisatria/tweet-harvest, npm, 2.4-2.7): one CSV per search, written with
PapaParse (every field quoted, header once), columns sorted by name::

    conversation_id_str, created_at, favorite_count, full_text, id_str, image_url,
    in_reply_to_screen_name, lang, location, quote_count, reply_count, retweet_count,
    tweet_url, user_id_str, username

``created_at`` is Twitter's legacy ``Wed Oct 10 20:19:24 +0000 2018`` up to 2.6 and ISO 8601
from 2.7.0. The CSV has no parent tweet id: a reply (``in_reply_to_screen_name`` set, or a
``conversation_id_str`` other than its own id) is linked to its conversation's first post.
``location`` (a person's free-text place), ``username`` and ``tweet_url`` (it holds the handle)
are never stored; the URL is rebuilt as ``https://x.com/i/status/<id>``.

**X API v2** (``GET /2/tweets/search/recent|all``, ``/2/tweets``, ``/2/users/:id/tweets``): a
response page ``{"data": [...], "includes": {"users": [...]}, "meta": {...}}`` (a JSON file, or
JSON lines of pages as twarc2 writes them). Tweet fields used: ``id, text, created_at,
author_id, conversation_id, in_reply_to_user_id, referenced_tweets, public_metrics, lang,
note_tweet``; ``includes.users`` (id -> username) only to recognise the official account.
``created_at`` must have been requested (``tweet.fields=created_at``).
"""

from __future__ import annotations

from . import Context, Format, Item, names

SOURCE = "x"
STATUS_URL = "https://x.com/i/status/{}"


def _lang(code: str | None) -> str | None:
    # X writes Indonesian as "in" (the pre-1989 ISO code); the store uses "id" like every other source.
    code = (code or "").strip().lower()
    return {"in": "id", "und": None, "": None}.get(code, code)


def _is_harvest(rec: dict) -> bool:
    # Recognised by the id plus any other tweet-harvest column, so a file missing a required
    # column is reported as that missing column, not as an unknown format.
    return "id_str" in rec and bool({"full_text", "tweet_url", "conversation_id_str", "user_id_str"} & set(rec))


def _is_api_page(rec: dict) -> bool:
    data = rec.get("data")
    if isinstance(data, dict):
        data = [data]
    return isinstance(data, list) and bool(data) and all(isinstance(t, dict) and "text" in t and "id" in t for t in data)


def _is_api_tweet(rec: dict) -> bool:
    return {"id", "text", "author_id"} <= set(rec) and "owner" not in rec


def parse_harvest(ctx: Context, units: list[tuple[str, dict]]) -> list[Item]:
    items = []
    for where, rec in units:
        tid = ctx.ident(rec, where, "id_str")
        conv = ctx.text(rec, where, "conversation_id_str")
        conv = conv.strip() if conv else None
        to_name = ctx.text(rec, where, "in_reply_to_screen_name")
        # A conversation other than its own is a reply; without the column, fall back on the
        # addressee (old tweets that merely began with an @mention also carry one).
        is_reply = (conv != tid) if conv else bool(to_name and to_name.strip())
        uid = ctx.text(rec, where, "user_id_str")
        handle = ctx.text(rec, where, "username")
        items.append(Item(
            source=SOURCE, source_id=tid, kind="reply" if is_reply else "post",
            text=ctx.text(rec, where, "full_text", required=True),
            created_at=ctx.time(rec, where, "created_at"), where=where,
            author_id=(uid or handle or "").strip() or None, author_names=names(uid, handle),
            parent_id=(conv if is_reply and conv != tid else None), thread_id=conv or tid,
            url=STATUS_URL.format(tid), thumbs_up=ctx.count(rec, where, "favorite_count"),
            lang=_lang(ctx.text(rec, where, "lang")),
        ))
    return items


def _api_tweet(ctx: Context, where: str, t: dict, users: dict[str, str]) -> Item:
    tid = ctx.ident(t, where, "id")
    note = t.get("note_tweet")
    text = note.get("text") if isinstance(note, dict) and isinstance(note.get("text"), str) else None
    text = text or ctx.text(t, where, "text", required=True)
    parent = None
    refs = t.get("referenced_tweets")
    if refs is not None and not isinstance(refs, list):
        ctx.fail(where, "referenced_tweets", "expected a list")
    for ref in refs or []:
        if isinstance(ref, dict) and ref.get("type") == "replied_to" and ref.get("id"):
            parent = str(ref["id"])
    conv = t.get("conversation_id")
    conv = str(conv) if conv else None
    is_reply = parent is not None or bool(t.get("in_reply_to_user_id"))
    if is_reply and parent is None and conv and conv != tid:
        parent = conv
    author = t.get("author_id")
    author = str(author) if author else None
    metrics = t.get("public_metrics") if isinstance(t.get("public_metrics"), dict) else {}
    return Item(
        source=SOURCE, source_id=tid, kind="reply" if is_reply else "post", text=text,
        created_at=ctx.time(t, where, "created_at"), where=where,
        author_id=author, author_names=names(author, users.get(author or "")),
        parent_id=parent, thread_id=conv or tid, url=STATUS_URL.format(tid),
        thumbs_up=ctx.count(metrics, where, "like_count"), lang=_lang(ctx.text(t, where, "lang")),
    )


def parse_api(ctx: Context, units: list[tuple[str, dict]]) -> list[Item]:
    items = []
    for where, page in units:
        if "data" not in page:  # a bare tweet object (a list of tweets, or twarc2 flattened lines)
            items.append(_api_tweet(ctx, where, page, {}))
            continue
        users = {}
        inc = page.get("includes")
        if isinstance(inc, dict):
            for u in inc.get("users") or []:
                if isinstance(u, dict) and u.get("id"):
                    users[str(u["id"])] = str(u.get("username") or "")
        data = page["data"]
        for i, t in enumerate([data] if isinstance(data, dict) else data, 1):
            items.append(_api_tweet(ctx, f"{where}, data[{i - 1}]" if where != "document" else f"data[{i - 1}]",
                                    t, users))
    return items


FORMATS = [
    Format("tweet-harvest", SOURCE, "tweet-harvest CSV", _is_harvest, parse_harvest,
           "id_str, full_text, created_at, user_id_str, username, conversation_id_str"),
    Format("x-api-v2", SOURCE, "X API v2 JSON", lambda r: _is_api_page(r) or _is_api_tweet(r), parse_api,
           "data[] with id, text, created_at, author_id; includes.users"),
]
