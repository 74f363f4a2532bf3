"""Web addresses as document sources: whether an argument is one, and its normal form.

Pure string work, apart from the fetch stack, so that finding or removing a document by its address never
loads httpx (files.py and web.py both use it).
"""

from __future__ import annotations

import re
from urllib.parse import urlsplit, urlunsplit

_ADDRESS_RE = re.compile(r"[a-z][a-z0-9+.-]*://\S", re.IGNORECASE)


def is_address(text: str) -> bool:
    """Whether a command-line argument means a web address rather than a file ("scheme://..." of any scheme, so
    that ftp:// is refused with a reason instead of looked for as a file)."""
    return bool(_ADDRESS_RE.match(text.strip()))


def normalize_address(text: str) -> str:
    """The address as a document's source: trimmed, without the #fragment, scheme and host in lower case.

    "https://Agency.example/news#top" and "https://agency.example/news" are the same page. Path and query stay as
    written (a Cyrillic path is not percent-encoded), so staff recognise the source; an address without a scheme
    or host is kept as it is, and fetching it reports why.
    """
    stripped = text.strip()
    try:
        parts = urlsplit(stripped)
    except ValueError:
        return stripped
    if not parts.scheme or not parts.netloc:
        return stripped
    userinfo, at, host = parts.netloc.rpartition("@")
    return urlunsplit((parts.scheme.lower(), f"{userinfo}{at}{host.lower()}", parts.path, parts.query, ""))
