"""Scrub personal contact data out of citizen text before it is shown to anyone.

Reports quote citizens; a review sometimes carries the writer's phone number, e-mail, NIK
(the 16-digit national identity number) or social-media handle. :func:`scrub` masks them
with fixed placeholders, so a quote keeps its meaning and loses the person. It is one
function on purpose: every place that shows stored text (report, exports, validation
sheets) should call it rather than carry its own patterns.
"""

from __future__ import annotations

import re

PLACEHOLDERS = {"email": "[email]", "nik": "[NIK]", "phone": "[phone]", "handle": "[@user]", "url": "[link]"}

_EMAIL = re.compile(r"[A-Za-z0-9._%+-]+@[A-Za-z0-9-]+(?:\.[A-Za-z0-9-]+)+")
# Links can carry names and ids in their paths (wa.me/62812..., instagram.com/name).
_URL = re.compile(r"\b(?:https?://|www\.|wa\.me/)\S+", re.IGNORECASE)
# NIK: exactly 16 digits, possibly grouped by spaces, dots or dashes (before phones: longer).
_NIK = re.compile(r"(?<![\d+])\d(?:[ .-]?\d){15}(?!\d)")
# Indonesian phones: +62 / 62 / 0 then 8-13 more digits, with spaces, dots, dashes or brackets
# between groups ("0812-3456-7890", "+62 812 3456 7890", "(021) 7460 123"); also bare 9+ digit
# runs starting 08. Short numbers (ticket ids, years, "112") are left alone.
_PHONE = re.compile(r"(?<![\w+(])\(?(?:\+62|62|0)[\s.()-]*\d{1,4}\)?(?:[\s.-]*\d){6,11}(?!\d)")
# @handles, but not the middle of an e-mail (already masked) or a word like "x@y".
_HANDLE = re.compile(r"(?<![\w@[])@[A-Za-z0-9_.]{2,30}(?<!\.)")


def scrub(text: str | None) -> str:
    """``text`` with e-mail addresses, links, NIK numbers, phone numbers and @handles masked.

    >>> scrub("hubungi 0812-3456-7890 atau budi@mail.id, @budi_tsel")
    'hubungi [phone] atau [email], [@user]'
    """
    if not text:
        return ""
    out = _EMAIL.sub(PLACEHOLDERS["email"], str(text))
    out = _URL.sub(PLACEHOLDERS["url"], out)
    out = _NIK.sub(PLACEHOLDERS["nik"], out)
    out = _PHONE.sub(PLACEHOLDERS["phone"], out)
    return _HANDLE.sub(PLACEHOLDERS["handle"], out)


def contains_contact(text: str | None) -> bool:
    """True when ``text`` still holds something :func:`scrub` would mask (for checks and tests)."""
    return bool(text) and scrub(text) != str(text)
